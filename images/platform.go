package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The platform's images: what runs in the tenants' namespaces and beside the cluster.
const (
	DebianJava    = "debian-java"
	Kafka         = "kafka"
	Elasticsearch = "elasticsearch"
	HDFS          = "hdfs"
	MinIO         = "minio"
	Agent         = "agent"
)

// Pinned versions of the platform's stores.
const (
	KafkaVersion         = "4.1.2"
	Log4jVersion         = "2.24.3"
	ElasticsearchVersion = "8.19.21"
	HadoopVersion        = "3.4.3"
	MinIOModule          = "github.com/minio/minio"
	MinIOVersion         = "v0.0.0-20260212201848-7aac2a2c5b7c"
)

// JITOptions are the JVM options every Java server of the platform and of the tests starts with
// (Kafka, Elasticsearch, HDFS, Keycloak): the client compiler only. Their start is what a 2-core
// host spends its time on (twenty JVMs at once); an Elasticsearch node's start took 26-29 CPU
// seconds with both compilers and 15-17 with C1 alone, and the workloads are too small for C2's
// code to matter.
const JITOptions = "-XX:TieredStopAtLevel=1"

// debianJavaPackages make the base of the Java stores (Kafka 4.x, Elasticsearch 8.x and Hadoop 3.4 run on 17).
var debianJavaPackages = []string{"openjdk-17-jre-headless", "ca-certificates", "procps", "passwd"}

// AgentBinaryEnv names the environment variable that points at the dpsim binary to put into the agent
// image; by default it is the running executable (tests that run from a test binary set it).
const AgentBinaryEnv = "DPSIM_AGENT_BINARY"

// AgentBinary is the dpsim binary the agent image carries.
func AgentBinary() string {
	if p := os.Getenv(AgentBinaryEnv); p != "" {
		return p
	}
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}

// fileDigest is the sha256 of a file, or of the error reading it (so a missing file changes the tag).
func fileDigest(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unreadable " + path + ": " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable " + path + ": " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// mavenArtifacts are what the Java images are assembled from.
var (
	kafkaArtifacts = []string{"org.apache.kafka:kafka_2.13:" + KafkaVersion, "org.apache.logging.log4j:log4j-slf4j-impl:" + Log4jVersion}
	// hadoop-hdfs marks hadoop-common and hadoop-hdfs-client provided: they are named here.
	hdfsArtifacts = []string{
		"org.apache.hadoop:hadoop-hdfs:" + HadoopVersion,
		"org.apache.hadoop:hadoop-common:" + HadoopVersion,
		"org.apache.hadoop:hadoop-hdfs-client:" + HadoopVersion,
	}
	esArtifact = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:" + ElasticsearchVersion + ":zip"
)

func platformDefinitions() []*image {
	return []*image{
		debianImage(DebianJava, "Debian minbase with OpenJDK 17 (JRE)", DebianSuite, debianJavaPackages, "recipes/debian.hook.sh", `CMD ["/bin/bash"]`),
		{
			Info: Info{Name: Kafka, Description: "Apache Kafka " + KafkaVersion + " (KRaft) from Maven Central on " + DebianJava, Deps: []string{DebianJava}},
			key: func() string {
				return strings.Join(kafkaArtifacts, "\n") + "\n" + recipe("recipes/kafka.Dockerfile")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.javaLibsImage(ctx, Kafka, tag, "kafka-"+KafkaVersion, kafkaArtifacts, "recipes/kafka.Dockerfile", "kafka-libs.tar")
			},
		},
		{
			Info: Info{Name: HDFS, Description: "Apache Hadoop " + HadoopVersion + " HDFS (namenode, datanode, tools) from Maven Central on " + DebianJava, Deps: []string{DebianJava}},
			key: func() string {
				return strings.Join(hdfsArtifacts, "\n") + "\n" + recipe("recipes/hdfs.Dockerfile")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.javaLibsImage(ctx, HDFS, tag, "hadoop-"+HadoopVersion, hdfsArtifacts, "recipes/hdfs.Dockerfile", "hdfs-libs.tar")
			},
		},
		{
			Info: Info{Name: Elasticsearch, Description: "Elasticsearch " + ElasticsearchVersion + " (Maven Central's runnable archive) on " + DebianJava, Deps: []string{DebianJava}},
			key: func() string {
				return esArtifact + "\n" + recipe("recipes/elasticsearch.Dockerfile") + recipe("recipes/nofile.c")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				nofile, err := b.compileShared(ctx, "nofile", recipe("recipes/nofile.c"))
				if err != nil {
					return err
				}
				return b.mavenArchiveImage(ctx, Elasticsearch, tag, "elasticsearch-"+ElasticsearchVersion, esArtifact,
					"recipes/elasticsearch.Dockerfile", DebianJava, map[string]string{"nofile.so": nofile})
			},
		},
		{
			Info: Info{Name: MinIO, Description: "MinIO server (" + MinIOVersion + ") on " + DebianNet, Deps: []string{DebianNet}},
			key:  func() string { return minioSpec().hash() + recipe("recipes/debian-binary.Dockerfile") },
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.goImage(ctx, MinIO, tag, minioSpec(), "minio", "recipes/debian-binary.Dockerfile",
					binaryImage{Base: MustTag(DebianNet), Binary: "minio", Dir: "/usr/local/bin", Entrypoint: true})
			},
		},
		{
			Info: Info{Name: Agent, Description: "the dpsim agent: this dpsim binary on " + DebianNet, Deps: []string{DebianNet}},
			key: func() string {
				return "binary " + fileDigest(AgentBinary()) + "\n" + recipe("recipes/debian-binary.Dockerfile")
			},
			build: func(ctx context.Context, b *builder, tag string) error {
				return b.dockerBuild(ctx, Agent, tag, recipe("recipes/debian-binary.Dockerfile"),
					binaryImage{Base: MustTag(DebianNet), Binary: "dpsim", Dir: "/usr/local/bin", Entrypoint: true},
					map[string]string{"dpsim": AgentBinary()})
			},
		},
	}
}

// mavenArchiveImage builds image name from recipePath on base, with the zip artifact (fetched
// from Maven Central and unpacked under cache) added as the tar file name.tar holding name/, and
// the extra files.
func (b *builder) mavenArchiveImage(ctx context.Context, name, tag, cache, artifact, recipePath, base string, extra map[string]string) error {
	home, err := b.mavenArchive(ctx, cache, artifact)
	if err != nil {
		return err
	}
	archive, err := b.tarDir(home, name)
	if err != nil {
		return err
	}
	defer os.Remove(archive)
	files := map[string]string{name + ".tar": archive}
	maps.Copy(files, extra)
	return b.dockerBuild(ctx, name, tag, recipe(recipePath), binaryImage{Base: MustTag(base)}, files)
}

// javaLibsImage builds image name on DebianJava from recipe, with artifacts and their runtime
// dependencies (resolved under cache name) added as the tar file libsTar holding libs/.
func (b *builder) javaLibsImage(ctx context.Context, name, tag, cache string, artifacts []string, recipePath, libsTar string) error {
	libs, err := b.mavenDependencies(ctx, cache, artifacts)
	if err != nil {
		return err
	}
	archive, err := b.tarDir(libs, "libs")
	if err != nil {
		return err
	}
	defer os.Remove(archive)
	return b.dockerBuild(ctx, name, tag, recipe(recipePath), binaryImage{Base: MustTag(DebianJava)}, map[string]string{libsTar: archive})
}

func minioSpec() goSpec {
	return goSpec{
		name:     "minio-" + MinIOVersion,
		requires: [][2]string{{MinIOModule, MinIOVersion}},
		binaries: map[string]string{"minio": MinIOModule},
		ldflags:  "-s -w",
	}
}

// compileShared compiles one C source into a shared library (for LD_PRELOAD) in the cache.
func (b *builder) compileShared(ctx context.Context, name, source string) (string, error) {
	dir := b.dir("c", name+"-"+shortHash(source))
	src, out := filepath.Join(dir, name+".c"), filepath.Join(dir, name+".so")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		return "", err
	}
	if err := b.run(ctx, cmdOpts{}, "gcc", "-shared", "-fPIC", "-O2", "-o", out, src, "-ldl"); err != nil {
		return "", fmt.Errorf("compile %s (is gcc with libc6-dev installed? make deps): %w", name, err)
	}
	return out, nil
}

// mavenDependencies resolves artifacts with their runtime dependencies from Maven Central into a
// cached directory of jars (once per artifact list) and returns it.
func (b *builder) mavenDependencies(ctx context.Context, name string, artifacts []string) (string, error) {
	var deps strings.Builder
	for _, a := range artifacts {
		parts := strings.Split(a, ":")
		if len(parts) != 3 {
			return "", fmt.Errorf("maven artifact %q: want group:artifact:version", a)
		}
		fmt.Fprintf(&deps, "<dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>", parts[0], parts[1], parts[2])
	}
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dpsim.local</groupId><artifactId>` + name + `</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>` + deps.String() + `</dependencies></project>`
	return b.maven(ctx, name, pom, "dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory=out")
}

// mavenArchive fetches one zip artifact from Maven Central and unpacks it; it returns the directory
// the archive holds (its single top-level directory).
func (b *builder) mavenArchive(ctx context.Context, name, artifact string) (string, error) {
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>dpsim.local</groupId><artifactId>` + name + `</artifactId><version>1</version><packaging>pom</packaging></project>`
	dir, err := b.maven(ctx, name, pom, "dependency:unpack", "-Dartifact="+artifact, "-DoutputDirectory=out")
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) != 1 || !entries[0].IsDir() {
		return "", fmt.Errorf("maven archive %s: want one top-level directory, found %d entries", artifact, len(entries))
	}
	return filepath.Join(dir, entries[0].Name()), nil
}

// maven runs one Maven goal on pom in a cached work directory keyed by the pom and goal, and
// returns the work directory's out/ (done once; later calls find it).
func (b *builder) maven(ctx context.Context, name, pom string, goal ...string) (string, error) {
	sum := sha256.Sum256([]byte(pom + strings.Join(goal, " ")))
	root := filepath.Join(b.cacheDir, "maven", name+"-"+hex.EncodeToString(sum[:8]))
	return filepath.Join(root, "out"), b.cached(root, func() error {
		if err := os.WriteFile(filepath.Join(root, "pom.xml"), []byte(pom), 0o644); err != nil {
			return err
		}
		start := time.Now()
		if err := b.run(ctx, cmdOpts{dir: root}, "mvn", append([]string{"-q", "-B"}, goal...)...); err != nil {
			return fmt.Errorf("maven %s: %w", name, err)
		}
		b.log.Info("maven artifacts fetched", "build", name, "elapsed", time.Since(start).Round(time.Second).String())
		return nil
	})
}

// tarDir packs directory src into a tar archive whose entries sit under prefix/, in the cache's
// tmp directory, for a Dockerfile's ADD to unpack.
func (b *builder) tarDir(src, prefix string) (string, error) {
	f, err := os.CreateTemp(b.dir("tmp"), prefix+"-*.tar")
	if err != nil {
		return "", err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(filepath.Join(prefix, rel))
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(tw, in)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("pack %s: %w", src, err)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}
