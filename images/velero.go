package images

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
)

// The backup system's images: Velero and its object-store plugin for S3 (MinIO).
const (
	Velero          = "velero"
	VeleroPluginAWS = "velero-plugin-for-aws"
)

// Pinned versions of the backup system.
const (
	VeleroVersion          = "v1.18.3"
	VeleroModule           = "github.com/vmware-tanzu/velero"
	VeleroPluginAWSVersion = "v1.14.3"
	VeleroPluginAWSModule  = "github.com/vmware-tanzu/velero-plugin-for-aws"
)

func veleroDefinitions() []*image {
	return []*image{
		{
			Info: Info{Name: Velero, Description: "Velero " + VeleroVersion + " (server, node-agent, data mover, restore helper) on " + DebianNet, Deps: []string{DebianNet}},
			key:  func() string { return veleroSpec().hash() + recipe("recipes/velero.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				binDir, err := b.goBuild(ctx, veleroSpec())
				if err != nil {
					return err
				}
				return b.dockerBuild(ctx, Velero, tag, recipe("recipes/velero.Dockerfile"), binaryImage{Base: MustTag(DebianNet)},
					map[string]string{
						"velero":                filepath.Join(binDir, "velero"),
						"velero-restore-helper": filepath.Join(binDir, "velero-restore-helper"),
					})
			},
		},
		{
			Info: Info{Name: VeleroPluginAWS, Description: "Velero's object-store plugin for AWS S3 " + VeleroPluginAWSVersion + " with its copier, on scratch"},
			key:  func() string { return veleroPluginAWSSpec().hash() + recipe("recipes/velero-plugin.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				binDir, err := b.goBuild(ctx, veleroPluginAWSSpec())
				if err != nil {
					return err
				}
				return b.dockerBuild(ctx, VeleroPluginAWS, tag, recipe("recipes/velero-plugin.Dockerfile"), binaryImage{Binary: "velero-plugin-for-aws"},
					map[string]string{
						"velero-plugin-for-aws": filepath.Join(binDir, "velero-plugin-for-aws"),
						"cp-plugin":             filepath.Join(binDir, "cp-plugin"),
					})
			},
		},
	}
}

// veleroSpec builds Velero through a wrapper module that repeats Velero's replace of kopia (to
// the project-velero fork) and replaces k8s.io/cli-runtime v0.33.12, which the proxy does not
// serve, with v0.33.13.
func veleroSpec() goSpec {
	return goSpec{
		name:     "velero-" + VeleroVersion,
		requires: [][2]string{{VeleroModule, VeleroVersion}},
		replaces: []string{
			"github.com/kopia/kopia => github.com/project-velero/kopia v0.0.0-20251230033609-d946b1e75197",
			"k8s.io/cli-runtime => k8s.io/cli-runtime v0.33.13",
		},
		binaries: map[string]string{
			"velero":                VeleroModule + "/cmd/velero",
			"velero-restore-helper": VeleroModule + "/cmd/velero-restore-helper",
		},
		// Without the version stamp the install defaults to velero/velero:latest and the server
		// reports no version.
		ldflags: "-s -w -X " + VeleroModule + "/pkg/buildinfo.Version=" + VeleroVersion,
	}
}

func veleroPluginAWSSpec() goSpec {
	return goSpec{
		name:     "velero-plugin-for-aws-" + VeleroPluginAWSVersion,
		requires: [][2]string{{VeleroPluginAWSModule, VeleroPluginAWSVersion}},
		binaries: map[string]string{
			"velero-plugin-for-aws": VeleroPluginAWSModule + "/velero-plugin-for-aws",
			"cp-plugin":             VeleroPluginAWSModule + "/hack/cp-plugin",
		},
		ldflags: "-s -w",
	}
}

// VeleroBinary returns the velero CLI built for the velero image (the same binary the image
// carries), building it into the image build cache (opts.CacheDir) when it is not there yet.
func VeleroBinary(ctx context.Context, logger *slog.Logger, opts Options) (string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := newBuilder(logger, opts)
	bin := filepath.Join(b.cacheDir, "go", veleroSpec().name+"-"+veleroSpec().hash(), "bin", "velero")
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(bin)), ".done")); err == nil {
		return bin, nil
	}
	unlock, err := b.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	binDir, err := b.goBuild(ctx, veleroSpec())
	if err != nil {
		return "", err
	}
	return filepath.Join(binDir, "velero"), nil
}
