package kind

import (
	"net"
	"testing"
)

func TestFreeSubnet(t *testing.T) {
	cidrs := func(cs ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, c := range cs {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name string
		used []*net.IPNet
		want string
	}{
		{"nothing in use", nil, "172.18.0.0/16"},
		{"docker's first networks", cidrs("172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"), "172.20.0.0/16"},
		{"a host address inside a candidate", cidrs("172.18.5.7/24"), "172.19.0.0/16"},
		{"a wider network over several", cidrs("172.16.0.0/12"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := freeSubnet(tt.used)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}
