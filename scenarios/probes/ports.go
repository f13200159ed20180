package probes

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"dpsim/topology"
)

// Scan is how a port scan runs: which ports, how many connections at once, how long a connection
// attempt may take before the port counts as dropped.
type Scan struct {
	First, Last   int
	Concurrency   int
	DialTimeout   time.Duration
	AnswerTimeout time.Duration
}

// DefaultScan covers every TCP port, 2048 attempts at once, 1 s for each.
var DefaultScan = Scan{First: 1, Last: 65535, Concurrency: 2048, DialTimeout: time.Second, AnswerTimeout: 3 * time.Second}

// Ports tries every port of s on every address, and for each that takes a connection asks what
// answers (TLS, then HTTP). A reset is refused (and named), no answer within DialTimeout is dropped, anything
// else (too many open files, no route) an error: the scan could not tell.
func Ports(ctx context.Context, addrs []string, s Scan) topology.Exposure {
	start := time.Now()
	out := topology.Exposure{Ports: fmt.Sprintf("%d-%d", s.First, s.Last)}
	results := make([]topology.ScannedAddress, len(addrs))
	refused := make([][]int, len(addrs))
	for i, a := range addrs {
		results[i] = topology.ScannedAddress{Address: a, Open: []topology.OpenPort{}}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, max(1, s.Concurrency))
	var wg sync.WaitGroup
	for i, a := range addrs {
		for port := s.First; port <= s.Last; port++ {
			if ctx.Err() != nil {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				target := net.JoinHostPort(a, strconv.Itoa(port))
				conn, err := (&net.Dialer{Timeout: s.DialTimeout}).DialContext(ctx, "tcp", target)
				if err == nil {
					conn.Close()
					answer, detail := whatAnswers(ctx, target, s.AnswerTimeout)
					mu.Lock()
					results[i].Open = append(results[i].Open, topology.OpenPort{Port: port, Answer: answer, Detail: detail})
					mu.Unlock()
					return
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, syscall.ECONNREFUSED):
					results[i].Refused++
					refused[i] = append(refused[i], port)
				case isTimeout(err) && ctx.Err() == nil:
					results[i].Dropped++
				default:
					results[i].Errors++
					if results[i].Error == "" {
						results[i].Error = fmt.Sprintf("port %d: %v", port, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	for i := range results {
		slices.SortFunc(results[i].Open, func(a, b topology.OpenPort) int { return a.Port - b.Port })
		results[i].RefusedPorts = topology.FormatPorts(refused[i])
	}
	out.Addresses = results
	out.Seconds = time.Since(start).Seconds()
	if host, err := os.Hostname(); err == nil {
		out.From = host
	}
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// whatAnswers asks an open port for TLS, then for plain HTTP.
func whatAnswers(ctx context.Context, target string, timeout time.Duration) (string, string) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: &tls.Config{InsecureSkipVerify: true}} // only whether TLS answers
	if conn, err := d.DialContext(tctx, "tcp", target); err == nil {
		conn.Close()
		return topology.AnswerTLS, ""
	}
	conn, err := (&net.Dialer{Timeout: timeout}).DialContext(tctx, "tcp", target)
	if err != nil {
		return topology.AnswerTCP, err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return topology.AnswerTCP, "no HTTP answer: " + err.Error()
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && strings.HasPrefix(loc, "https://") {
		return topology.AnswerRedirect, fmt.Sprintf("%d %s", resp.StatusCode, loc)
	}
	return topology.AnswerHTTP + " " + strconv.Itoa(resp.StatusCode), loc
}
