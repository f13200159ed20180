package platform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"dpsim/topology"
)

// IdentityNamespace is the namespace of the identity provider (Keycloak and its database).
const IdentityNamespace = "identity"

// Clients of every tenant's realm: the tenant's API's own (password grant, the API's audience),
// and one whose tokens live ShortTokenSeconds, so that an expired token can be shown refused.
const (
	APIClient         = "tenant-api"
	ShortTokenClient  = "tenant-api-short"
	ShortTokenSeconds = 3
)

// identityData is what identity.yaml sees.
type identityData struct {
	Options
	Namespace, Platform, Host string
	AdminPassword, DBPassword string
	Realms                    map[string]string // file name: realm JSON
	TenantNamespaces          []string
	ConfigHash                string
}

// Identity renders Keycloak behind the ingress (TLS ends there, forwarded headers trusted), its
// PostgreSQL database on a volume, and one realm per tenant imported at start: the spec's
// password policy, the API's clients and the test users with their known passwords. realmsHash
// changes with the realms: Keycloak imports a realm only when it does not have it, so a deployed
// identity provider with other realms has to go first.
func Identity(spec topology.Spec, opts Options) (manifest, realmsHash string, err error) {
	d := identityData{Options: opts, Namespace: IdentityNamespace, Platform: spec.Name, Host: spec.AuthHost(),
		AdminPassword: spec.IdentitySecret("admin"), DBPassword: spec.IdentitySecret("database"), Realms: map[string]string{}}
	for _, t := range spec.Tenants {
		realm, err := json.Marshal(realmOf(spec, t))
		if err != nil {
			return "", "", err
		}
		d.Realms[t+".json"] = string(realm)
		d.TenantNamespaces = append(d.TenantNamespaces, Namespace(t))
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%v", d.Realms))
	d.ConfigHash = hex.EncodeToString(sum[:8])
	var out bytes.Buffer
	out.WriteString("---\n")
	if err := templates.ExecuteTemplate(&out, "identity.yaml", d); err != nil {
		return "", "", fmt.Errorf("render the identity provider: %w", err)
	}
	return out.String(), d.ConfigHash, nil
}

// PasswordPolicy is the realm password policy the spec's auth settings make, in Keycloak's syntax:
// the algorithm, and the iterations for the PBKDF2 family (Argon2 has its own parameters).
func PasswordPolicy(auth topology.Auth) string {
	p := "hashAlgorithm(" + auth.HashAlgorithm + ")"
	if _, pbkdf2 := topology.PBKDF2[auth.HashAlgorithm]; pbkdf2 {
		p += fmt.Sprintf(" and hashIterations(%d)", auth.HashIterations)
	}
	return p
}

// realmOf is tenant's realm as Keycloak imports it (its representation's JSON keys).
func realmOf(spec topology.Spec, tenant string) map[string]any {
	audience := spec.APIAudience(tenant)
	client := func(id string, attrs map[string]string) map[string]any {
		return map[string]any{
			"clientId": id, "enabled": true, "publicClient": true,
			"directAccessGrantsEnabled": true, "standardFlowEnabled": false, "attributes": attrs,
			"protocolMappers": []map[string]any{{
				"name": "api-audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
				"config": map[string]string{"included.custom.audience": audience, "access.token.claim": "true", "id.token.claim": "false"},
			}},
		}
	}
	var users []map[string]any
	for _, u := range topology.IdentityUsers {
		users = append(users, map[string]any{
			"username": u, "enabled": true, "emailVerified": true,
			"email": u + "@" + spec.TenantHost(tenant), "firstName": u, "lastName": tenant,
			"credentials": []map[string]any{{"type": "password", "value": spec.UserPassword(tenant, u), "temporary": false}},
		})
	}
	realm := map[string]any{
		"realm": tenant, "enabled": true, "sslRequired": "external",
		"clients": []map[string]any{
			client(APIClient, map[string]string{}),
			client(ShortTokenClient, map[string]string{"access.token.lifespan": fmt.Sprint(ShortTokenSeconds)}),
		},
		"users": users,
	}
	if spec.Auth.HashAlgorithm != "" {
		realm["passwordPolicy"] = PasswordPolicy(spec.Auth)
	}
	return realm
}
