package images

import (
	"context"
	"path/filepath"
)

// The edge's images: the ingress controller and the ACME CA its certificates come from.
const (
	Traefik = "traefik"
	Pebble  = "pebble"
)

// Pinned versions of the edge. Traefik v3.6.12 is the one release whose module builds from the
// proxy (later ones point a replace at a directory their module zip omits); it is built inside its
// own module, replaces and all, as `go install` refuses them.
const (
	TraefikVersion = "v3.6.12"
	TraefikModule  = "github.com/traefik/traefik/v3"
	PebbleVersion  = "v2.10.3"
	PebbleModule   = "github.com/letsencrypt/pebble/v2"
)

func edgeDefinitions() []*image {
	return []*image{
		goBinaryImage(Traefik, "Traefik "+TraefikVersion+" (ingress controller; no web UI assets), on scratch", traefikSpec()),
		goBinaryImage(Pebble, "Pebble "+PebbleVersion+", Let's Encrypt's ACME test CA, on scratch", pebbleSpec()),
	}
}

// goBinaryImage is the one binary of spec, named name, on scratch, as the image's entry point.
func goBinaryImage(name, description string, spec goSpec) *image {
	return &image{
		Info: Info{Name: name, Description: description},
		key:  func() string { return spec.hash() + recipe("recipes/scratch-binary.Dockerfile") },
		build: func(ctx context.Context, b *builder, tag string) error {
			binDir, err := b.goBuild(ctx, spec)
			if err != nil {
				return err
			}
			return b.dockerBuild(ctx, name, tag, recipe("recipes/scratch-binary.Dockerfile"),
				binaryImage{Binary: name, Dir: "/usr/local/bin", Entrypoint: true},
				map[string]string{name: filepath.Join(binDir, name)})
		},
	}
}

func traefikSpec() goSpec {
	return goSpec{
		name:     "traefik-" + TraefikVersion,
		inModule: [2]string{TraefikModule, TraefikVersion},
		binaries: map[string]string{"traefik": "./cmd/traefik"},
		ldflags:  "-s -w -X " + TraefikModule + "/pkg/version.Version=" + TraefikVersion,
	}
}

func pebbleSpec() goSpec {
	return goSpec{
		name:     "pebble-" + PebbleVersion,
		requires: [][2]string{{PebbleModule, PebbleVersion}},
		binaries: map[string]string{"pebble": PebbleModule + "/cmd/pebble"},
	}
}
