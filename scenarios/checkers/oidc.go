package checkers

import (
	"fmt"
	"strings"

	"dpsim/reports"
)

// oidcEndpoints are the endpoints every realm must have been tried at.
var oidcEndpoints = []string{"discovery", "jwks", "token"}

// OIDC judges the OIDC probes (DP-AUTH-1): every realm's endpoints answer over TLS and serve
// nothing over plain HTTP (a redirect to HTTPS or a refusal); its issuer is an https URL; a valid
// token is accepted by its own tenant's API only, and an expired, a tampered and an unsigned
// token by none. What the platform did is judged first (fail); a probe that got no answer, and an
// endpoint or trial that is missing for a realm, leave the verdict unknown (error).
func OIDC(obs reports.OIDC) Verdict {
	if len(obs.Realms) == 0 {
		return Verdict{Status: reports.Error, Summary: fmt.Sprintf("no realm discovered (%d endpoints, %d tokens tried): nothing to judge", len(obs.Endpoints), len(obs.Tokens))}
	}
	var problems, unknown []string
	for _, r := range obs.Realms {
		if !strings.HasPrefix(r.Issuer, "https://") {
			problems = append(problems, fmt.Sprintf("realm %s's issuer %q is not an https URL", r.Realm, r.Issuer))
		}
	}
	for _, e := range obs.Endpoints {
		p, u := judgeEndpoint(e)
		problems, unknown = append(problems, p...), append(unknown, u...)
	}
	tenantOf := map[string]string{}
	for _, r := range obs.Realms {
		tenantOf[r.Realm] = r.Tenant
	}
	for _, t := range obs.Tokens {
		p, u := judgeTrial(t, tenantOf)
		problems, unknown = append(problems, p...), append(unknown, u...)
	}
	missing := missingOIDC(obs)
	if len(problems) > 0 {
		return verdict(false, "%s", strings.Join(problems, "; "))
	}
	if len(missing) > 0 {
		unknown = append(unknown, "never tried: "+strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		return Verdict{Status: reports.Error, Summary: "not told: " + strings.Join(unknown, "; ")}
	}
	return verdict(true, "%s: %d realms, each with its discovery, JWKS and token endpoints over TLS only (%d endpoints); %d tokens tried: each realm's valid token accepted by its own API alone, its expired, tampered and unsigned tokens refused",
		obs.Provider, len(obs.Realms), len(obs.Endpoints), len(obs.Tokens))
}

// judgeEndpoint says what is wrong (problems) or unknown about one endpoint's answers.
func judgeEndpoint(e reports.OIDCEndpoint) (problems, unknown []string) {
	name := e.Realm + " " + e.Name
	switch {
	case e.TLS == "200":
	case e.TLS == "" || strings.HasPrefix(e.TLS, "error"):
		unknown = append(unknown, name+" over TLS: "+orUnanswered(e.TLS))
	default:
		problems = append(problems, fmt.Sprintf("%s over TLS answered %s", name, e.TLS))
	}
	switch {
	case e.Plain == "redirect to https" || e.Plain == "refused":
	case e.Plain == "" || strings.HasPrefix(e.Plain, "error"):
		unknown = append(unknown, name+" over plain HTTP: "+orUnanswered(e.Plain))
	default:
		problems = append(problems, fmt.Sprintf("%s over plain HTTP answered %s", name, e.Plain))
	}
	return problems, unknown
}

// judgeTrial says what is wrong or unknown about one token trial: a valid token must open its own
// tenant's API (tenantOf: the realms' tenants) and no other; every other token none.
func judgeTrial(t reports.TokenTrial, tenantOf map[string]string) (problems, unknown []string) {
	want := reports.TokenRefused
	if tenant, known := tenantOf[t.Realm]; t.Kind == reports.TokenValid && known && tenant == t.API {
		want = reports.TokenAccepted
	}
	name := trialName(t.Kind, t.Realm, t.API)
	switch {
	case t.Result == want:
	case t.Result == reports.TokenAccepted || t.Result == reports.TokenRefused:
		problems = append(problems, fmt.Sprintf("%s %s%s", name, t.Result, prefixedWith(": ", t.Detail)))
	default:
		unknown = append(unknown, name+": "+orUnanswered(t.Result)+prefixedWith(" ", t.Detail))
	}
	return problems, unknown
}

// missingOIDC names the endpoints and trials every realm needs that the observation lacks: its
// discovery, JWKS and token endpoints; its valid token at every tenant's API; its expired,
// tampered and unsigned tokens at its own tenant's API.
func missingOIDC(obs reports.OIDC) []string {
	type trialKey struct{ realm, api, kind string }
	endpoints, trials := map[string]bool{}, map[trialKey]bool{}
	for _, e := range obs.Endpoints {
		endpoints[e.Realm+" "+e.Name] = true
	}
	for _, t := range obs.Tokens {
		trials[trialKey{t.Realm, t.API, t.Kind}] = true
	}
	var missing []string
	for _, r := range obs.Realms {
		for _, name := range oidcEndpoints {
			if !endpoints[r.Realm+" "+name] {
				missing = append(missing, r.Realm+" "+name+" endpoint")
			}
		}
		for _, api := range obs.Realms {
			if !trials[trialKey{r.Realm, api.Tenant, reports.TokenValid}] {
				missing = append(missing, trialName(reports.TokenValid, r.Realm, api.Tenant))
			}
		}
		for _, kind := range []string{reports.TokenExpired, reports.TokenTampered, reports.TokenUnsigned} {
			if !trials[trialKey{r.Realm, r.Tenant, kind}] {
				missing = append(missing, trialName(kind, r.Realm, r.Tenant))
			}
		}
	}
	return missing
}

func trialName(kind, realm, api string) string {
	return fmt.Sprintf("%s token of %s at %s's API", kind, realm, api)
}

func orUnanswered(s string) string {
	if s == "" {
		return "no answer recorded"
	}
	return s
}
