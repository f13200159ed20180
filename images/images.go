// Package images builds every container image the dpsim topology needs from
// package registries alone: Debian root filesystems made with mmdebstrap and
// `docker import`, Go binaries built on the host from the Go module proxy, and
// small embedded Dockerfiles that start FROM scratch or from those local
// images. No image is ever pulled.
//
// Each image's tag is derived from a hash of its recipe, its pinned versions
// and the tags of the images it builds on, so an image whose recipe did not
// change is found with `docker image inspect` and never rebuilt.
package images

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Pinned versions of everything the images are built from.
const (
	KubernetesVersion    = "v1.36.3"
	kubeStagingVersion   = "v0.36.3"
	KindVersion          = "v0.33.0"
	EtcdVersion          = "3.6.8"
	CoreDNSVersion       = "v1.14.2"
	PauseVersion         = "3.10"
	KubeRouterVersion    = "v2.1.0"
	LocalPathVersion     = "v0.0.30"
	DebianSuite          = "bookworm"
	KindModule           = "sigs.k8s.io/kind"
	KubeRouterModule     = "github.com/cloudnativelabs/kube-router/v2"
	LocalPathModule      = "github.com/rancher/local-path-provisioner"
	kubernetesModule     = "k8s.io/kubernetes"
	etcdModule           = "go.etcd.io/etcd/server/v3"
	corednsModule        = "github.com/coredns/coredns"
	builderRecipeVersion = "1" // bump to rebuild every image after a change to this package's mechanics
)

// Image names in the catalogue.
const (
	DebianNet             = "debian-net"
	KindBase              = "kind-base"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	KubeProxy             = "kube-proxy"
	Etcd                  = "etcd"
	CoreDNS               = "coredns"
	Pause                 = "pause"
	KubeRouter            = "kube-router"
	LocalPathProvisioner  = "local-path-provisioner"
	LocalPathHelper       = "local-path-helper"
	NetCheck              = "netcheck"
	KindNode              = "kind-node"
)

// Repository is the local repository prefix of every image dpsim builds.
const Repository = "dpsim/"

// LabelRecipe is set on every image dpsim builds; its value is the image's name.
const LabelRecipe = "dpsim.recipe"

//go:embed recipes netcheck/main.go
var recipeFS embed.FS

func recipe(name string) string {
	b, err := recipeFS.ReadFile(name)
	if err != nil {
		panic("images: missing embedded recipe " + name) // a build defect, caught by tests
	}
	return string(b)
}

// Info describes one image of the catalogue.
type Info struct {
	// Name is the image's name in the catalogue, e.g. "kind-node".
	Name string
	// Description says what the image is for.
	Description string
	// Deps are the catalogue names this image builds on or contains.
	Deps []string
	// Aliases are the further names the image is known by inside the kind
	// node image (the names kubeadm expects), if any.
	Aliases []string
}

// image is a catalogue entry with its recipe.
type image struct {
	Info
	// key is everything that determines the image besides its deps' tags:
	// recipe text, pinned versions, package lists.
	key func() string
	// build makes the image and tags it tag.
	build func(ctx context.Context, b *builder, tag string) error
}

var (
	catalogueOnce sync.Once
	catalogue     map[string]*image
)

func entries() map[string]*image {
	catalogueOnce.Do(func() {
		catalogue = map[string]*image{}
		for _, im := range definitions() {
			catalogue[im.Name] = im
		}
	})
	return catalogue
}

// Catalogue lists every image dpsim can build, sorted by name.
func Catalogue() []Info {
	var out []Info
	for _, im := range entries() {
		out = append(out, im.Info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tag returns the exact tag the named image has when built from the current
// recipes, e.g. "dpsim/kind-node:3f2a…". It does not build anything.
func Tag(name string) (string, error) {
	h, err := hashOf(name, nil)
	if err != nil {
		return "", err
	}
	return Repository + name + ":" + h, nil
}

// MustTag is Tag for names known to be in the catalogue.
func MustTag(name string) string {
	t, err := Tag(name)
	if err != nil {
		panic(err)
	}
	return t
}

func hashOf(name string, seen []string) (string, error) {
	im, ok := entries()[name]
	if !ok {
		return "", fmt.Errorf("unknown image %q", name)
	}
	if slices.Contains(seen, name) {
		return "", fmt.Errorf("image dependency cycle: %s -> %s", strings.Join(seen, " -> "), name)
	}
	h := sha256.New()
	fmt.Fprintf(h, "dpsim image %s\nbuilder %s\n%s\n", name, builderRecipeVersion, im.key())
	for _, d := range im.Deps {
		dh, err := hashOf(d, append(seen, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "dep %s %s\n", d, dh)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Options tune Build.
type Options struct {
	// Force rebuilds the requested images (not their dependencies) and the
	// binaries they contain even when a current one exists.
	Force bool
	// CacheDir holds build directories and built binaries.
	// Default: /var/cache/dpsim/build.
	CacheDir string
	// Docker is the docker CLI to run. Default: "docker".
	Docker string
}

// Result reports what Build did for one image.
type Result struct {
	Name    string
	Tag     string
	Built   bool // false: an image with this tag already existed
	Elapsed time.Duration
}

// Build makes sure every named image, and every image it depends on, exists
// in the local Docker engine under its current tag, building what is missing
// in dependency order. Progress goes to logger, one line per image with its
// elapsed time. It returns what it did, in build order.
func Build(ctx context.Context, logger *slog.Logger, names []string, opts Options) ([]Result, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	order, err := buildOrder(names)
	if err != nil {
		return nil, err
	}
	b := newBuilder(logger, opts)
	unlock, err := b.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var results []Result
	for _, name := range order {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		tag, err := Tag(name)
		if err != nil {
			return results, err
		}
		force := opts.Force && slices.Contains(names, name)
		start := time.Now()
		if !force {
			exists, err := b.imageExists(ctx, tag)
			if err != nil {
				return results, err
			}
			if exists {
				logger.Info("image up to date", "image", name, "tag", tag)
				results = append(results, Result{Name: name, Tag: tag})
				continue
			}
		}
		logger.Info("building image", "image", name, "tag", tag)
		b.force = force
		if err := entries()[name].build(ctx, b, tag); err != nil {
			return results, fmt.Errorf("build image %s: %w", name, err)
		}
		el := time.Since(start)
		logger.Info("image built", "image", name, "tag", tag, "elapsed", el.Round(time.Second).String())
		results = append(results, Result{Name: name, Tag: tag, Built: true, Elapsed: el})
	}
	return results, nil
}

// buildOrder returns names and their dependencies, dependencies first.
func buildOrder(names []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		im, ok := entries()[n]
		if !ok {
			return fmt.Errorf("unknown image %q (known: %s)", n, strings.Join(names2(), ", "))
		}
		switch state[n] {
		case 1:
			return fmt.Errorf("image dependency cycle: %s -> %s", strings.Join(path, " -> "), n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range im.Deps {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func names2() []string {
	var out []string
	for n := range entries() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ClusterImages are the images the kind node image carries besides the
// Kubernetes components, so that `up` needs no image loading for them.
var ClusterImages = []string{KubeRouter, LocalPathProvisioner, LocalPathHelper, NetCheck}
