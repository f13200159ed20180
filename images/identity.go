package images

import (
	"context"
	"os"
	"strings"
)

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
		{
			Info: Info{Name: DebianJava21, Description: "Debian " + IdentitySuite + " minbase with OpenJDK 21 (JRE)"},
			key: func() string {
				return "suite " + IdentitySuite + "\npackages " + strings.Join(debianJava21Packages, ",") + "\n" + recipe("recipes/debian.hook.sh")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.rootfs(ctx, DebianJava21, tag, IdentitySuite, debianJava21Packages, recipe("recipes/debian.hook.sh"), nil, []string{`CMD ["/bin/bash"]`})
			},
		},
		{
			Info: Info{Name: Postgres, Description: "PostgreSQL 17 from Debian " + IdentitySuite + ", initialised on first start (Keycloak's database)"},
			key: func() string {
				return "suite " + IdentitySuite + "\npackages " + strings.Join(postgresPackages, ",") + "\n" + recipe("recipes/postgres.hook.sh")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.rootfs(ctx, Postgres, tag, IdentitySuite, postgresPackages, recipe("recipes/postgres.hook.sh"), nil,
					[]string{`ENTRYPOINT ["/usr/local/bin/dpsim-postgres"]`})
			},
		},
		{
			Info: Info{Name: Keycloak, Description: "Keycloak " + KeycloakVersion + " (Maven Central's Quarkus distribution, built for PostgreSQL) on " + DebianJava21,
				Deps: []string{DebianJava21}},
			key: func() string { return keycloakArtifact + "\n" + recipe("recipes/keycloak.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				home, err := b.mavenArchive(ctx, "keycloak-"+KeycloakVersion, keycloakArtifact)
				if err != nil {
					return err
				}
				archive, err := b.tarDir(home, "keycloak")
				if err != nil {
					return err
				}
				defer os.Remove(archive)
				return b.dockerBuild(ctx, Keycloak, tag, recipe("recipes/keycloak.Dockerfile"), binaryImage{Base: MustTag(DebianJava21)},
					map[string]string{"keycloak.tar": archive})
			},
		},
	}
}
