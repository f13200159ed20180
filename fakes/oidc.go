package fakes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"dpsim/agent/apiauth"
	"dpsim/topology"
	"dpsim/topology/platform"
)

var _ topology.OIDCSite = (*Provider)(nil)

// identity is the fake platform's identity provider at the ingress: a realm per tenant with its
// own signing key, discovery, keys and a token endpoint taking the password grant of the test
// users; tokens carry the simulated clock's times. Behind the same ingress each tenant's API
// checks tokens with the verifier the real one uses (apiauth), trusting the realms auth.apiTrust
// says, judging expiry by the simulated clock.
type identity struct {
	spec  topology.Spec
	clock topology.Clock
	keys  map[string]*ecdsa.PrivateKey // by realm
	apis  map[string]http.Handler      // by tenant host
}

// fakeShortToken is how long the short client's tokens live on the fake (simulated time).
const fakeShortToken = platform.ShortTokenSeconds * time.Second

func newIdentity(spec topology.Spec, clock topology.Clock) (*identity, error) {
	id := &identity{spec: spec, clock: clock, keys: map[string]*ecdsa.PrivateKey{}, apis: map[string]http.Handler{}}
	for _, t := range spec.Tenants {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		id.keys[t] = k
	}
	return id, nil
}

// connect makes the tenants' APIs, whose verifiers reach the identity provider through client.
func (id *identity) connect(client *http.Client) error {
	for _, t := range id.spec.Tenants {
		issuers, audience := id.spec.APITrusts(t)
		v, err := apiauth.New(issuers, "", audience)
		if err != nil {
			return err
		}
		v.Client, v.Now = client, id.clock.Now
		id.apis[id.spec.TenantHost(t)] = apiauth.Handler(t, v)
	}
	return nil
}

// serve answers r if it is for the identity provider or a tenant's API (reporting whether it did).
func (id *identity) serve(w http.ResponseWriter, r *http.Request) bool {
	host := strings.Split(r.Host, ":")[0]
	if api, ok := id.apis[host]; ok && r.URL.Path == "/api/whoami" {
		api.ServeHTTP(w, r)
		return true
	}
	if host != id.spec.AuthHost() {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/realms/")
	realm, path, _ := strings.Cut(rest, "/")
	key, known := id.keys[realm]
	if !ok || !known {
		http.NotFound(w, r)
		return true
	}
	issuer := id.spec.IssuerURL(realm)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && path == ".well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": issuer, "authorization_endpoint": issuer + "/protocol/openid-connect/auth",
			"token_endpoint": issuer + "/protocol/openid-connect/token", "jwks_uri": issuer + "/protocol/openid-connect/certs",
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	case r.Method == http.MethodGet && path == "protocol/openid-connect/certs":
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: realm, Algorithm: "ES256", Use: "sig"}}})
	case r.Method == http.MethodPost && path == "protocol/openid-connect/token":
		id.token(w, r, realm, key)
	default:
		http.NotFound(w, r)
	}
	return true
}

// token answers the password grant of a test user with a signed access token.
func (id *identity) token(w http.ResponseWriter, r *http.Request, realm string, key *ecdsa.PrivateKey) {
	client, user, password := r.FormValue("client_id"), r.FormValue("username"), r.FormValue("password")
	lifetime := 5 * time.Minute
	switch {
	case r.FormValue("grant_type") != "password" || (client != platform.APIClient && client != platform.ShortTokenClient):
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"error":"unauthorized_client"}`)
		return
	case !slices.Contains(topology.IdentityUsers, user) || password != id.spec.UserPassword(realm, user):
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, `{"error":"invalid_grant"}`)
		return
	case client == platform.ShortTokenClient:
		lifetime = fakeShortToken
	}
	now := id.clock.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": id.spec.IssuerURL(realm), "sub": realm + "/" + user, "aud": []string{id.spec.APIAudience(realm)},
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix(), "preferred_username": user, "azp": client,
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", realm))
	if err == nil {
		var jws *jose.JSONWebSignature
		if jws, err = signer.Sign(claims); err == nil {
			var raw string
			if raw, err = jws.CompactSerialize(); err == nil {
				_ = json.NewEncoder(w).Encode(map[string]any{"access_token": raw, "token_type": "Bearer", "expires_in": int(lifetime.Seconds())})
				return
			}
		}
	}
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `{"error":%q}`, err.Error())
}

// OIDC implements topology.OIDCSite.
func (p *Provider) OIDC(ctx context.Context) (topology.OIDCAccess, error) {
	ing, err := p.IngressEndpoint(ctx)
	if err != nil {
		return topology.OIDCAccess{}, err
	}
	out := topology.OIDCAccess{Ingress: ing, Provider: "fake identity provider"}
	err = p.do(ctx, func(s *site) error {
		user := topology.IdentityUsers[0]
		for _, t := range s.spec.Tenants {
			out.Realms = append(out.Realms, topology.OIDCRealmAccess{Tenant: t, Realm: t, Issuer: s.spec.IssuerURL(t),
				Client: platform.APIClient, ShortClient: platform.ShortTokenClient, ShortLifetime: fakeShortToken,
				User: user, Password: s.spec.UserPassword(t, user)})
		}
		return nil
	})
	return out, err
}
