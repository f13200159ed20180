package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// DefaultCacheDir holds build directories and built binaries.
const DefaultCacheDir = "/var/cache/dpsim/build"

// builder runs the steps of image builds.
type builder struct {
	log      *slog.Logger
	cacheDir string
	docker   string
	force    bool // the image being built was asked for with Force
	memo     map[string]string
}

func newBuilder(logger *slog.Logger, opts Options) *builder {
	b := &builder{log: logger, cacheDir: opts.CacheDir, docker: opts.Docker, memo: map[string]string{}}
	if b.cacheDir == "" {
		b.cacheDir = DefaultCacheDir
	}
	if b.docker == "" {
		b.docker = "docker"
	}
	return b
}

// lock takes an exclusive lock on the cache dir, so that concurrent builds
// (two test binaries, a test and `make images`) wait for each other instead
// of writing the same build directories.
func (b *builder) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(b.cacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock cache dir: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock cache dir: %w", err)
		}
		if !logged {
			b.log.Info("waiting for another image build to finish", "lock", f.Name())
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// cmdOpts are the optional parts of a command run.
type cmdOpts struct {
	dir    string
	env    []string
	stdin  io.Reader
	stdout io.Writer
}

// run runs a command; its error carries the tail of the command's output.
func (b *builder) run(ctx context.Context, o cmdOpts, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin = o.stdin
	var out tailBuffer
	if o.stdout != nil {
		cmd.Stdout = o.stdout
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = &out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w%s", filepath.Base(name), strings.Join(shorten(args), " "), err, out.suffix())
	}
	return nil
}

// output runs a command and returns its standard output.
func (b *builder) output(ctx context.Context, o cmdOpts, name string, args ...string) ([]byte, error) {
	var buf bytes.Buffer
	o.stdout = &buf
	err := b.run(ctx, o, name, args...)
	return buf.Bytes(), err
}

func shorten(args []string) []string {
	if len(args) <= 8 {
		return args
	}
	return append(append([]string{}, args[:8]...), "…")
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) suffix() string {
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return "\n" + s
}

func (b *builder) imageExists(ctx context.Context, tag string) (bool, error) {
	cmd := exec.CommandContext(ctx, b.docker, "image", "inspect", "--format", "{{.Id}}", tag)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(strings.ToLower(stderr.String()), "no such image") {
			return false, nil
		}
		return false, fmt.Errorf("docker image inspect %s: %w: %s", tag, err, strings.TrimSpace(stderr.String()))
	}
	return true, nil
}

// dockerBuild builds tag from a Dockerfile template rendered with data and a
// context holding files (context name -> path on the host).
func (b *builder) dockerBuild(ctx context.Context, name, tag, dockerfile string, data any, files map[string]string) error {
	t, err := template.New(name).Option("missingkey=error").Parse(dockerfile)
	if err != nil {
		return fmt.Errorf("parse Dockerfile: %w", err)
	}
	var df bytes.Buffer
	if err := t.Execute(&df, data); err != nil {
		return fmt.Errorf("render Dockerfile: %w", err)
	}
	dir, err := os.MkdirTemp(b.dir("tmp"), "context-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df.Bytes(), 0o644); err != nil {
		return err
	}
	for ctxName, src := range files {
		if err := copyFile(src, filepath.Join(dir, ctxName)); err != nil {
			return err
		}
	}
	return b.run(ctx, cmdOpts{env: []string{"DOCKER_BUILDKIT=0"}}, b.docker,
		"build", "--quiet", "--label", LabelRecipe+"="+name, "-t", tag, dir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dir returns a directory under the cache dir, creating it.
func (b *builder) dir(parts ...string) string {
	d := filepath.Join(append([]string{b.cacheDir}, parts...)...)
	_ = os.MkdirAll(d, 0o755)
	return d
}

// cached runs make once per cache directory root: a finished run leaves root/.done, and later
// calls (in this process or later ones) find it unless Force is set. make gets a fresh, empty root.
func (b *builder) cached(root string, make func() error) error {
	done := filepath.Join(root, ".done")
	if b.memo[root] != "" {
		return nil
	}
	if _, err := os.Stat(done); err == nil && !b.force {
		b.memo[root] = root
		return nil
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := make(); err != nil {
		return err
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return err
	}
	b.memo[root] = root
	return nil
}

// rootfs builds a Debian root filesystem with mmdebstrap and imports it as tag.
// hook is a customize-hook script, called with the root directory and hookArgs.
func (b *builder) rootfs(ctx context.Context, name, tag, suite string, packages []string, hook string, hookArgs []string, changes []string) error {
	work, err := os.MkdirTemp(b.dir("tmp"), "rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	hookPath := filepath.Join(work, "hook.sh")
	if err := os.WriteFile(hookPath, []byte(hook), 0o755); err != nil {
		return err
	}
	hookCmd := shellQuote(hookPath) + ` "$1"`
	for _, a := range hookArgs {
		hookCmd += " " + shellQuote(a)
	}
	tarPath := filepath.Join(work, "rootfs.tar")
	start := time.Now()
	args := []string{"--variant=minbase", "--mode=root", "--format=tar",
		"--include=" + strings.Join(packages, ","),
		"--customize-hook=" + hookCmd,
		suite, tarPath}
	if err := b.run(ctx, cmdOpts{}, "mmdebstrap", args...); err != nil {
		return err
	}
	st, err := os.Stat(tarPath)
	if err != nil {
		return err
	}
	b.log.Info("rootfs made", "image", name, "size_mb", st.Size()>>20, "elapsed", time.Since(start).Round(time.Second).String())
	importArgs := []string{"import", "--change", "LABEL " + LabelRecipe + "=" + name}
	for _, c := range changes {
		importArgs = append(importArgs, "--change", c)
	}
	importArgs = append(importArgs, tarPath, tag)
	return b.run(ctx, cmdOpts{}, b.docker, importArgs...)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// moduleDir returns the module cache directory of module@version,
// downloading it through the Go module proxy if needed.
func (b *builder) moduleDir(ctx context.Context, module, version string) (string, error) {
	key := "mod " + module + "@" + version
	if d, ok := b.memo[key]; ok {
		return d, nil
	}
	d, err := ModuleDir(ctx, module, version)
	if err != nil {
		return "", err
	}
	b.memo[key] = d
	return d, nil
}

// ModuleDir returns the Go module cache directory of module@version,
// downloading it through the Go module proxy if needed. Files there are read
// only.
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", module, version, err, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory in %q", module, version, out)
	}
	return info.Dir, nil
}

// moduleSource copies module@version's source from the module cache into src (writable: the
// build may update go.sum), without what would change how it builds (vendor, go.work).
func (b *builder) moduleSource(ctx context.Context, module, version, src string) error {
	modDir, err := b.moduleDir(ctx, module, version)
	if err != nil {
		return err
	}
	if err := copyTree(modDir, src, func(rel string) bool {
		return rel == "vendor" || rel == "go.work" || rel == "go.work.sum"
	}); err != nil {
		return fmt.Errorf("copy %s: %w", modDir, err)
	}
	return nil
}

// goEnv is the environment of every Go build: static binaries, the local
// toolchain only.
var goEnv = []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod -trimpath -buildvcs=false", "GOWORK=off"}

// goSpec describes Go binaries built in a temporary wrapper module.
type goSpec struct {
	// name names the build directory.
	name string
	// inModule, when set, is the module@version whose own source (a copy, its go.mod and replaces
	// as published) the binaries are built in, instead of a wrapper module.
	inModule [2]string
	// requires are "module version" pairs the wrapper module requires.
	requires [][2]string
	// replaces are go.mod replace lines, e.g. "a/b => a/b v1.2.3".
	replaces []string
	// files are source files written into the wrapper module.
	files map[string]string
	// binaries maps output binary name to the package it is built from.
	binaries map[string]string
	// ldflags are passed to every go build.
	ldflags string
}

func (s goSpec) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n%q\n%q\n%s\n", s.name, s.requires, s.replaces, s.binaries, s.ldflags)
	if s.inModule[0] != "" {
		fmt.Fprintf(h, "in module %q\n", s.inModule)
	}
	for _, k := range sortedKeys(s.files) {
		fmt.Fprintf(h, "file %s\n%s\n", k, s.files[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// goBuild builds the binaries of s (once per recipe; kept in the cache dir)
// and returns the directory holding them.
func (b *builder) goBuild(ctx context.Context, s goSpec) (string, error) {
	root := filepath.Join(b.cacheDir, "go", s.name+"-"+s.hash())
	binDir := filepath.Join(root, "bin")
	return binDir, b.cached(root, func() error {
		start := time.Now()
		src := filepath.Join(root, "src")
		if s.inModule[0] != "" {
			if err := b.moduleSource(ctx, s.inModule[0], s.inModule[1], src); err != nil {
				return err
			}
		} else if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		} else if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module dpsim.local/build/"+s.name+"\n\ngo 1.26\n"), 0o644); err != nil {
			return err
		}
		for name, content := range s.files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
		o := cmdOpts{dir: src, env: goEnv}
		for _, r := range s.requires {
			if err := b.run(ctx, o, "go", "mod", "edit", "-require="+r[0]+"@"+r[1]); err != nil {
				return err
			}
		}
		for _, r := range s.replaces {
			old, nw, ok := strings.Cut(r, "=>")
			if !ok {
				return fmt.Errorf("bad replace %q", r)
			}
			arg := strings.TrimSpace(old) + "=" + strings.Join(strings.Fields(nw), "@")
			if err := b.run(ctx, o, "go", "mod", "edit", "-replace="+arg); err != nil {
				return err
			}
		}
		if err := b.buildBinaries(ctx, o, binDir, s.binaries, s.ldflags); err != nil {
			return err
		}
		_ = os.RemoveAll(src) // only needed for the build
		b.log.Info("go binaries built", "build", s.name, "binaries", strings.Join(sortedKeys(s.binaries), ","), "elapsed", time.Since(start).Round(time.Second).String())
		return nil
	})
}

func (b *builder) buildBinaries(ctx context.Context, o cmdOpts, binDir string, binaries map[string]string, ldflags string) error {
	for _, out := range sortedKeys(binaries) {
		args := []string{"build", "-o", filepath.Join(binDir, out)}
		if ldflags != "" {
			args = append(args, "-ldflags="+ldflags)
		}
		args = append(args, binaries[out])
		if err := b.run(ctx, o, "go", args...); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
