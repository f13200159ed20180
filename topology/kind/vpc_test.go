package kind

import (
	"strings"
	"testing"
)

func TestVPCRules(t *testing.T) {
	join := func(rules [][]string) string {
		var lines []string
		for _, r := range rules {
			lines = append(lines, strings.Join(r, " "))
		}
		return strings.Join(lines, "\n")
	}
	groups := join(vpcRules("br-out", "br-kind", admitted([]int{22, 443}), true))
	for _, want := range []string{
		"-A DPSIM-VPC -i br-kind -o br-out -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		// the client's own packets of an admitted connection, not only the first
		"-A DPSIM-VPC -i br-out -o br-kind -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 443 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
		"-A DPSIM-VPC -i br-out -o br-kind -j DROP",
	} {
		if !strings.Contains(groups, want) {
			t.Errorf("rules lack %q:\n%s", want, groups)
		}
	}
	if strings.Count(groups, "--dport 443") != 1 {
		t.Errorf("443 admitted twice:\n%s", groups)
	}
	if !strings.HasSuffix(groups, "-A DPSIM-VPC -j RETURN") {
		t.Errorf("rules do not end by returning:\n%s", groups)
	}
	open := join(vpcRules("br-out", "br-kind", admitted(nil), false))
	if strings.Contains(open, "DROP") || !strings.Contains(open, "-A DPSIM-VPC -i br-out -o br-kind -j ACCEPT") {
		t.Errorf("without security groups everything from outside is admitted:\n%s", open)
	}
	if b, err := bridgeName("0123456789abcdef"); err != nil || b != "br-0123456789ab" {
		t.Errorf("bridgeName = %q, %v", b, err)
	}
}
