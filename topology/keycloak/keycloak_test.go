package keycloak

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The admin client logs in with the password grant, then reads the version, a realm's policy and a
// user's credential data (a JSON string inside the JSON, as Keycloak nests it); a refused login
// is an error naming the answer.
func TestAdminClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/realms/master/protocol/openid-connect/token" {
			if r.FormValue("password") != "secret" {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "admin-token"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/admin/serverinfo":
			_, _ = w.Write([]byte(`{"systemInfo":{"version":"26.7.3"}}`))
		case "/admin/realms/tenant-a":
			_, _ = w.Write([]byte(`{"realm":"tenant-a","passwordPolicy":"hashAlgorithm(pbkdf2-sha256) and hashIterations(20000)"}`))
		case "/admin/realms/tenant-a/users":
			_, _ = w.Write([]byte(`[{"id":"u1","username":"alice"}]`))
		case "/admin/realms/tenant-a/users/u1/credentials":
			_, _ = w.Write([]byte(`[{"type":"password","credentialData":"{\"hashIterations\":20000,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}"}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	bad := &Client{HTTP: srv.Client(), BaseURL: srv.URL}
	if err := bad.Login(ctx, "admin", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, err := bad.Version(ctx); err == nil {
		t.Fatal("admin API answered without a login")
	}
	c := &Client{HTTP: srv.Client(), BaseURL: srv.URL}
	if err := c.Login(ctx, "admin", "secret"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Version(ctx); err != nil || v != "26.7.3" {
		t.Errorf("version %q, %v", v, err)
	}
	if p, err := c.PasswordPolicy(ctx, "tenant-a"); err != nil || p != "hashAlgorithm(pbkdf2-sha256) and hashIterations(20000)" {
		t.Errorf("policy %q, %v", p, err)
	}
	if cr, err := c.PasswordCredential(ctx, "tenant-a", "alice"); err != nil || cr != (Credential{Algorithm: "pbkdf2-sha256", Iterations: 20000}) {
		t.Errorf("credential %+v, %v", cr, err)
	}
}

func TestParseSecretData(t *testing.T) {
	salt, hash, err := ParseSecretData(`{"value":"AAEC","salt":"AwQ=","additionalParameters":{}}`)
	if err != nil || string(salt) != "\x03\x04" || string(hash) != "\x00\x01\x02" {
		t.Errorf("salt %x hash %x, %v", salt, hash, err)
	}
	for _, bad := range []string{``, `{"value":"!!","salt":"AwQ="}`, `{"value":"AAEC","salt":"%%"}`} {
		if _, _, err := ParseSecretData(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
