package platform

import (
	"encoding/json"
	"strings"
	"testing"

	"dpsim/topology"
	"sigs.k8s.io/yaml"
)

// Each tenant's realm carries the spec's password policy (iterations only for the PBKDF2 family;
// none at all when the spec names no algorithm, so Keycloak's default shows), the API's clients
// with its audience, and the test users with their known passwords.
func TestIdentityRealms(t *testing.T) {
	tests := []struct {
		name   string
		auth   topology.Auth
		policy string
	}{
		{"as promised", topology.Default().Auth, "hashAlgorithm(pbkdf2-sha256) and hashIterations(20000)"},
		{"argon2", topology.Auth{Provider: "keycloak", HashAlgorithm: "argon2", HashIterations: 20000}, "hashAlgorithm(argon2)"},
		{"no policy", topology.Auth{Provider: "keycloak"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := topology.Default()
			spec.Auth = tt.auth
			out, _, err := Identity(spec, Options{Images: map[string]string{"keycloak": "k:1", "postgres": "p:1"}, IngressNamespace: "ingress", StorageClass: "standard"})
			if err != nil {
				t.Fatal(err)
			}
			realms := map[string]string{}
			for _, doc := range strings.Split(out, "\n---\n") {
				var v struct {
					Kind     string
					Metadata struct{ Name string }
					Data     map[string]string
				}
				if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
					t.Fatalf("%v in\n%s", err, doc)
				}
				if v.Kind == "ConfigMap" && v.Metadata.Name == "realms" {
					realms = v.Data
				}
			}
			if len(realms) != len(spec.Tenants) {
				t.Fatalf("%d realm files for %d tenants", len(realms), len(spec.Tenants))
			}
			for _, tenant := range spec.Tenants {
				var realm struct {
					Realm, PasswordPolicy string
					Clients               []struct{ ClientID string }
					Users                 []struct {
						Username    string
						Credentials []struct{ Value string }
					}
				}
				if err := json.Unmarshal([]byte(realms[tenant+".json"]), &realm); err != nil {
					t.Fatal(err)
				}
				if realm.Realm != tenant || realm.PasswordPolicy != tt.policy {
					t.Errorf("realm %q policy %q, want %q policy %q", realm.Realm, realm.PasswordPolicy, tenant, tt.policy)
				}
				if len(realm.Clients) != 2 || realm.Clients[0].ClientID != APIClient {
					t.Errorf("clients %+v", realm.Clients)
				}
				if len(realm.Users) != len(topology.IdentityUsers) || realm.Users[0].Credentials[0].Value != spec.UserPassword(tenant, realm.Users[0].Username) {
					t.Errorf("users %+v", realm.Users)
				}
			}
			if !strings.Contains(out, "KC_HOSTNAME, value: \"https://auth.dpsim.test\"") || !strings.Contains(out, `"start", "--optimized", "--import-realm"`) {
				t.Error("keycloak is not started optimized with its public host name")
			}
		})
	}
}
