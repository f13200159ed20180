package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// kubernetesBinaryNames are the binaries built from k8s.io/kubernetes.
var kubernetesBinaryNames = []string{
	"kubelet", "kubeadm", "kubectl",
	"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
}

// buildDate is stamped into binaries; fixed so that builds repeat.
const buildDate = "2026-01-01T00:00:00Z"

// kubernetesLDFlags stamp the version on both version packages; kubeadm's
// checks fail on an unstamped build.
func kubernetesLDFlags() string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(KubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	var fl []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		for k, v := range map[string]string{
			"gitVersion":   KubernetesVersion,
			"gitMajor":     major,
			"gitMinor":     minor,
			"gitCommit":    "0000000000000000000000000000000000000000",
			"gitTreeState": "clean",
			"buildDate":    buildDate,
		} {
			fl = append(fl, "-X "+pkg+"."+k+"="+v)
		}
	}
	slices.Sort(fl)
	return "-s -w " + strings.Join(fl, " ")
}

// kubernetesKey identifies a Kubernetes binaries build.
func kubernetesKey() string {
	return fmt.Sprintf("kubernetes %s staging %s\nbinaries %s\nldflags %s\n",
		KubernetesVersion, kubeStagingVersion, strings.Join(kubernetesBinaryNames, ","), kubernetesLDFlags())
}

// kubernetesBinaries builds the Kubernetes binaries from the k8s.io/kubernetes
// module (its staging replaces pointed at the published k8s.io/* modules) and
// returns the directory holding them. The build is kept in the cache dir.
func (b *builder) kubernetesBinaries(ctx context.Context) (string, error) {
	root := filepath.Join(b.cacheDir, "kubernetes-"+KubernetesVersion+"-"+shortHash(kubernetesKey()))
	binDir := filepath.Join(root, "bin")
	return binDir, b.cached(root, func() error { return b.buildKubernetes(ctx, root, binDir) })
}

// buildKubernetes builds the Kubernetes binaries into binDir, working in root.
func (b *builder) buildKubernetes(ctx context.Context, root, binDir string) error {
	start := time.Now()
	src := filepath.Join(root, "src")
	if err := b.moduleSource(ctx, kubernetesModule, KubernetesVersion, src); err != nil {
		return err
	}
	o := cmdOpts{dir: src, env: goEnv}
	out, err := b.output(ctx, o, "go", "mod", "edit", "-json")
	if err != nil {
		return err
	}
	var mod struct {
		Replace []struct{ Old, New struct{ Path string } }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("parse kubernetes go.mod: %w", err)
	}
	args := []string{"mod", "edit"}
	for _, r := range mod.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			args = append(args, "-replace="+r.Old.Path+"="+r.Old.Path+"@"+kubeStagingVersion)
		}
	}
	if len(args) == 2 {
		return fmt.Errorf("kubernetes %s go.mod has no staging replaces", KubernetesVersion)
	}
	if err := b.run(ctx, o, "go", args...); err != nil {
		return err
	}
	b.log.Info("building kubernetes binaries (about 6.5 min cold on 2 cores)", "version", KubernetesVersion, "replaced", len(args)-2)
	bins := map[string]string{}
	for _, n := range kubernetesBinaryNames {
		bins[n] = "./cmd/" + n
	}
	if err := b.buildBinaries(ctx, o, binDir, bins, kubernetesLDFlags()); err != nil {
		return err
	}
	// The source copy is only needed for the build.
	_ = os.RemoveAll(src)
	b.log.Info("kubernetes binaries built", "version", KubernetesVersion, "elapsed", time.Since(start).Round(time.Second).String())
	return nil
}

// KubernetesBinary returns the path of one of the Kubernetes binaries (for
// instance "kubectl"), building them if needed.
func KubernetesBinary(ctx context.Context, name string, opts Options) (string, error) {
	b := newBuilder(nopLogger(), opts)
	unlock, err := b.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	dir, err := b.kubernetesBinaries(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// pauseCFlags are the compiler flags of the pause binary (as Kubernetes' own
// build/pause/Makefile sets them).
var pauseCFlags = []string{"-Os", "-Wall", "-Werror", "-static", "-DVERSION=v" + PauseVersion + "-dpsim"}

// pause compiles the pause binary with the host's C compiler.
func (b *builder) pause(ctx context.Context) (string, error) {
	modDir, err := b.moduleDir(ctx, kubernetesModule, KubernetesVersion)
	if err != nil {
		return "", err
	}
	dir := b.dir("pause-" + PauseVersion + "-" + shortHash(strings.Join(pauseCFlags, " ")))
	out := filepath.Join(dir, "pause")
	args := append(append([]string{}, pauseCFlags...), "-o", out, filepath.Join(modDir, "build", "pause", "linux", "pause.c"))
	if err := b.run(ctx, cmdOpts{}, "gcc", args...); err != nil {
		return "", fmt.Errorf("compile pause (is gcc with libc6-dev installed? make deps): %w", err)
	}
	return out, nil
}

// copyTree copies the directory tree src to dst (files writable), leaving
// out the top-level entries for which skip is true.
func copyTree(src, dst string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm()|0o200)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return nil
	})
}
