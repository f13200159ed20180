package checkers

import (
	"strings"
	"testing"

	"dpsim/reports"
)

// DP-AUTH-1 passes only when each realm's tokens open its own tenant's API alone, forged and
// expired ones open none, and the endpoints serve over TLS only.
func TestOIDC(t *testing.T) {
	good := func() reports.OIDC {
		o := reports.OIDC{Provider: "keycloak 26.7.3"}
		for _, tenant := range []string{"a", "b"} {
			o.Realms = append(o.Realms, reports.OIDCRealm{Tenant: tenant, Realm: tenant, Issuer: "https://kc.test/realms/" + tenant})
			o.Endpoints = append(o.Endpoints, reports.OIDCEndpoint{Realm: tenant, Name: "discovery", TLS: "200", Plain: "redirect to https"})
			for _, api := range []string{"a", "b"} {
				result := reports.TokenRefused
				if api == tenant {
					result = reports.TokenAccepted
				}
				o.Tokens = append(o.Tokens, reports.TokenTrial{Realm: tenant, API: api, Kind: reports.TokenValid, Result: result})
			}
			for _, kind := range []string{reports.TokenExpired, reports.TokenTampered, reports.TokenUnsigned} {
				o.Tokens = append(o.Tokens, reports.TokenTrial{Realm: tenant, API: tenant, Kind: kind, Result: reports.TokenRefused})
			}
		}
		return o
	}
	trial := func(o *reports.OIDC, realm, api, kind string) *reports.TokenTrial {
		for i, t := range o.Tokens {
			if t.Realm == realm && t.API == api && t.Kind == kind {
				return &o.Tokens[i]
			}
		}
		panic("no such trial")
	}
	tests := []struct {
		name   string
		change func(*reports.OIDC)
		want   reports.Status
		says   string
	}{
		{"as promised", func(*reports.OIDC) {}, reports.Pass, "accepted by its own API alone"},
		{"B's API accepts A's token", func(o *reports.OIDC) { trial(o, "a", "b", reports.TokenValid).Result = reports.TokenAccepted }, reports.Fail, "valid token of a at b's API accepted"},
		{"unsigned token accepted", func(o *reports.OIDC) { trial(o, "b", "b", reports.TokenUnsigned).Result = reports.TokenAccepted }, reports.Fail, "unsigned token of b at b's API accepted"},
		{"own token refused", func(o *reports.OIDC) { trial(o, "a", "a", reports.TokenValid).Result = reports.TokenRefused }, reports.Fail, "valid token of a at a's API refused"},
		{"discovery over plain HTTP", func(o *reports.OIDC) { o.Endpoints[0].Plain = "200" }, reports.Fail, "a discovery over plain HTTP answered 200"},
		{"issuer over http", func(o *reports.OIDC) { o.Realms[1].Issuer = "http://kc.test/realms/b" }, reports.Fail, "not an https URL"},
		{"token endpoint timed out", func(o *reports.OIDC) { trial(o, "a", "a", reports.TokenValid).Result = "error" }, reports.Error, "no valid token of a answered"},
		{"TLS not answered", func(o *reports.OIDC) { o.Endpoints[1].TLS = "error: timeout" }, reports.Error, "b discovery over TLS: error: timeout"},
		{"nothing tried", func(o *reports.OIDC) { o.Tokens = nil }, reports.Error, "nothing to judge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good()
			tt.change(&o)
			v := OIDC(o)
			if v.Status != tt.want || !strings.Contains(v.Summary, tt.says) {
				t.Errorf("%s: %s, want %s saying %q", v.Status, v.Summary, tt.want, tt.says)
			}
		})
	}
}
