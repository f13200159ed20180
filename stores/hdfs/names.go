package hdfs

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// escape starts an escaped byte in a name: "~" and two upper-case hex digits.
const escape = '~'

// Name is the file (or directory) name of a record id (or dataset): letters, digits, '-', '_' and
// '.' stay, every other byte becomes "~XX" (its hex value), and so does a leading '.'. The result
// holds no '/' (ids do: "<run>/<tenant>/<store>/<phase>-0000001"), nothing HDFS forbids in a name
// component (':', "." and ".."), and nothing a URL path must escape, so WebHDFS passes it through
// its redirects unchanged. ID reverses it.
func Name(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if plain(c) && !(c == '.' && i == 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%c%02X", escape, c)
	}
	return b.String()
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// ID is the record id a file name stands for; false when the name is not one Name makes (so no
// two names stand for one id).
func ID(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != escape {
			b.WriteByte(name[i])
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		v, err := strconv.ParseUint(name[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	id := b.String()
	return id, id != "" && Name(id) == name
}

// memberName names a datanode the way the platform names its pods: the first DNS label of its host
// name (datanodes register as hdfs-datanode-<i>.hdfs-datanode.<ns>.svc.cluster.local); an IP
// address, all that is known of some, is kept whole.
func memberName(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	label, _, _ := strings.Cut(host, ".")
	return label
}

// hostOf is the host of a host:port address (the address itself when it has no port).
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
