package topology

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"time"
)

// PBKDF2 are the PBKDF2 algorithms by the names auth.hashAlgorithm and identity providers use
// (Keycloak's provider ids), with their PRFs; the PRF's size is the derived key's.
var PBKDF2 = map[string]func() hash.Hash{
	"pbkdf2":        sha1.New,
	"pbkdf2-sha256": sha256.New,
	"pbkdf2-sha512": sha512.New,
}

// HashAlgorithms are the password hashes auth.hashAlgorithm may name (Keycloak's provider ids);
// "pbkdf2" is also the family of the PBKDF2 ones in the hashAlgorithm claim.
var HashAlgorithms = []string{"argon2", "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512"}

// PasswordStore is an identity provider whose stored password credentials can be read back from
// the provider itself (DP-AUTH-2): its realms' password policies, and for each test user the
// credential it stored, with the password the user was given.
type PasswordStore interface {
	StoredPasswords(ctx context.Context) (PasswordStorage, error)
}

// PasswordStorage is what the identity provider keeps of its test users' passwords.
type PasswordStorage struct {
	Provider    string // e.g. "keycloak 26.7.3"
	Realms      []RealmPolicy
	Credentials []StoredCredential
}

// RealmPolicy is one tenant's realm and its password policy as the provider reports it.
type RealmPolicy struct {
	Tenant string `json:"tenant"`
	Realm  string `json:"realm"`
	Policy string `json:"policy"` // e.g. "hashAlgorithm(pbkdf2-sha256) and hashIterations(20000)"
}

// StoredCredential is one user's stored password: the algorithm and iterations the provider
// recorded, its salt and hash, and the password the user was given (so the hash can be
// recomputed). Salt, hash and password never go into a report.
type StoredCredential struct {
	Tenant, Realm, User string
	Algorithm           string // e.g. pbkdf2-sha256, argon2
	Iterations          int
	Salt, Hash          []byte
	Password            string
}

// IdentityUsers are the test users of every tenant's realm.
var IdentityUsers = []string{"alice", "bob"}

// UserPassword is the known password of a test user of tenant's realm: derived from the platform,
// tenant and user, so that every process finds it again.
func (s Spec) UserPassword(tenant, user string) string {
	return s.IdentitySecret("user " + tenant + "/" + user)
}

// IdentitySecret is a test secret of the platform's identity provider (the bootstrap admin's
// password, the database's), derived from the platform's name and what it is for. These are the
// credentials of a local simulation, never of a real platform.
func (s Spec) IdentitySecret(purpose string) string {
	sum := sha256.Sum256([]byte("dpsim identity " + s.Name + " " + purpose))
	return hex.EncodeToString(sum[:12])
}

// OIDCSite is a platform whose identity provider serves a realm per tenant at the ingress, with
// the tenants' APIs behind it that accept bearer tokens (DP-AUTH-1).
type OIDCSite interface {
	OIDC(ctx context.Context) (OIDCAccess, error)
}

// OIDCAccess is what a probe needs to try the realms and the APIs as a client would.
type OIDCAccess struct {
	// Ingress reaches every host name; its Hosts are the tenants' APIs.
	Ingress IngressEndpoint
	// Provider names the identity provider as it says of itself, e.g. "keycloak 26.7.3".
	Provider string
	Realms   []OIDCRealmAccess
}

// OIDCRealmAccess is one tenant's realm: its issuer URL (discovery is under it), a public client
// with the password grant whose tokens name the tenant's API as audience, a second one whose tokens
// live only ShortLifetime, and a test user with its password.
type OIDCRealmAccess struct {
	Tenant, Realm, Issuer string
	Client, ShortClient   string
	ShortLifetime         time.Duration
	User, Password        string
}
