package kind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"dpsim/images"
)

// Calico is what the platform runs in production. It cannot be built from the package registries
// here (its go.mod replaces a module with a directory its module zip omits), so it runs only where
// its upstream images are already present in the local Docker engine. Its manifest comes from the
// Go module cache.
const (
	calicoModule  = "github.com/projectcalico/calico"
	calicoVersion = "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520" // manifests for Calico v3.28.5
	podSubnet     = "10.244.0.0/16"                                    // kind's default pod subnet
)

// Policy engines.
const (
	EngineKubeRouter = "kube-router"
	EngineCalico     = "calico"
)

var imageLine = regexp.MustCompile(`(?m)^\s*image:\s*(\S+)\s*$`)

// calicoManifest reads Calico's manifest from the module cache and sets its pod pool to kind's.
func calicoManifest(ctx context.Context) (string, error) {
	dir, err := images.ModuleDir(ctx, calicoModule, calicoVersion)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifests", "calico.yaml"))
	if err != nil {
		return "", fmt.Errorf("read calico manifest: %w", err)
	}
	m := string(raw)
	pool := "# - name: CALICO_IPV4POOL_CIDR\n            #   value: \"192.168.0.0/16\""
	if !strings.Contains(m, pool) {
		return "", fmt.Errorf("calico manifest: pod pool setting not found")
	}
	return strings.Replace(m, pool, "- name: CALICO_IPV4POOL_CIDR\n              value: \""+podSubnet+"\"", 1), nil
}

// manifestImages lists the images a manifest uses, once each, in order.
func manifestImages(manifest string) []string {
	var out []string
	for _, m := range imageLine.FindAllStringSubmatch(manifest, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// missingImages returns the images that exists reports absent; it fails only if exists fails.
func missingImages(imgs []string, exists func(string) (bool, error)) ([]string, error) {
	var missing []string
	for _, img := range imgs {
		ok, err := exists(img)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, img)
		}
	}
	return missing, nil
}

// calicoPresent returns Calico's manifest and images once every image is in the local Docker
// engine, or an error naming every image that is missing. Up calls it before creating anything.
func (p *Provider) calicoPresent(ctx context.Context) (string, []string, error) {
	m, err := calicoManifest(ctx)
	if err != nil {
		return "", nil, err
	}
	imgs := manifestImages(m)
	missing, err := missingImages(imgs, func(img string) (bool, error) {
		_, err := p.run(ctx, nil, p.docker, "image", "inspect", "--format", "{{.Id}}", img)
		return err == nil, nil
	})
	if err != nil {
		return "", nil, err
	}
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("network.policyEngine calico needs these images in the local Docker engine, and no registry can be reached to pull them: %s (use network.policyEngine: kube-router, which dpsim builds)",
			strings.Join(missing, ", "))
	}
	return m, imgs, nil
}

// calicoAddon loads Calico's images into the nodes and returns its manifest.
func (p *Provider) calicoAddon(ctx context.Context) (string, error) {
	m, imgs, err := p.calicoPresent(ctx)
	if err != nil {
		return "", err
	}
	if err := p.LoadImages(ctx, imgs...); err != nil {
		return "", fmt.Errorf("load calico images: %w", err)
	}
	return strings.ReplaceAll(m, "imagePullPolicy: Always", "imagePullPolicy: IfNotPresent"), nil
}
