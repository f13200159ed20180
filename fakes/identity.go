package fakes

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"dpsim/topology"
	"dpsim/topology/platform"
)

var _ topology.PasswordStore = (*Provider)(nil)

// StoredPasswords implements topology.PasswordStore: a realm per tenant whose policy is the spec's
// auth settings, and its test users' passwords stored as that policy says (PBKDF2 with a 16-byte
// salt of each user's own; argon2, which the fake does not implement, as an opaque hash).
func (p *Provider) StoredPasswords(ctx context.Context) (topology.PasswordStorage, error) {
	var out topology.PasswordStorage
	err := p.do(ctx, func(s *site) error {
		auth := s.spec.Auth
		out = topology.PasswordStorage{Provider: "fake identity provider"}
		for _, t := range s.spec.Tenants {
			out.Realms = append(out.Realms, topology.RealmPolicy{Tenant: t, Realm: t, Policy: platform.PasswordPolicy(auth)})
			for _, u := range topology.IdentityUsers {
				c := topology.StoredCredential{Tenant: t, Realm: t, User: u, Algorithm: auth.HashAlgorithm, Iterations: auth.HashIterations,
					Password: s.spec.UserPassword(t, u)}
				salt := sha256.Sum256([]byte("salt " + t + "/" + u))
				c.Salt = salt[:16]
				prf, ok := topology.PBKDF2[auth.HashAlgorithm]
				if !ok {
					opaque := sha256.Sum256(append(c.Salt, c.Password...))
					c.Hash = opaque[:]
				} else {
					key, err := pbkdf2.Key(prf, c.Password, c.Salt, c.Iterations, prf().Size())
					if err != nil {
						return err
					}
					c.Hash = key
				}
				out.Credentials = append(out.Credentials, c)
			}
		}
		return nil
	})
	return out, err
}
