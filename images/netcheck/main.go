// Command netcheck is the tiny TCP listener and connector baked into the
// dpsim/netcheck image, used by network-policy probes.
//
//	netcheck listen ADDR            accept connections and answer "ok <hostname>"
//	netcheck connect ADDR [TIMEOUT] connect, read the answer; exit 0 when it arrives
//
// connect exits 1 when the connection is refused, times out or gets no
// answer, and prints why, so a probe can tell "blocked" from "reached".
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: netcheck listen ADDR | netcheck connect ADDR [TIMEOUT]")
		return 2
	}
	switch args[0] {
	case "listen":
		return listen(args[1])
	case "connect":
		timeout := 3 * time.Second
		if len(args) > 2 {
			d, err := time.ParseDuration(args[2])
			if err != nil {
				fmt.Fprintf(os.Stderr, "netcheck: bad timeout %q: %v\n", args[2], err)
				return 2
			}
			timeout = d
		}
		return connect(args[1], timeout)
	default:
		fmt.Fprintf(os.Stderr, "netcheck: unknown command %q\n", args[0])
		return 2
	}
}

func listen(addr string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "netcheck: listen %s: %v\n", addr, err)
		return 1
	}
	host, _ := os.Hostname()
	fmt.Printf("listening on %s\n", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "netcheck: accept: %v\n", err)
			continue
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "ok %s\n", host)
		}()
	}
}

func connect(addr string, timeout time.Duration) int {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		fmt.Printf("blocked: %v\n", err)
		return 1
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Printf("blocked: no answer: %v\n", err)
		return 1
	}
	fmt.Printf("reached: %s", line)
	return 0
}
