package checkers

import (
	"fmt"
	"slices"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// Exposure judges a scan of the nodes from outside (DP-NET-1): the only ports that take a
// connection are 443, answering TLS, 80, answering only with a redirect to HTTPS, and the ports
// listed in expose; the ingress answers on at least one node. A port the scan could not tell about
// leaves the verdict unknown (error) unless something already failed.
func Exposure(obs topology.Exposure, expose []int) Verdict {
	if len(obs.Addresses) == 0 {
		return Verdict{Status: reports.Error, Summary: "no node address scanned"}
	}
	var problems, unknown []string
	ingress := 0
	for _, a := range obs.Addresses {
		for _, p := range a.Open {
			switch {
			case p.Port == 443 && p.Answer == "https":
				ingress++
			case p.Port == 80 && p.Answer == "redirect to https":
			case slices.Contains(expose, p.Port):
			default:
				problems = append(problems, fmt.Sprintf("%s:%d answered %s%s", a.Address, p.Port, p.Answer, prefixedWith(" ", p.Detail)))
			}
		}
		if a.Errors > 0 {
			unknown = append(unknown, fmt.Sprintf("%s: %d ports not told (%s)", a.Address, a.Errors, a.Error))
		}
	}
	if ingress == 0 && len(unknown) == 0 {
		problems = append(problems, "no node answered TLS on 443: the ingress is not reachable from outside")
	}
	if len(problems) > 0 {
		return verdict(false, "from outside: %s", strings.Join(problems, "; "))
	}
	if len(unknown) > 0 {
		return Verdict{Status: reports.Error, Summary: "scan incomplete: " + strings.Join(unknown, "; ")}
	}
	refused, dropped := 0, 0
	for _, a := range obs.Addresses {
		refused += a.Refused
		dropped += a.Dropped
	}
	return verdict(true, "%d node addresses, ports %s, in %.0fs: the ingress answers TLS on 443 at %d, 80 only redirects to HTTPS; %d ports refused, %d dropped",
		len(obs.Addresses), obs.Ports, obs.Seconds, ingress, refused, dropped)
}
