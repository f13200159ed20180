package images

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
)

func TestCatalogueIsConsistent(t *testing.T) {
	cat := Catalogue()
	if len(cat) == 0 {
		t.Fatal("empty catalogue")
	}
	names := map[string]bool{}
	for _, im := range cat {
		names[im.Name] = true
	}
	for _, want := range []string{KindNode, KubeRouter, LocalPathProvisioner, LocalPathHelper, NetCheck} {
		if !names[want] {
			t.Errorf("catalogue lacks %s", want)
		}
	}
	for _, im := range cat {
		for _, d := range im.Deps {
			if !names[d] {
				t.Errorf("%s depends on unknown %s", im.Name, d)
			}
		}
		if im.Description == "" {
			t.Errorf("%s has no description", im.Name)
		}
	}
}

func TestTagsAreStableAndDistinct(t *testing.T) {
	re := regexp.MustCompile(`^dpsim/[a-z0-9-]+:[0-9a-f]{16}$`)
	seen := map[string]string{}
	for _, im := range Catalogue() {
		a, err := Tag(im.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Tag(im.Name)
		if a != b {
			t.Errorf("%s: tag not stable: %s vs %s", im.Name, a, b)
		}
		if !re.MatchString(a) {
			t.Errorf("%s: tag %q has the wrong form", im.Name, a)
		}
		if other, ok := seen[a]; ok {
			t.Errorf("%s and %s share tag %s", im.Name, other, a)
		}
		seen[a] = im.Name
	}
	if _, err := Tag("no-such-image"); err == nil {
		t.Error("Tag of an unknown image succeeded")
	}
}

func TestTagFollowsDependencies(t *testing.T) {
	// The node image's tag must change when a component it carries changes.
	before := MustTag(KindNode)
	im := entries()[KubeRouter]
	orig := im.key
	im.key = func() string { return orig() + "changed" }
	defer func() { im.key = orig }()
	if MustTag(KindNode) == before {
		t.Error("kind-node tag did not change with kube-router's recipe")
	}
	if MustTag(Etcd) != MustTag(Etcd) {
		t.Error("unrelated tag changed")
	}
}

func TestBuildOrderPutsDependenciesFirst(t *testing.T) {
	order, err := buildOrder([]string{KindNode})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		if _, dup := pos[n]; dup {
			t.Errorf("%s twice in %v", n, order)
		}
		pos[n] = i
	}
	if order[len(order)-1] != KindNode {
		t.Errorf("last = %s, want %s", order[len(order)-1], KindNode)
	}
	for _, n := range order {
		for _, d := range entries()[n].Deps {
			if pos[d] > pos[n] {
				t.Errorf("%s built before its dependency %s", n, d)
			}
		}
	}
	if _, err := buildOrder([]string{"bogus"}); err == nil {
		t.Error("unknown name accepted")
	}
}

func TestDockerfilesRender(t *testing.T) {
	tests := []struct {
		file string
		data binaryImage
		want []string
	}{
		{"recipes/scratch-binary.Dockerfile", binaryImage{Binary: "etcd", Dir: "/usr/local/bin"},
			[]string{"FROM scratch", "COPY etcd /usr/local/bin/etcd", "ENV PATH=/usr/local/bin"}},
		{"recipes/scratch-binary.Dockerfile", binaryImage{Binary: "coredns", Entrypoint: true},
			[]string{"COPY coredns /coredns", `ENTRYPOINT ["/coredns"]`}},
		{"recipes/debian-binary.Dockerfile", binaryImage{Base: "dpsim/debian-net:x", Binary: "kube-router", Dir: "/usr/local/bin", Entrypoint: true},
			[]string{"FROM dpsim/debian-net:x", `ENTRYPOINT ["/usr/local/bin/kube-router"]`}},
		{"recipes/kind-node.Dockerfile", binaryImage{Base: "dpsim/build-kind-node:x"},
			[]string{"FROM dpsim/build-kind-node:x", "STOPSIGNAL SIGRTMIN+3"}},
		{"recipes/hdfs.Dockerfile", binaryImage{Base: "dpsim/debian-java:x"},
			[]string{"FROM dpsim/debian-java:x", "ADD hdfs-libs.tar /opt/hadoop/", "/opt/hadoop/webapps/hdfs", "/opt/hadoop/webapps/datanode",
				"'/etc/hadoop:/opt/hadoop:/opt/hadoop/libs/*'", "--add-opens=java.base/java.util.zip=ALL-UNNAMED", "> /opt/hadoop/java.args"}},
		{"recipes/velero.Dockerfile", binaryImage{Base: "dpsim/debian-net:x"},
			[]string{"FROM dpsim/debian-net:x", "COPY velero /velero", "COPY velero-restore-helper /velero-restore-helper", `ENTRYPOINT ["/velero"]`}},
		{"recipes/velero-plugin.Dockerfile", binaryImage{Binary: "velero-plugin-for-aws"},
			[]string{"FROM scratch", "COPY velero-plugin-for-aws /plugins/velero-plugin-for-aws",
				`ENTRYPOINT ["/bin/cp-plugin", "/plugins/velero-plugin-for-aws", "/target/velero-plugin-for-aws"]`}},
	}
	for _, tt := range tests {
		tmpl := template.Must(template.New(tt.file).Option("missingkey=error").Parse(recipe(tt.file)))
		var out bytes.Buffer
		if err := tmpl.Execute(&out, tt.data); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: missing %q in:\n%s", tt.file, w, out.String())
			}
		}
		if strings.Contains(out.String(), "PATH=\n") {
			t.Errorf("%s: empty PATH in:\n%s", tt.file, out.String())
		}
	}
}

func TestKubernetesLDFlagsStampBothVersionPackages(t *testing.T) {
	fl := kubernetesLDFlags()
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/client-go/pkg/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/client-go/pkg/version.gitMinor=36",
	} {
		if !strings.Contains(fl, want) {
			t.Errorf("ldflags lack %q: %s", want, fl)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := map[string]string{
		"dpsim/netcheck:abc":                 "docker.io/dpsim/netcheck:abc",
		"registry.k8s.io/pause:3.10":         "registry.k8s.io/pause:3.10",
		"registry.k8s.io/coredns/coredns:v1": "registry.k8s.io/coredns/coredns:v1",
		"busybox:1":                          "docker.io/library/busybox:1",
		"localhost/x:1":                      "localhost/x:1",
	}
	for in, want := range tests {
		if got := normalizeRef(in); got != want {
			t.Errorf("normalizeRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNodeCarriesKubeadmNames(t *testing.T) {
	var aliases []string
	for _, n := range kindNodeComponents {
		aliases = append(aliases, entries()[n].Aliases...)
	}
	for _, want := range []string{
		"registry.k8s.io/kube-apiserver:" + KubernetesVersion,
		"registry.k8s.io/kube-proxy:" + KubernetesVersion,
		"registry.k8s.io/etcd:3.6.8-0",
		"registry.k8s.io/coredns/coredns:v1.14.2",
		"registry.k8s.io/pause:3.10",
	} {
		if !slices.Contains(aliases, want) {
			t.Errorf("node image lacks %s (has %v)", want, aliases)
		}
	}
}

func TestCachedRunsOnceAndAgainWhenForced(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	make := func() error { runs++; return nil }
	b := newBuilder(nil, Options{CacheDir: dir})
	root := filepath.Join(dir, "step")
	for range 2 {
		if err := b.cached(root, make); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Fatalf("ran %d times in one builder, want 1", runs)
	}
	if err := newBuilder(nil, Options{CacheDir: dir}).cached(root, make); err != nil || runs != 1 {
		t.Fatalf("a later builder ran the finished step again (%d runs, %v)", runs, err)
	}
	forced := newBuilder(nil, Options{CacheDir: dir})
	forced.force = true // set per image asked for with Options.Force
	if err := forced.cached(root, make); err != nil || runs != 2 {
		t.Fatalf("Force did not run the step again (%d runs, %v)", runs, err)
	}
	failing := newBuilder(nil, Options{CacheDir: dir})
	if err := failing.cached(filepath.Join(dir, "broken"), func() error { return os.ErrInvalid }); err == nil {
		t.Fatal("a failed step reported success")
	}
	if _, err := os.Stat(filepath.Join(dir, "broken", ".done")); err == nil {
		t.Fatal("a failed step was marked done")
	}
}

func TestVeleroBuildStampsVersionAndRepeatsReplaces(t *testing.T) {
	s := veleroSpec()
	if !strings.Contains(s.ldflags, "github.com/vmware-tanzu/velero/pkg/buildinfo.Version="+VeleroVersion) {
		t.Errorf("ldflags %q do not stamp the version (the install would default to velero/velero:latest)", s.ldflags)
	}
	for _, want := range []string{"github.com/kopia/kopia => github.com/project-velero/kopia", "k8s.io/cli-runtime => k8s.io/cli-runtime v0.33.13"} {
		if !slices.ContainsFunc(s.replaces, func(r string) bool { return strings.HasPrefix(r, want) }) {
			t.Errorf("replaces %q lack %q", s.replaces, want)
		}
	}
	if s.binaries["velero"] == "" || s.binaries["velero-restore-helper"] == "" {
		t.Errorf("binaries %v, want velero and velero-restore-helper", s.binaries)
	}
	if p := veleroPluginAWSSpec().binaries; p["velero-plugin-for-aws"] == "" || p["cp-plugin"] == "" {
		t.Errorf("plugin binaries %v, want the plugin and its copier", p)
	}
}
