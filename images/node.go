package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// kindNodeComponents are the images kubeadm runs, imported into the node
// under the names kubeadm expects (their Aliases).
var kindNodeComponents = []string{KubeAPIServer, KubeControllerManager, KubeScheduler, KubeProxy, Etcd, CoreDNS, Pause}

func kindNodeImage() *image {
	deps := append([]string{KindBase}, kindNodeComponents...)
	deps = append(deps, ClusterImages...)
	return &image{
		Info: Info{
			Name: KindNode,
			Description: "kind node image: Kubernetes " + KubernetesVersion + " binaries on " + KindBase +
				", the control-plane images in containerd's k8s.io namespace, and the cluster add-on images",
			Deps: deps,
		},
		key: func() string {
			return kubernetesKey() + "\nnode binaries kubeadm,kubelet,kubectl\n" + recipe("recipes/default-storage.yaml") +
				recipe("recipes/kind-node.Dockerfile") + "\n" + strings.Join(kindNodeChanges, "\n") + "\nimport --all-platforms --no-unpack --digests\n"
		},
		build: buildKindNode,
	}
}

// buildKindNode assembles the node image: a container of kind-base gets the
// Kubernetes binaries, runs containerd, has every component and add-on image
// imported into its k8s.io namespace, and is committed.
func buildKindNode(ctx context.Context, b *builder, tag string) error {
	binDir, err := b.kubernetesBinaries(ctx)
	if err != nil {
		return err
	}
	container := "dpsim-build-kind-node-" + tag[strings.LastIndex(tag, ":")+1:]
	_ = b.run(ctx, cmdOpts{}, b.docker, "rm", "-f", container)
	defer func() {
		// A fresh context: the build's may be cancelled.
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = b.run(c, cmdOpts{}, b.docker, "rm", "-f", container)
	}()
	if err := b.run(ctx, cmdOpts{}, b.docker, "create", "--privileged", "--name", container,
		"--entrypoint", "/usr/bin/containerd", MustTag(KindBase)); err != nil {
		return err
	}

	var files bytes.Buffer
	tw := tar.NewWriter(&files)
	for _, bin := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := addFileToTar(tw, filepath.Join(binDir, bin), "usr/bin/"+bin, 0o755); err != nil {
			return err
		}
	}
	if err := addBytesToTar(tw, "kind/version", []byte(KubernetesVersion+"\n"), 0o644); err != nil {
		return err
	}
	if err := addBytesToTar(tw, "kind/manifests/default-storage.yaml", []byte(recipe("recipes/default-storage.yaml")), 0o644); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := b.run(ctx, cmdOpts{stdin: &files}, b.docker, "cp", "-", container+":/"); err != nil {
		return err
	}
	if err := b.run(ctx, cmdOpts{}, b.docker, "start", container); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := b.run(ctx, cmdOpts{}, b.docker, "exec", container, "ctr", "version")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd in the build container did not answer within 60 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}

	// Name every image as the node will ask for it.
	var refs []string
	for _, name := range append(append([]string{}, kindNodeComponents...), ClusterImages...) {
		t := MustTag(name)
		refs = append(refs, t)
		for _, alias := range entries()[name].Aliases {
			if err := b.run(ctx, cmdOpts{}, b.docker, "tag", t, alias); err != nil {
				return err
			}
			refs = append(refs, alias)
		}
	}
	if err := b.importImages(ctx, container, refs); err != nil {
		return err
	}
	out, err := b.output(ctx, cmdOpts{}, b.docker, "exec", container, "ctr", "-n", "k8s.io", "images", "ls", "-q")
	if err != nil {
		return err
	}
	have := strings.Fields(string(out))
	for _, r := range refs {
		if !slices.Contains(have, normalizeRef(r)) {
			return fmt.Errorf("image %s missing from the node's containerd after import (have %s)", r, strings.Join(have, ", "))
		}
	}
	if err := b.run(ctx, cmdOpts{}, b.docker, "stop", "-t", "30", container); err != nil {
		return err
	}
	args := []string{"commit", "--change", "LABEL " + LabelRecipe + "=" + KindNode}
	for _, c := range kindNodeChanges {
		args = append(args, "--change", c)
	}
	committed := Repository + "build-" + KindNode + ":" + tag[strings.LastIndex(tag, ":")+1:]
	args = append(args, container, committed)
	if err := b.run(ctx, cmdOpts{}, b.docker, args...); err != nil {
		return err
	}
	if err := b.dockerBuild(ctx, KindNode, tag, recipe("recipes/kind-node.Dockerfile"), binaryImage{Base: committed}, nil); err != nil {
		return err
	}
	// The committed image stays as the parent of tag; only its name goes.
	return b.run(ctx, cmdOpts{}, b.docker, "rmi", committed)
}

// importImages streams `docker save refs` into containerd's k8s.io namespace
// inside container.
func (b *builder) importImages(ctx context.Context, container string, refs []string) error {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := b.run(ctx, cmdOpts{stdout: pw}, b.docker, append([]string{"save"}, refs...)...)
		pw.CloseWithError(err)
		errc <- err
	}()
	err := b.run(ctx, cmdOpts{stdin: pr}, b.docker, "exec", "-i", container,
		"ctr", "-n", "k8s.io", "images", "import", "--all-platforms", "--no-unpack", "--digests", "-")
	pr.CloseWithError(io.ErrClosedPipe)
	if serr := <-errc; serr != nil && err == nil {
		err = serr
	}
	return err
}

// normalizeRef returns the fully qualified form containerd stores a
// reference under ("dpsim/x:t" -> "docker.io/dpsim/x:t").
func normalizeRef(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	if !found {
		return "docker.io/library/" + ref
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return ref
	}
	return "docker.io/" + ref
}

func addFileToTar(tw *tar.Writer, src, name string, mode int64) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return addBytesToTar(tw, name, data, mode)
}

func addBytesToTar(tw *tar.Writer, name string, data []byte, mode int64) error {
	hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:16]
}

func nopLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
