package checkers

import (
	"fmt"
	"strings"

	"dpsim/reports"
)

// OIDC judges the OIDC probes (DP-AUTH-1): every realm's endpoints answer over TLS and serve
// nothing over plain HTTP (a redirect to HTTPS or a refusal); its issuer is an https URL; a valid
// token is accepted by its own tenant's API only, and an expired, a tampered and an unsigned
// token by none. What the platform did is judged first (fail); a probe that got no answer leaves
// the verdict unknown (error).
func OIDC(obs reports.OIDC) Verdict {
	if len(obs.Realms) == 0 || len(obs.Tokens) == 0 {
		return Verdict{Status: reports.Error, Summary: fmt.Sprintf("%d realms discovered, %d tokens tried: nothing to judge", len(obs.Realms), len(obs.Tokens))}
	}
	var problems, unknown []string
	tenantOf := map[string]string{}
	for _, r := range obs.Realms {
		tenantOf[r.Realm] = r.Tenant
		if !strings.HasPrefix(r.Issuer, "https://") {
			problems = append(problems, fmt.Sprintf("realm %s's issuer %q is not an https URL", r.Realm, r.Issuer))
		}
	}
	for _, e := range obs.Endpoints {
		name := e.Realm + " " + e.Name
		switch {
		case e.TLS == "200":
		case strings.HasPrefix(e.TLS, "error"):
			unknown = append(unknown, name+" over TLS: "+e.TLS)
		default:
			problems = append(problems, fmt.Sprintf("%s over TLS answered %s", name, e.TLS))
		}
		switch {
		case e.Plain == "redirect to https" || e.Plain == "refused":
		case strings.HasPrefix(e.Plain, "error"):
			unknown = append(unknown, name+" over plain HTTP: "+e.Plain)
		default:
			problems = append(problems, fmt.Sprintf("%s over plain HTTP answered %s", name, e.Plain))
		}
	}
	ownAnswered := map[string]bool{} // realms whose valid token its own API accepted or refused
	for _, t := range obs.Tokens {
		tenant, known := tenantOf[t.Realm]
		want := reports.TokenRefused
		if t.Kind == reports.TokenValid && known && tenant == t.API {
			want = reports.TokenAccepted
		}
		name := fmt.Sprintf("%s token of %s at %s's API", t.Kind, t.Realm, t.API)
		answered := t.Result == reports.TokenAccepted || t.Result == reports.TokenRefused
		if want == reports.TokenAccepted && answered {
			ownAnswered[t.Realm] = true
		}
		switch {
		case t.Result == want:
		case answered:
			problems = append(problems, fmt.Sprintf("%s %s%s", name, t.Result, prefixedWith(": ", t.Detail)))
		default:
			unknown = append(unknown, name+": "+t.Result+prefixedWith(" ", t.Detail))
		}
	}
	for _, r := range obs.Realms {
		if !ownAnswered[r.Realm] {
			unknown = append(unknown, "no valid token of "+r.Realm+" answered by its own API")
		}
	}
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	if len(unknown) > 0 {
		return Verdict{Status: reports.Error, Summary: "not told: " + strings.Join(unknown, "; ")}
	}
	return verdict(true, "%s: %d realms, discovery, JWKS and token endpoints over TLS only; %d tokens tried: each realm's accepted by its own API alone, expired, tampered and unsigned ones refused",
		obs.Provider, len(obs.Realms), len(obs.Tokens))
}
