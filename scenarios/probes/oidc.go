package probes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"dpsim/agent/apiauth"
	"dpsim/reports"
	"dpsim/topology"
)

// OIDC tries every realm as a client would, through the ingress (DP-AUTH-1): its discovery
// document, keys and token endpoint over TLS and over plain HTTP; then a valid token of each realm
// at every tenant's API, and an expired, a tampered and an unsigned one at its own tenant's API.
// sleep waits (the expired token needs its lifetime to pass). Answers are recorded as they come,
// and so is every trial that could not be made, with why (result "error"): none is left out. Only
// a realm that cannot even be discovered is an error of the probe.
func OIDC(ctx context.Context, access topology.OIDCAccess, sleep func(context.Context, time.Duration) error) (reports.OIDC, error) {
	out := reports.OIDC{Provider: access.Provider}
	client, err := access.Ingress.Client()
	if err != nil {
		return out, err
	}
	valid := map[string]string{}   // realm -> a valid token
	noValid := map[string]string{} // realm -> why it has none
	var expiring []expiringToken
	for _, r := range access.Realms {
		doc, err := discover(ctx, client, r.Issuer)
		if err != nil {
			return out, fmt.Errorf("realm %s: %w", r.Realm, err)
		}
		out.Realms = append(out.Realms, reports.OIDCRealm{Tenant: r.Tenant, Realm: r.Realm, Issuer: doc.Issuer,
			TokenEndpoint: doc.TokenEndpoint, JWKSURI: doc.JWKSURI, SigningAlgorithms: doc.SigningAlgorithms})
		discoveryURL := r.Issuer + "/.well-known/openid-configuration"
		out.Endpoints = append(out.Endpoints,
			endpoint(ctx, client, r.Realm, "discovery", http.MethodGet, discoveryURL),
			endpoint(ctx, client, r.Realm, "jwks", http.MethodGet, doc.JWKSURI))
		token := reports.OIDCEndpoint{Realm: r.Realm, Name: "token", URL: doc.TokenEndpoint}
		tok, err := apiauth.PasswordGrant(ctx, client, doc.TokenEndpoint, r.Client, r.User, r.Password)
		if err != nil {
			token.TLS = "error: " + err.Error()
			noValid[r.Realm] = "the password grant failed: " + err.Error()
		} else {
			token.TLS = "200"
			valid[r.Realm] = tok
		}
		// Over plain HTTP the token endpoint is asked with an empty form: no password crosses it.
		token.Plain = plainAnswer(ctx, client, http.MethodPost, doc.TokenEndpoint)
		out.Endpoints = append(out.Endpoints, token)
		if short, err := apiauth.PasswordGrant(ctx, client, doc.TokenEndpoint, r.ShortClient, r.User, r.Password); err == nil {
			expiring = append(expiring, expiringToken{realm: r, token: short})
		} else {
			out.Tokens = append(out.Tokens, notMade(r.Realm, r.Tenant, reports.TokenExpired, "the short client's password grant failed: "+err.Error()))
		}
	}
	for _, r := range access.Realms {
		out.Tokens = append(out.Tokens, tokenTrials(ctx, client, access, r, valid[r.Realm], noValid[r.Realm])...)
	}
	// The short tokens were all issued before: one wait of the longest lifetime and a second more
	// (expiry is in whole seconds) outlives them all.
	var longest time.Duration
	for _, e := range expiring {
		longest = max(longest, e.realm.ShortLifetime)
	}
	if len(expiring) > 0 {
		if err := sleep(ctx, longest+time.Second); err != nil {
			return out, err
		}
	}
	for _, e := range expiring {
		out.Tokens = append(out.Tokens, present(ctx, client, access.Ingress.Hosts[e.realm.Tenant], e.realm.Realm, e.realm.Tenant, reports.TokenExpired, e.token))
	}
	return out, nil
}

// forgeries are the tokens made from a valid one, each presented to its own tenant's API.
var forgeries = []struct {
	kind string
	make func(token string) (string, error)
}{
	{reports.TokenTampered, func(tok string) (string, error) { return apiauth.Tampered(tok, "sub", "someone-else") }},
	{reports.TokenUnsigned, apiauth.Unsigned},
}

// tokenTrials presents realm r's valid token tok to every tenant's API and its forgeries to its
// own; without a valid token (noValid says why) each of those trials is recorded as not made.
func tokenTrials(ctx context.Context, client *http.Client, access topology.OIDCAccess, r topology.OIDCRealmAccess, tok, noValid string) []reports.TokenTrial {
	var out []reports.TokenTrial
	for _, api := range access.Realms {
		if tok == "" {
			out = append(out, notMade(r.Realm, api.Tenant, reports.TokenValid, noValid))
			continue
		}
		out = append(out, present(ctx, client, access.Ingress.Hosts[api.Tenant], r.Realm, api.Tenant, reports.TokenValid, tok))
	}
	for _, f := range forgeries {
		if tok == "" {
			out = append(out, notMade(r.Realm, r.Tenant, f.kind, "no valid token to alter: "+noValid))
			continue
		}
		forged, err := f.make(tok)
		if err != nil {
			out = append(out, notMade(r.Realm, r.Tenant, f.kind, err.Error()))
			continue
		}
		out = append(out, present(ctx, client, access.Ingress.Hosts[r.Tenant], r.Realm, r.Tenant, f.kind, forged))
	}
	return out
}

// notMade is a trial that could not be made, and why: its result is unknown ("error"), and it is
// recorded, never left out.
func notMade(realm, api, kind, why string) reports.TokenTrial {
	return reports.TokenTrial{Realm: realm, API: api, Kind: kind, Result: "error", Detail: "not made: " + why}
}

type expiringToken struct {
	realm topology.OIDCRealmAccess
	token string
}

// discovery is the part of a discovery document the probe uses.
type discovery struct {
	Issuer            string   `json:"issuer"`
	TokenEndpoint     string   `json:"token_endpoint"`
	JWKSURI           string   `json:"jwks_uri"`
	SigningAlgorithms []string `json:"id_token_signing_alg_values_supported"`
}

func discover(ctx context.Context, client *http.Client, issuer string) (discovery, error) {
	var doc discovery
	resp, body, err := send(ctx, client, http.MethodGet, issuer+"/.well-known/openid-configuration", "")
	if err != nil {
		return doc, fmt.Errorf("discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return doc, fmt.Errorf("discovery: %s", resp.Status)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return doc, fmt.Errorf("discovery document: %w", err)
	}
	if doc.TokenEndpoint == "" || doc.JWKSURI == "" {
		return doc, errors.New("discovery document names no token endpoint or no keys")
	}
	return doc, nil
}

// endpoint is what an endpoint answered over TLS ("200" or the status) and over plain HTTP.
func endpoint(ctx context.Context, client *http.Client, realm, name, method, u string) reports.OIDCEndpoint {
	e := reports.OIDCEndpoint{Realm: realm, Name: name, URL: u, Plain: plainAnswer(ctx, client, method, u)}
	resp, _, err := send(ctx, client, method, u, "")
	if err != nil {
		e.TLS = "error: " + err.Error()
		return e
	}
	e.TLS = fmt.Sprint(resp.StatusCode)
	return e
}

// plainAnswer is what the http:// form of an https URL answered: "redirect to https", "refused"
// (connection refused or reset), another status, or "error: ..." (no answer, e.g. a timeout).
func plainAnswer(ctx context.Context, client *http.Client, method, u string) string {
	plain, err := url.Parse(u)
	if err != nil {
		return "error: " + err.Error()
	}
	plain.Scheme, plain.Host = "http", plain.Hostname()
	resp, _, err := send(ctx, client, method, plain.String(), "")
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET):
		return "refused"
	case err != nil:
		return "error: " + err.Error()
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && strings.HasPrefix(resp.Header.Get("Location"), "https://"):
		return "redirect to https"
	default:
		return fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// present shows token to the API at host and says whether it was accepted (200) or refused (401).
func present(ctx context.Context, client *http.Client, host, realm, api, kind, token string) reports.TokenTrial {
	t := reports.TokenTrial{Realm: realm, API: api, Kind: kind}
	resp, body, err := send(ctx, client, http.MethodGet, "https://"+host+"/api/whoami", token)
	var answer struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &answer)
	switch {
	case err != nil:
		t.Result, t.Detail = "error", err.Error()
	case resp.StatusCode == http.StatusOK:
		t.Result = reports.TokenAccepted
	case resp.StatusCode == http.StatusUnauthorized:
		t.Result, t.Detail = reports.TokenRefused, answer.Error
	default:
		t.Result, t.Detail = "error", resp.Status
	}
	return t
}

// send makes one request (with a bearer token if given) and reads its answer whole.
func send(ctx context.Context, client *http.Client, method, u, token string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}
