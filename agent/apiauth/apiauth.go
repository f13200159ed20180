// Package apiauth is how a tenant's API checks bearer tokens: with go-oidc, against the realms it
// trusts (discovery, the realm's signing keys, issuer, audience, expiry). The API reaches its
// identity provider inside the cluster while the tokens name its public URL as their issuer.
package apiauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Verifier accepts the tokens of its issuers for its audience, and refuses every other.
type Verifier struct {
	// Client fetches the discovery documents and keys (nil: http.DefaultClient); Now is the
	// clock expiry is judged by (nil: the wall clock). Set them before the first Verify.
	Client *http.Client
	Now    func() time.Time

	issuers       []string
	discoveryBase string
	audience      string

	mu        sync.Mutex
	verifiers map[string]*oidc.IDTokenVerifier // by issuer, made on first use
}

// New returns a verifier of tokens issued by issuers (public URLs, e.g.
// https://auth.example.test/realms/tenant-a) for audience. Their discovery documents and keys are
// fetched from discoveryBase (e.g. http://keycloak.identity.svc:8080) with the issuers' paths; ""
// fetches them from the issuers themselves. An empty audience accepts any: a misconfiguration, for
// showing that a check catches it.
func New(issuers []string, discoveryBase, audience string) (*Verifier, error) {
	if len(issuers) == 0 {
		return nil, errors.New("apiauth: want at least one issuer")
	}
	for _, iss := range issuers {
		if _, err := url.Parse(iss); err != nil {
			return nil, fmt.Errorf("apiauth: issuer %q: %w", iss, err)
		}
	}
	return &Verifier{issuers: issuers, discoveryBase: strings.TrimSuffix(discoveryBase, "/"), audience: audience,
		verifiers: map[string]*oidc.IDTokenVerifier{}}, nil
}

// Claims are what an accepted token says of its bearer.
type Claims struct {
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Username string `json:"username"`
}

// Verify checks raw, a compact JWS, and says who it names. A token whose issuer is not trusted,
// whose signature, audience or expiry does not hold, or that is not signed is an error.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Claims{}, err
	}
	verifier, err := v.verifierFor(ctx, iss)
	if err != nil {
		return Claims{}, err
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Claims{}, err
	}
	var c struct {
		Username string `json:"preferred_username"`
	}
	if err := tok.Claims(&c); err != nil {
		return Claims{}, err
	}
	return Claims{Issuer: tok.Issuer, Subject: tok.Subject, Username: c.Username}, nil
}

// verifierFor is the verifier of a trusted issuer, made (discovery fetched) on first use, so the
// API starts without its identity provider and a failed discovery is tried again.
func (v *Verifier) verifierFor(ctx context.Context, iss string) (*oidc.IDTokenVerifier, error) {
	trusted := false
	for _, t := range v.issuers {
		trusted = trusted || t == iss
	}
	if !trusted {
		return nil, fmt.Errorf("issuer %q is not trusted", iss)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if ver, ok := v.verifiers[iss]; ok {
		return ver, nil
	}
	discovery := iss
	if v.discoveryBase != "" {
		u, _ := url.Parse(iss)
		discovery = v.discoveryBase + u.Path
	}
	// The provider's keys are fetched (and refreshed) for as long as the API runs, not per request.
	pctx := oidc.InsecureIssuerURLContext(context.WithoutCancel(ctx), iss)
	if v.Client != nil {
		pctx = oidc.ClientContext(pctx, v.Client)
	}
	p, err := oidc.NewProvider(pctx, discovery)
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", iss, err)
	}
	ver := p.Verifier(&oidc.Config{ClientID: v.audience, SkipClientIDCheck: v.audience == "", Now: v.Now})
	v.verifiers[iss] = ver
	return ver, nil
}

// unverifiedIssuer reads the iss claim of a compact JWS without checking anything: only to pick
// the verifier that then checks everything.
func unverifiedIssuer(raw string) (string, error) {
	_, payload, err := split(raw)
	if err != nil {
		return "", err
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("token payload: %w", err)
	}
	return c.Issuer, nil
}

// Tampered is raw with a claim of its payload changed (claim set to value) and its signature
// kept: what a probe presents to show that an API checks signatures.
func Tampered(raw, claim, value string) (string, error) {
	parts, payload, err := split(raw)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	claims[claim] = value
	changed, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2], nil
}

// Unsigned is raw's payload under the header {"alg":"none"} with no signature: what a probe
// presents to show that an API refuses unsigned tokens.
func Unsigned(raw string) (string, error) {
	parts, _, err := split(raw)
	if err != nil {
		return "", err
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return header + "." + parts[1] + ".", nil
}

// split cuts a compact JWS into its three parts and decodes its payload.
func split(raw string) (parts []string, payload []byte, err error) {
	parts = strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWS")
	}
	payload, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, nil, fmt.Errorf("token payload: %w", err)
	}
	return parts, payload, nil
}

// PasswordGrant asks tokenURL for user's access token with the OAuth 2.0 password grant of public
// client clientID.
func PasswordGrant(ctx context.Context, client *http.Client, tokenURL, clientID, user, password string) (string, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {user}, "password": {password}, "scope": {"openid"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("password grant for %s: %s: %.200s", user, resp.Status, body)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("password grant for %s: no access token in the answer", user)
	}
	return t.AccessToken, nil
}

// Handler is a tenant's API stand-in: GET /api/whoami answers who the bearer token names, or 401
// with why it was refused.
func Handler(tenant string, v *Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tenant+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "no bearer token"})
			return
		}
		claims, err := v.Verify(r.Context(), raw)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tenant+`", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"tenant": tenant, "claims": claims})
	})
}
