package images

import "context"

// The identity provider's images: Keycloak on Java 21 and the PostgreSQL database it keeps its
// realms, users and credentials in.
const (
	DebianJava21 = "debian-java21"
	Keycloak     = "keycloak"
	Postgres     = "postgres"
)

// Pinned versions of the identity provider. Keycloak deprecated Java 17 in 25: its image is on
// Debian trixie's OpenJDK 21, as is PostgreSQL 17.
const (
	KeycloakVersion = "26.7.3"
	IdentitySuite   = "trixie"
)

var (
	keycloakArtifact     = "org.keycloak:keycloak-quarkus-dist:" + KeycloakVersion + ":zip"
	debianJava21Packages = []string{"openjdk-21-jre-headless", "ca-certificates", "procps", "passwd"}
	postgresPackages     = []string{"postgresql-17", "ca-certificates"}
)

func identityDefinitions() []*image {
	return []*image{
		debianImage(DebianJava21, "Debian "+IdentitySuite+" minbase with OpenJDK 21 (JRE)", IdentitySuite, debianJava21Packages,
			"recipes/debian.hook.sh", `CMD ["/bin/bash"]`),
		debianImage(Postgres, "PostgreSQL 17 from Debian "+IdentitySuite+", initialised on first start (Keycloak's database)", IdentitySuite, postgresPackages,
			"recipes/postgres.hook.sh", `ENTRYPOINT ["/usr/local/bin/dpsim-postgres"]`),
		{
			Info: Info{Name: Keycloak, Description: "Keycloak " + KeycloakVersion + " (Maven Central's Quarkus distribution, built for PostgreSQL) on " + DebianJava21,
				Deps: []string{DebianJava21}},
			key: func() string { return keycloakArtifact + "\n" + recipe("recipes/keycloak.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.mavenArchiveImage(ctx, Keycloak, tag, "keycloak-"+KeycloakVersion, keycloakArtifact, "recipes/keycloak.Dockerfile", DebianJava21, nil)
			},
		},
	}
}
