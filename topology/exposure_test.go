package topology

import (
	"slices"
	"testing"
)

// FormatPorts writes runs that PortSpans reads back; PortSpans refuses what is not ascending ports.
func TestPortSpans(t *testing.T) {
	for _, tt := range []struct {
		ports []int
		want  string
	}{
		{nil, ""},
		{[]int{443, 80, 80}, "80,443"},
		{[]int{1, 2, 3, 5, 65534, 65535}, "1-3,5,65534-65535"},
	} {
		got := FormatPorts(tt.ports)
		spans, err := PortSpans(got)
		var back []int
		for _, s := range spans {
			for p := s.First; p <= s.Last; p++ {
				back = append(back, p)
			}
		}
		if got != tt.want || err != nil || !slices.Equal(back, slices.Compact(slices.Sorted(slices.Values(tt.ports)))) {
			t.Errorf("FormatPorts(%v) = %q, read back %v (%v)", tt.ports, got, back, err)
		}
	}
	for _, bad := range []string{"0", "1-65536", "9-3", "80,80", "443,80", "1-10,5", "x", "80,", "-"} {
		if _, err := PortSpans(bad); err == nil {
			t.Errorf("PortSpans(%q) accepted", bad)
		}
	}
	if first, last, err := PortRange("1-65535"); first != 1 || last != 65535 || err != nil {
		t.Errorf("PortRange = %d-%d, %v", first, last, err)
	}
	if _, _, err := PortRange("1-10,20"); err == nil {
		t.Error("PortRange accepted two runs")
	}
}
