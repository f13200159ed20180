package kind

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"dpsim/images"
	"dpsim/topology"
	"dpsim/topology/keycloak"
	"dpsim/topology/platform"
)

var (
	_ topology.PasswordStore = (*Platform)(nil)
	_ topology.OIDCSite      = (*Platform)(nil)
)

// identityNeeds are the capabilities that need the identity provider (and so the edge) deployed.
var identityNeeds = []topology.Capability{topology.CapOIDC, topology.CapPasswords}

// identityImages are the identity provider's image recipes.
func identityImages() []string { return []string{images.Keycloak, images.Postgres} }

// identityVersions name the identity provider's software for the report.
func identityVersions() map[string]string {
	return map[string]string{"keycloak": images.KeycloakVersion, "keycloak-database": "PostgreSQL 17 (Debian " + images.IdentitySuite + ")"}
}

// keycloakAdmin is the bootstrap admin's user name (its password is Spec.IdentitySecret("admin")).
const keycloakAdmin = "admin"

// applyIdentity deploys Keycloak and its database; waitIdentity waits until Keycloak is ready
// (its realms imported). A reused cluster's identity provider with other realms (another
// password policy) is removed first, database and all: Keycloak never re-imports a realm it has.
func (p *Platform) applyIdentity(ctx context.Context, opts platform.Options) error {
	manifest, hash, err := platform.Identity(p.spec, opts)
	if err != nil {
		return err
	}
	deployed, err := p.cluster.Kubectl(ctx, nil, "-n", platform.IdentityNamespace, "get", "deployment", "keycloak", "--ignore-not-found",
		"-o", `jsonpath={.spec.template.metadata.annotations.dpsim\.io/config-hash}`)
	if err != nil {
		return fmt.Errorf("read the deployed identity provider: %w", err)
	}
	if d := strings.TrimSpace(string(deployed)); d != "" && d != hash {
		p.log.Info("identity provider deployed with other realms: removing it first", "deployed", d, "wanted", hash)
		if _, err := p.cluster.Kubectl(ctx, nil, "delete", "namespace", platform.IdentityNamespace, "--wait=true", "--timeout=5m"); err != nil {
			return fmt.Errorf("remove the identity provider: %w", err)
		}
	}
	if _, err := p.cluster.Kubectl(ctx, strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("deploy the identity provider: %w", err)
	}
	p.identityApplied = time.Now()
	return nil
}

func (p *Platform) waitIdentity(ctx context.Context) error {
	for _, w := range []string{"statefulset/postgres", "deployment/keycloak"} {
		if err := p.rollout(ctx, platform.IdentityNamespace, w); err != nil {
			return err
		}
	}
	p.log.Info("identity provider ready", "keycloak", images.KeycloakVersion, "realms", len(p.spec.Tenants), "elapsed", since(p.identityApplied))
	return nil
}

// keycloakSession is the platform's Keycloak reached through the ingress as its admin.
type keycloakSession struct {
	admin    *keycloak.Client
	ingress  topology.IngressEndpoint
	provider string // "keycloak <version>", as its admin API reports it
}

func (p *Platform) keycloak(ctx context.Context) (keycloakSession, error) {
	if !p.withIdentity {
		return keycloakSession{}, fmt.Errorf("the identity provider was not deployed: the run's scenarios did not need it")
	}
	ing, err := p.IngressEndpoint(ctx)
	if err != nil {
		return keycloakSession{}, err
	}
	client, err := ing.Client()
	if err != nil {
		return keycloakSession{}, err
	}
	kc := &keycloak.Client{HTTP: client, BaseURL: "https://" + p.spec.AuthHost()}
	if err := kc.Login(ctx, keycloakAdmin, p.spec.IdentitySecret("admin")); err != nil {
		return keycloakSession{}, err
	}
	version, err := kc.Version(ctx)
	if err != nil {
		return keycloakSession{}, err
	}
	return keycloakSession{admin: kc, ingress: ing, provider: "keycloak " + version}, nil
}

// StoredPasswords implements topology.PasswordStore from Keycloak itself: each realm's policy and
// each test user's credential (algorithm, iterations) from the admin API, their salts and hashes
// from Keycloak's database (the admin API strips them).
func (p *Platform) StoredPasswords(ctx context.Context) (topology.PasswordStorage, error) {
	kc, err := p.keycloak(ctx)
	if err != nil {
		return topology.PasswordStorage{}, err
	}
	secrets, err := p.storedSecrets(ctx)
	if err != nil {
		return topology.PasswordStorage{}, err
	}
	out := topology.PasswordStorage{Provider: kc.provider}
	for _, t := range p.spec.Tenants {
		policy, err := kc.admin.PasswordPolicy(ctx, t)
		if err != nil {
			return topology.PasswordStorage{}, err
		}
		out.Realms = append(out.Realms, topology.RealmPolicy{Tenant: t, Realm: t, Policy: policy})
		for _, u := range topology.IdentityUsers {
			cred, err := kc.admin.PasswordCredential(ctx, t, u)
			if err != nil {
				return topology.PasswordStorage{}, err
			}
			secret, ok := secrets[t+"/"+u]
			if !ok {
				return topology.PasswordStorage{}, fmt.Errorf("keycloak's database holds no password credential of %s in realm %s", u, t)
			}
			salt, hash, err := keycloak.ParseSecretData(secret)
			if err != nil {
				return topology.PasswordStorage{}, fmt.Errorf("%s in realm %s: %w", u, t, err)
			}
			out.Credentials = append(out.Credentials, topology.StoredCredential{Tenant: t, Realm: t, User: u,
				Algorithm: cred.Algorithm, Iterations: cred.Iterations, Salt: salt, Hash: hash, Password: p.spec.UserPassword(t, u)})
		}
	}
	return out, nil
}

// storedSecrets are the secret data of every password credential in Keycloak's database, by
// realm/user.
func (p *Platform) storedSecrets(ctx context.Context) (map[string]string, error) {
	const query = `SELECT r.name, u.username, c.secret_data FROM credential c JOIN user_entity u ON u.id = c.user_id ` +
		`JOIN realm r ON r.id = u.realm_id WHERE c.type = 'password'`
	out, err := p.cluster.Kubectl(ctx, nil, "-n", platform.IdentityNamespace, "exec", "postgres-0", "--",
		"runuser", "-u", "postgres", "--", "psql", "-U", "keycloak", "-d", "keycloak", "-At", "-F", "\t", "-c", query)
	if err != nil {
		return nil, fmt.Errorf("read the credentials from keycloak's database: %w", err)
	}
	secrets := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) == 3 {
			secrets[f[0]+"/"+f[1]] = f[2]
		}
	}
	return secrets, nil
}

// needsIdentity says whether needs ask for the identity provider.
func needsIdentity(needs []topology.Capability) bool {
	return slices.ContainsFunc(needs, func(c topology.Capability) bool { return slices.Contains(identityNeeds, c) })
}

// OIDC implements topology.OIDCSite: each tenant's realm in Keycloak, its clients and first test
// user, reached through the ingress, and Keycloak's version as its admin API reports it.
func (p *Platform) OIDC(ctx context.Context) (topology.OIDCAccess, error) {
	kc, err := p.keycloak(ctx)
	if err != nil {
		return topology.OIDCAccess{}, err
	}
	out := topology.OIDCAccess{Ingress: kc.ingress, Provider: kc.provider}
	user := topology.IdentityUsers[0]
	for _, t := range p.spec.Tenants {
		out.Realms = append(out.Realms, topology.OIDCRealmAccess{Tenant: t, Realm: t, Issuer: p.spec.IssuerURL(t),
			Client: platform.APIClient, ShortClient: platform.ShortTokenClient, ShortLifetime: platform.ShortTokenSeconds * time.Second,
			User: user, Password: p.spec.UserPassword(t, user)})
	}
	return out, nil
}
