package checkers

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"dpsim/reports"
)

// TLSClaim is what DP-NET-2 promises of the ingress.
type TLSClaim struct {
	Versions    []string // accepted exactly
	Suites      []string // TLS 1.2 suites it may accept
	Curves      []string // key exchanges it may accept
	CertCurve   string   // the certificate's ECDSA curve
	MaxLifetime time.Duration
}

// TLSPosture judges every way of reaching the ingress: exactly the claimed versions accepted, no
// TLS 1.2 suite and no key exchange outside the claim, an ECDSA certificate on the claimed curve
// living at most the claimed time whose chain leads to the platform's CA and which names the host,
// and an HSTS header on the answer. What the server did is judged first (fail); then offers that
// were neither accepted nor refused leave the verdict unknown (error).
func TLSPosture(obs reports.TLS, want TLSClaim) Verdict {
	if len(obs.Targets) == 0 {
		return Verdict{Status: reports.Error, Summary: "no TLS target probed at " + obs.Address}
	}
	var problems, unknown, good []string
	for _, t := range obs.Targets {
		name := targetName(t)
		p := tlsProblems(t, want)
		for _, s := range p {
			problems = append(problems, name+": "+s)
		}
		for _, u := range tlsUnknowns(t) {
			unknown = append(unknown, name+": "+u)
		}
		if len(p) == 0 {
			good = append(good, name)
		}
	}
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	if len(unknown) > 0 {
		return Verdict{Status: reports.Error, Summary: "not told: " + strings.Join(unknown, "; ")}
	}
	c := obs.Targets[0].Certificate
	return verdict(true, "%s: TLS %s only, %s, key exchanges %s; certificate ECDSA %s living %s, chained to the platform's CA; HSTS",
		strings.Join(good, ", "), strings.Join(accepted(obs.Targets[0].Versions), ", "),
		orNone(accepted(obs.Targets[0].Suites), "no TLS 1.2 suite"), strings.Join(accepted(obs.Targets[0].Curves), ", "),
		c.Curve, days(c.LifetimeHours))
}

func targetName(t reports.TLSTarget) string {
	if t.Host == "" {
		return "no SNI"
	}
	return t.Host
}

// tlsProblems lists what t shows against the claim. Only what the server did counts: an offer
// that ended in an error, a certificate not had because no handshake completed, an HTTPS answer
// not had, are unknowns (tlsUnknowns), not problems.
func tlsProblems(t reports.TLSTarget, want TLSClaim) []string {
	var out []string
	versions := accepted(t.Versions)
	if extra := outside(versions, want.Versions); len(extra) > 0 {
		out = append(out, fmt.Sprintf("accepts TLS %s, claimed exactly %s", strings.Join(extra, ", "), strings.Join(want.Versions, ", ")))
	}
	for _, o := range t.Versions {
		if o.Result == reports.OfferRefused && slices.Contains(want.Versions, o.Offered) {
			out = append(out, fmt.Sprintf("refuses TLS %s, claimed exactly %s", o.Offered, strings.Join(want.Versions, ", ")))
		}
	}
	if extra := outside(accepted(t.Suites), want.Suites); len(extra) > 0 {
		out = append(out, fmt.Sprintf("accepts TLS 1.2 suites outside the claim: %s", strings.Join(extra, ", ")))
	}
	if extra := outside(accepted(t.Curves), want.Curves); len(extra) > 0 {
		out = append(out, fmt.Sprintf("accepts key exchanges outside the claim: %s", strings.Join(extra, ", ")))
	}
	c := t.Certificate
	switch {
	case c == nil && len(versions) > 0:
		out = append(out, "served no certificate")
	case c != nil:
		if c.KeyType != "ECDSA" || c.Curve != want.CertCurve {
			out = append(out, fmt.Sprintf("certificate key %s %s, claimed ECDSA %s", c.KeyType, c.Curve, want.CertCurve))
		}
		if lifetime := time.Duration(c.LifetimeHours * float64(time.Hour)); lifetime > want.MaxLifetime {
			out = append(out, fmt.Sprintf("certificate lives %s, claimed at most %s", days(c.LifetimeHours), days(want.MaxLifetime.Hours())))
		}
		if c.ChainError != "" {
			out = append(out, "certificate chain not valid to the platform's CA: "+c.ChainError)
		}
		if c.HostError != "" {
			out = append(out, "certificate not valid for the host: "+c.HostError)
		}
	}
	if t.HSTSError == "" && !hsts(t.HSTS) {
		out = append(out, fmt.Sprintf("no HSTS on the answer (Strict-Transport-Security %q)", t.HSTS))
	}
	return out
}

// tlsUnknowns lists what t could not tell: offers neither accepted nor refused, no certificate
// for want of a completed handshake, no HTTPS answer.
func tlsUnknowns(t reports.TLSTarget) []string {
	var out []string
	for _, o := range slices.Concat(t.Versions, t.Suites, t.Curves) {
		if o.Result == reports.OfferError {
			out = append(out, fmt.Sprintf("%s: %s", o.Offered, o.Detail))
		}
	}
	if t.Certificate == nil && len(accepted(t.Versions)) == 0 {
		out = append(out, "no handshake completed: certificate unknown")
	}
	if t.HSTSError != "" {
		out = append(out, "no HTTPS answer: "+t.HSTSError)
	}
	return out
}

// hsts reports whether a Strict-Transport-Security header asks for HTTPS for some time.
func hsts(header string) bool {
	h := strings.ReplaceAll(strings.ToLower(header), " ", "")
	return strings.Contains(h, "max-age=") && !strings.Contains(h, "max-age=0;") && !strings.HasSuffix(h, "max-age=0")
}

// accepted lists what the server accepted among offers.
func accepted(offers []reports.TLSOffer) []string {
	var out []string
	for _, o := range offers {
		if o.Result == reports.OfferAccepted {
			out = append(out, o.Offered)
		}
	}
	return out
}

// outside lists the members of got not in allowed.
func outside(got, allowed []string) []string {
	var out []string
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			out = append(out, g)
		}
	}
	return out
}

func orNone(v []string, none string) string {
	if len(v) == 0 {
		return none
	}
	return strings.Join(v, ", ")
}

func prefixedWith(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func days(hours float64) string {
	return strconv.FormatFloat(math.Round(hours/24*100)/100, 'f', -1, 64) + " days" // to the hundredth
}
