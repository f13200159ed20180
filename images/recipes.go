package images

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// debianNetPackages make the small Debian base of the networking images
// (kube-proxy, kube-router) and of local-path-provisioner and its helper.
var debianNetPackages = []string{"iptables", "nftables", "ipset", "iproute2", "conntrack", "ca-certificates"}

// kindBasePackages make the kind node's root filesystem: Debian's systemd,
// containerd 1.6, runc and CNI plugins plus what kind's base image installs.
var kindBasePackages = []string{
	"systemd", "dbus",
	"conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
	"libseccomp2", "pigz", "fuse-overlayfs", "e2fsprogs",
	"bash", "ca-certificates", "curl", "jq", "procps",
	"containerd", "runc", "containernetworking-plugins",
}

// kindNodeChanges set the node image's metadata as kind's base image sets
// it, as far as `docker import` and `docker commit` can (recipes/kind-node.Dockerfile
// adds the stop signal).
var kindNodeChanges = []string{
	"ENV container=docker",
	`ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
}

// binaryImage is the template data of the scratch and Debian binary recipes.
type binaryImage struct {
	Base       string // FROM, for the Debian recipe
	Binary     string
	Dir        string
	Entrypoint bool
}

func definitions() []*image {
	defs := []*image{
		debianImage(DebianNet, "Debian minbase with iptables, nftables, ipset, iproute2 and conntrack", DebianSuite, debianNetPackages,
			"recipes/debian.hook.sh", `CMD ["/bin/bash"]`),
		{
			Info: Info{Name: KindBase, Description: "kind node base: Debian with systemd, containerd, runc, CNI plugins and kind " + KindVersion + "'s images/base/files"},
			key: func() string {
				return "suite " + DebianSuite + "\nkind " + KindVersion + "\npackages " + strings.Join(kindBasePackages, ",") +
					"\n" + recipe("recipes/kind-base.hook.sh") + "\n" + strings.Join(kindNodeChanges, "\n")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				kindDir, err := b.moduleDir(ctx, KindModule, KindVersion)
				if err != nil {
					return err
				}
				files := filepath.Join(kindDir, "images", "base", "files")
				return b.rootfs(ctx, KindBase, tag, DebianSuite, kindBasePackages, recipe("recipes/kind-base.hook.sh"), []string{files}, kindNodeChanges)
			},
		},
		kubeImage(KubeAPIServer, false),
		kubeImage(KubeControllerManager, false),
		kubeImage(KubeScheduler, false),
		kubeImage(KubeProxy, true),
		{
			Info: Info{Name: Etcd, Description: "etcd " + EtcdVersion + " on scratch", Aliases: []string{"registry.k8s.io/etcd:" + EtcdVersion + "-0"}},
			key:  func() string { return etcdSpec().hash() + recipe("recipes/scratch-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, Etcd, tag, etcdSpec(), "etcd", "recipes/scratch-binary.Dockerfile", binaryImage{Binary: "etcd", Dir: "/usr/local/bin"})
			},
		},
		{
			Info: Info{Name: CoreDNS, Description: "CoreDNS " + CoreDNSVersion + " on scratch", Aliases: []string{"registry.k8s.io/coredns/coredns:" + CoreDNSVersion}},
			key:  func() string { return corednsSpec().hash() + recipe("recipes/scratch-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, CoreDNS, tag, corednsSpec(), "coredns", "recipes/scratch-binary.Dockerfile", binaryImage{Binary: "coredns", Dir: "", Entrypoint: true})
			},
		},
		{
			Info: Info{Name: Pause, Description: "pause " + PauseVersion + ", compiled static from the Kubernetes module's build/pause/linux/pause.c", Aliases: []string{"registry.k8s.io/pause:" + PauseVersion}},
			key: func() string {
				return "kubernetes " + KubernetesVersion + "\npause " + PauseVersion + "\n" + strings.Join(pauseCFlags, " ") + "\n" + recipe("recipes/scratch-binary.Dockerfile")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				bin, err := b.pause(ctx)
				if err != nil {
					return err
				}
				return b.dockerBuild(ctx, Pause, tag, recipe("recipes/scratch-binary.Dockerfile"),
					binaryImage{Binary: "pause", Dir: "", Entrypoint: true}, map[string]string{"pause": bin})
			},
		},
		{
			Info: Info{Name: KubeRouter, Description: "kube-router " + KubeRouterVersion + " (CNI and NetworkPolicy engine) on " + DebianNet, Deps: []string{DebianNet}},
			key:  func() string { return kubeRouterSpec().hash() + recipe("recipes/debian-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, KubeRouter, tag, kubeRouterSpec(), "kube-router", "recipes/debian-binary.Dockerfile",
					binaryImage{Base: MustTag(DebianNet), Binary: "kube-router", Dir: "/usr/local/bin", Entrypoint: true})
			},
		},
		{
			Info: Info{Name: LocalPathProvisioner, Description: "local-path-provisioner " + LocalPathVersion + " on " + DebianNet, Deps: []string{DebianNet}},
			key:  func() string { return localPathSpec().hash() + recipe("recipes/debian-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, LocalPathProvisioner, tag, localPathSpec(), "local-path-provisioner", "recipes/debian-binary.Dockerfile",
					binaryImage{Base: MustTag(DebianNet), Binary: "local-path-provisioner", Dir: "/usr/bin"})
			},
		},
		{
			Info: Info{Name: LocalPathHelper, Description: "the helper pod image of local-path-provisioner (sh, mkdir, rm), in place of busybox", Deps: []string{DebianNet}},
			key:  func() string { return recipe("recipes/alias.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.dockerBuild(ctx, LocalPathHelper, tag, recipe("recipes/alias.Dockerfile"), binaryImage{Base: MustTag(DebianNet)}, nil)
			},
		},
		{
			Info: Info{Name: NetCheck, Description: "a TCP listener and connector for network-policy probes, on scratch"},
			key:  func() string { return netcheckSpec().hash() + recipe("recipes/scratch-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, NetCheck, tag, netcheckSpec(), "netcheck", "recipes/scratch-binary.Dockerfile",
					binaryImage{Binary: "netcheck", Dir: "/usr/local/bin", Entrypoint: true})
			},
		},
		kindNodeImage(),
	}
	return slices.Concat(defs, platformDefinitions(), veleroDefinitions(), edgeDefinitions(), identityDefinitions())
}

// kubeImage is the image of one Kubernetes control-plane component, under
// the name kubeadm expects. kube-proxy runs on the Debian networking base.
func kubeImage(name string, onDebian bool) *image {
	im := &image{Info: Info{
		Name:        name,
		Description: name + " " + KubernetesVersion + " on scratch",
		Aliases:     []string{"registry.k8s.io/" + name + ":" + KubernetesVersion},
	}}
	df := "recipes/scratch-binary.Dockerfile"
	if onDebian {
		df = "recipes/debian-binary.Dockerfile"
		im.Description = name + " " + KubernetesVersion + " on " + DebianNet
		im.Deps = []string{DebianNet}
	}
	im.key = func() string { return kubernetesKey() + recipe(df) }
	im.build = func(ctx context.Context, b *builder, tag string) error {
		binDir, err := b.kubernetesBinaries(ctx)
		if err != nil {
			return err
		}
		data := binaryImage{Binary: name, Dir: "/usr/local/bin"}
		if onDebian {
			data.Base = MustTag(DebianNet)
		}
		return b.dockerBuild(ctx, name, tag, recipe(df), data, map[string]string{name: filepath.Join(binDir, name)})
	}
	return im
}

// goImage builds the Go binaries of spec and an image holding binary.
func (b *builder) goImage(ctx context.Context, name, tag string, spec goSpec, binary, dockerfile string, data binaryImage) error {
	binDir, err := b.goBuild(ctx, spec)
	if err != nil {
		return err
	}
	return b.dockerBuild(ctx, name, tag, recipe(dockerfile), data, map[string]string{binary: filepath.Join(binDir, binary)})
}

func etcdSpec() goSpec {
	return goSpec{
		name:     "etcd-" + EtcdVersion,
		requires: [][2]string{{etcdModule, "v" + EtcdVersion}},
		binaries: map[string]string{"etcd": etcdModule},
		ldflags:  "-s -w",
	}
}

func corednsSpec() goSpec {
	return goSpec{
		name:     "coredns-" + CoreDNSVersion,
		requires: [][2]string{{corednsModule, CoreDNSVersion}},
		binaries: map[string]string{"coredns": corednsModule},
		ldflags:  "-s -w",
	}
}

func kubeRouterSpec() goSpec {
	return goSpec{
		name:     "kube-router-" + KubeRouterVersion,
		requires: [][2]string{{KubeRouterModule, KubeRouterVersion}},
		binaries: map[string]string{"kube-router": KubeRouterModule + "/cmd/kube-router"},
		ldflags: fmt.Sprintf("-s -w -X %s/pkg/version.Version=%s -X %s/pkg/version.BuildDate=%s",
			KubeRouterModule, KubeRouterVersion, KubeRouterModule, buildDate),
	}
}

func localPathSpec() goSpec {
	return goSpec{
		name:     "local-path-provisioner-" + LocalPathVersion,
		requires: [][2]string{{LocalPathModule, LocalPathVersion}},
		binaries: map[string]string{"local-path-provisioner": LocalPathModule},
		ldflags:  "-s -w -X main.VERSION=" + LocalPathVersion,
	}
}

func netcheckSpec() goSpec {
	return goSpec{
		name:     "netcheck",
		files:    map[string]string{"main.go": recipe("netcheck/main.go")},
		binaries: map[string]string{"netcheck": "."},
		ldflags:  "-s -w",
	}
}

// debianImage is a Debian minbase root filesystem of suite with packages, finished by the
// customize hook at hookPath, imported with the Dockerfile instruction change.
func debianImage(name, description, suite string, packages []string, hookPath, change string) *image {
	return &image{
		Info: Info{Name: name, Description: description},
		key: func() string {
			return "suite " + suite + "\npackages " + strings.Join(packages, ",") + "\n" + recipe(hookPath)
		},
		build: func(ctx context.Context, b *builder, tag string) error {
			return b.rootfs(ctx, name, tag, suite, packages, recipe(hookPath), nil, []string{change})
		},
	}
}
