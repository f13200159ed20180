package reports

import (
	"fmt"
	"strconv"
	"strings"

	"dpsim/topology"
)

// edgeSections lay out the evidence of the edge and identity probes: the TLS matrix, the scan
// from outside, the scan of the volumes' raw storage and the stored passwords.
func edgeSections(s Scenario) []section {
	var out []section
	if s.TLS != nil {
		out = append(out, tlsSection(*s.TLS))
	}
	if s.Exposure != nil {
		out = append(out, exposureSection(*s.Exposure))
	}
	if s.AtRest != nil {
		out = append(out, atRestSection(*s.AtRest), atRestProofSection(*s.AtRest))
	}
	if s.Passwords != nil {
		out = append(out, passwordSection(*s.Passwords))
	}
	return out
}

// passwordSection is a row per test user: what the identity provider stored, and the hash
// recomputed from the known password.
func passwordSection(p Passwords) section {
	sec := section{Title: "Stored passwords, read from " + p.Provider,
		Header: []string{"Realm", "User", "Algorithm", "Iterations", "Salt bytes", "Hash bytes", "Hash recomputed", "Salt shared with"}}
	for _, u := range p.Users {
		sec.add("", u.Realm, u.User, u.Algorithm, strconv.Itoa(u.Iterations), strconv.Itoa(u.SaltBytes), strconv.Itoa(u.HashBytes),
			u.Recomputed, strings.Join(u.SaltSharedWith, ", "))
	}
	return sec
}

// tlsSection is a row per way of reaching the ingress: what it accepted of each kind of offer,
// what it refused or left unanswered, and its certificate.
func tlsSection(t TLS) section {
	sec := section{Title: "TLS matrix at " + t.Address, Header: []string{"Host", "Versions accepted", "TLS 1.2 suites accepted", "Key exchanges accepted", "Not answered", "Certificate", "HSTS"}}
	for _, tg := range t.Targets {
		host := tg.Host
		if host == "" {
			host = "(no SNI)"
		}
		cert := "none"
		if c := tg.Certificate; c != nil {
			cert = fmt.Sprintf("%s %s, %s, %.0f h, issuer %s", c.KeyType, c.Curve, strings.Join(c.DNSNames, " "), c.LifetimeHours, c.Issuer)
			for _, e := range []string{c.ChainError, c.HostError} {
				if e != "" {
					cert += "; " + e
				}
			}
		}
		hsts := tg.HSTS
		if hsts == "" {
			hsts = "none " + tg.HSTSError
		}
		var unanswered []string
		for _, o := range append(append(append([]TLSOffer(nil), tg.Versions...), tg.Suites...), tg.Curves...) {
			if o.Result != OfferAccepted && o.Result != OfferRefused {
				unanswered = append(unanswered, o.Offered)
			}
		}
		sec.add("", host, offered(tg.Versions), offered(tg.Suites), offered(tg.Curves), strings.Join(unanswered, ", "), cert, hsts)
	}
	return sec
}

// offered names the offers the server accepted.
func offered(offers []TLSOffer) string {
	var out []string
	for _, o := range offers {
		if o.Result == OfferAccepted {
			out = append(out, o.Offered)
		}
	}
	return strings.Join(out, ", ")
}

// exposureSection is a row per node address: what answered, and how many ports were refused,
// dropped or not told.
func exposureSection(e topology.Exposure) section {
	sec := section{Title: fmt.Sprintf("Scan from outside: ports %s in %s, from %s", e.Ports, secs(e.Seconds), e.From),
		Header: []string{"Address", "Node", "Answered", "Refused", "Dropped", "Not told"}}
	for _, a := range e.Addresses {
		var open []string
		for _, p := range a.Open {
			open = append(open, fmt.Sprintf("%d %s", p.Port, p.Answer))
		}
		notTold := strconv.Itoa(a.Errors)
		if a.Error != "" {
			notTold += " (" + a.Error + ")"
		}
		sec.add("", a.Address, a.Node, strings.Join(open, "; "), strconv.Itoa(a.Refused), strconv.Itoa(a.Dropped), notTold)
	}
	return sec
}

// atRestSection is a row per tenant and store: records written, and found in plaintext.
func atRestSection(a topology.AtRest) section {
	sec := section{Title: fmt.Sprintf("Raw storage read: %d bytes of %s in %s; encryption %s", a.BytesScanned, a.Storage, secs(a.Seconds), a.Encryption),
		Header: []string{"Tenant", "Store", "Written", "Found in plaintext", "Occurrences"}}
	for _, st := range a.Stores {
		class := Pass
		if st.Found > 0 {
			class = Fail
		}
		sec.add(class, st.Tenant, st.Store, strconv.Itoa(st.Written), strconv.Itoa(st.Found), strconv.Itoa(st.Instances))
	}
	return sec
}

// atRestProofSection shows what else the scan rests on: the plaintext canaries it had to find,
// and the kernel's answer on each volume's encryption.
func atRestProofSection(a topology.AtRest) section {
	sec := section{Title: "Canaries and volumes", Header: []string{"What", "Where", "Answer"}}
	class := Pass
	if a.Canary.Written == 0 || a.Canary.Found < a.Canary.Written {
		class = Error
	}
	sec.add(class, "canaries written in plaintext", a.Canary.Where, fmt.Sprintf("%d of %d found by the scan", a.Canary.Found, a.Canary.Written))
	for _, v := range a.Volumes {
		answer, class := "encrypted", Pass
		if !v.Encrypted {
			answer, class = "not encrypted", Fail
		}
		sec.add(class, "volume on "+v.Node, v.Path, answer)
	}
	return sec
}
