package checkers

import (
	"fmt"
	"slices"
	"strings"

	"dpsim/reports"
	"dpsim/topology"
)

// answerChecked says, for each answer a claim can allow, what the scan did to see it.
var answerChecked = map[string]string{
	topology.AnswerTLS:      "completed a TLS handshake",
	topology.AnswerRedirect: "answered a plain-HTTP GET / with a 3xx to an https:// URL",
	topology.AnswerHTTP:     "answered a plain-HTTP GET /",
	topology.AnswerTCP:      "took a connection",
}

// Exposure judges a scan of the nodes from outside (DP-NET-1) against the ports the claims admit
// (never the spec's network.expose, which only configures the firewall): a port that took a
// connection must be claimed and answer as claimed; a port that refused (a reset: the packet
// reached the node) must be claimed, every other port dropped, as a firewall drops; the ingress (a
// claimed TLS port) answers on at least one node; and every port of the range is accounted for at
// every address (open, refused, dropped or not told). A port the scan could not tell about, or one
// it never accounted for, leaves the verdict unknown (error) unless something already failed.
func Exposure(obs topology.Exposure, allowed []topology.ExposedPort) Verdict {
	if len(obs.Addresses) == 0 {
		return Verdict{Status: reports.Error, Summary: "no node address scanned"}
	}
	first, last, err := topology.PortRange(obs.Ports)
	if err != nil {
		return Verdict{Status: reports.Error, Summary: "scan range unreadable: " + err.Error()}
	}
	var problems, unknown []string
	answered := map[int]int{} // claimed port -> addresses where it answered as claimed
	for _, a := range obs.Addresses {
		for _, p := range a.Open {
			if why := unclaimed(p, allowed); why != "" {
				problems = append(problems, fmt.Sprintf("%s:%d answered %s%s (%s)", a.Address, p.Port, p.Answer, prefixedWith(" ", p.Detail), why))
				continue
			}
			answered[p.Port]++
		}
		refused, err := topology.PortSpans(a.RefusedPorts)
		if err != nil {
			unknown = append(unknown, fmt.Sprintf("%s: refused ports unreadable: %v", a.Address, err))
		}
		if ports := unclaimedIn(refused, allowed); ports != "" {
			problems = append(problems, fmt.Sprintf("%s: %s refused (the packets reached the node: a port the claims do not expose must be dropped)", a.Address, ports))
		}
		unknown = append(unknown, unaccounted(a, refused, first, last)...)
	}
	if tlsAnswers(answered, allowed) == 0 && len(unknown) == 0 {
		problems = append(problems, fmt.Sprintf("no node completed a TLS handshake on %s: the ingress is not reachable from outside", tlsPorts(allowed)))
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
	return verdict(true, "%d node addresses, every port of %s accounted for, in %.0fs: only claimed ports answered (%s; %d refused), every other port was dropped (%d)",
		len(obs.Addresses), obs.Ports, obs.Seconds, claimedSeen(answered, allowed), refused, dropped)
}

// unclaimed says why an open port breaks the claims, or "" when it answered as claimed.
func unclaimed(p topology.OpenPort, allowed []topology.ExposedPort) string {
	i := slices.IndexFunc(allowed, func(e topology.ExposedPort) bool { return e.Port == p.Port })
	switch {
	case i < 0:
		return "not a port the claims expose"
	case !allowed[i].Allows(p.Answer):
		return "the claims allow only " + allowed[i].Answer + " there"
	}
	return ""
}

// unclaimedIn names the ports of spans that the claims do not expose ("" if none).
func unclaimedIn(spans []topology.PortSpan, allowed []topology.ExposedPort) string {
	var ports []int
	for _, s := range spans {
		for p := s.First; p <= s.Last; p++ {
			if !slices.ContainsFunc(allowed, func(e topology.ExposedPort) bool { return e.Port == p }) {
				ports = append(ports, p)
			}
		}
	}
	return topology.FormatPorts(ports)
}

// unaccounted says what the scan of a left untold: ports it could not tell about, refused ports it
// did not name, and ports of first-last it never reported at all (open + refused + dropped + not
// told must be the range).
func unaccounted(a topology.ScannedAddress, refused []topology.PortSpan, first, last int) []string {
	var out []string
	if a.Errors > 0 {
		out = append(out, fmt.Sprintf("%s: %d ports not told (%s)", a.Address, a.Errors, a.Error))
	}
	named := 0
	for _, s := range refused {
		named += max(0, min(s.Last, last)-max(s.First, first)+1)
	}
	if named != a.Refused {
		out = append(out, fmt.Sprintf("%s: %d ports refused, %d of them named within %d-%d (%q)", a.Address, a.Refused, named, first, last, a.RefusedPorts))
	}
	open := map[int]bool{} // distinct open ports within the range
	for _, p := range a.Open {
		if p.Port >= first && p.Port <= last {
			open[p.Port] = true
		}
	}
	told, want := len(open)+a.Refused+a.Dropped+a.Errors, last-first+1
	if told != want || len(open) != len(a.Open) {
		out = append(out, fmt.Sprintf("%s: %d of the %d ports of %d-%d accounted for (%d open of %d reported, %d refused, %d dropped, %d not told)",
			a.Address, told, want, first, last, len(open), len(a.Open), a.Refused, a.Dropped, a.Errors))
	}
	return out
}

// tlsAnswers counts the claimed TLS ports' answers (the ingress's).
func tlsAnswers(answered map[int]int, allowed []topology.ExposedPort) int {
	n := 0
	for _, e := range allowed {
		if e.Answer == topology.AnswerTLS {
			n += answered[e.Port]
		}
	}
	return n
}

// tlsPorts names the claimed TLS ports.
func tlsPorts(allowed []topology.ExposedPort) string {
	var ports []string
	for _, e := range allowed {
		if e.Answer == topology.AnswerTLS {
			ports = append(ports, fmt.Sprint(e.Port))
		}
	}
	if len(ports) == 0 {
		return "any port (the claims name no TLS port)"
	}
	return strings.Join(ports, " or ")
}

// claimedSeen says, for each claimed port, what the scan checked and at how many addresses.
func claimedSeen(answered map[int]int, allowed []topology.ExposedPort) string {
	var out []string
	for _, e := range allowed {
		if answered[e.Port] == 0 {
			out = append(out, fmt.Sprintf("%d took none", e.Port))
			continue
		}
		out = append(out, fmt.Sprintf("%d %s at %d", e.Port, answerChecked[e.Answer], answered[e.Port]))
	}
	return strings.Join(out, ", ")
}
