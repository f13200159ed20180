package checkers

import (
	"slices"
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
			for _, name := range []string{"discovery", "jwks", "token"} {
				o.Endpoints = append(o.Endpoints, reports.OIDCEndpoint{Realm: tenant, Name: name, TLS: "200", Plain: "redirect to https"})
			}
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
		{"token endpoint timed out", func(o *reports.OIDC) { trial(o, "a", "a", reports.TokenValid).Result = "error" }, reports.Error, "valid token of a at a's API: error"},
		{"TLS not answered", func(o *reports.OIDC) { o.Endpoints[3].TLS = "error: timeout" }, reports.Error, "b discovery over TLS: error: timeout"},
		{"no realm", func(o *reports.OIDC) { o.Realms = nil }, reports.Error, "nothing to judge"},
		{"no token tried", func(o *reports.OIDC) { o.Tokens = nil }, reports.Error, "never tried: valid token of a at a's API"},
		{"one token tried, no endpoint checked", func(o *reports.OIDC) { o.Endpoints, o.Tokens = nil, o.Tokens[:1] },
			reports.Error, "never tried: a discovery endpoint, a jwks endpoint, a token endpoint, valid token of a at b's API"},
		{"a realm's keys never fetched", func(o *reports.OIDC) { o.Endpoints = slices.Delete(o.Endpoints, 4, 5) }, reports.Error, "never tried: b jwks endpoint"},
		{"tampered trial missing", func(o *reports.OIDC) {
			o.Tokens = slices.DeleteFunc(o.Tokens, func(t reports.TokenTrial) bool { return t.Kind == reports.TokenTampered && t.Realm == "b" })
		}, reports.Error, "never tried: tampered token of b at b's API"},
		{"a trial that could not be made", func(o *reports.OIDC) {
			*trial(o, "a", "a", reports.TokenUnsigned) = reports.TokenTrial{Realm: "a", API: "a", Kind: reports.TokenUnsigned, Result: "error", Detail: "not made: no valid token"}
		}, reports.Error, "unsigned token of a at a's API: error not made: no valid token"},
		{"an endpoint with no answer recorded", func(o *reports.OIDC) { o.Endpoints[2].Plain = "" }, reports.Error, "a token over plain HTTP: no answer recorded"},
		{"a misbehaving realm with trials missing", func(o *reports.OIDC) {
			trial(o, "a", "b", reports.TokenValid).Result = reports.TokenAccepted
			o.Tokens = o.Tokens[:2]
		}, reports.Fail, "valid token of a at b's API accepted"},
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
