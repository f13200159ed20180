package testservers

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
)

func TestStalePicksDeadOwnersWithThePrefixOnly(t *testing.T) {
	me := os.Getpid()
	mine := startTime(me)
	if mine == "" {
		t.Fatal("no start time for this process")
	}
	listing := fmt.Sprintf(`a1 dpsim-test-1-kafka-0 %d %s
b2 dpsim-test-2-kafka-0 999999999 123
c3 dpsim-test-3-es-0 %d 1
d4 dpsim-kafka-0 999999999 123
e5 kind-control-plane 999999999 123
`, me, mine, me)
	got := stale(listing)
	want := []string{"b2", "c3"} // c3: this pid, another start time (a reused pid)
	if !slices.Equal(got, want) {
		t.Errorf("stale = %v, want %v", got, want)
	}
}

func TestAddressesAreFixedPerIndex(t *testing.T) {
	n := &network24{subnet: netip.MustParsePrefix("10.213.7.0/24")}
	for _, c := range []struct {
		i    int
		want string
	}{{0, "10.213.7.10"}, {1, "10.213.7.11"}, {3, "10.213.7.13"}} {
		if got := n.addr(c.i); got != c.want {
			t.Errorf("addr(%d) = %s, want %s", c.i, got, c.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("172.18.0.0/16"), netip.MustParsePrefix("10.213.0.0/24")}
	for _, c := range []struct {
		p    string
		want bool
	}{{"10.213.0.0/24", true}, {"10.213.1.0/24", false}, {"10.0.0.0/8", true}, {"172.18.5.0/24", true}} {
		if got := overlaps(netip.MustParsePrefix(c.p), used); got != c.want {
			t.Errorf("overlaps(%s) = %v, want %v", c.p, got, c.want)
		}
	}
}
