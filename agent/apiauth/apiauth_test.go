package apiauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// realmServer serves the discovery documents and keys of realms a and b (each its own key) at
// /realms/NAME, naming https://auth.test/realms/NAME as the issuer, as Keycloak does behind its
// ingress; sign makes a token of a realm.
func realmServer(t *testing.T) (base string, sign func(realm string, claims map[string]any) string) {
	t.Helper()
	keys := map[string]*rsa.PrivateKey{}
	for _, r := range []string{"a", "b"} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[r] = k
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/realms/"), "/")
		key, ok := keys[parts[0]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch strings.Join(parts[1:], "/") {
		case ".well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": "https://auth.test/realms/" + parts[0], "jwks_uri": srv.URL + "/realms/" + parts[0] + "/certs",
				"authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		case "certs":
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: parts[0], Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func(realm string, claims map[string]any) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: keys[realm]}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", realm))
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(claims)
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
}

// An API trusting realm a accepts a's valid token for its audience, and refuses b's token, an
// expired one, one for another audience, a tampered one and an unsigned one.
func TestVerifierAcceptsOnlyItsRealmsValidTokens(t *testing.T) {
	base, sign := realmServer(t)
	v, err := New([]string{"https://auth.test/realms/a"}, base, "https://api-a.test")
	if err != nil {
		t.Fatal(err)
	}
	claims := func(realm, aud string, exp time.Duration) map[string]any {
		return map[string]any{"iss": "https://auth.test/realms/" + realm, "sub": "u1", "aud": []string{aud, "account"},
			"exp": time.Now().Add(exp).Unix(), "iat": time.Now().Unix(), "preferred_username": "alice"}
	}
	valid := sign("a", claims("a", "https://api-a.test", time.Minute))
	tampered, err := Tampered(valid, "sub", "someone-else")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := Unsigned(valid)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c, err := v.Verify(ctx, valid); err != nil || c.Username != "alice" || c.Issuer != "https://auth.test/realms/a" {
		t.Fatalf("valid token: %+v, %v", c, err)
	}
	for name, raw := range map[string]string{
		"another realm's": sign("b", claims("b", "https://api-a.test", time.Minute)),
		"another realm's, signed by its own key but naming a": sign("b", claims("a", "https://api-a.test", time.Minute)),
		"expired":            sign("a", claims("a", "https://api-a.test", -time.Second)),
		"another audience's": sign("a", claims("a", "https://api-b.test", time.Minute)),
		"tampered":           tampered,
		"unsigned":           unsigned,
		"garbage":            "not.a-token",
	} {
		if c, err := v.Verify(ctx, raw); err == nil {
			t.Errorf("%s token accepted: %+v", name, c)
		}
	}
}
