package platform

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"dpsim/topology"
)

func render(t *testing.T, spec topology.Spec) []map[string]any {
	t.Helper()
	out, err := Tenant(spec, "tenant-a", Options{Images: map[string]string{"kafka": "k:1", "elasticsearch": "e:1", "agent": "a:1"}, StorageClass: "standard", IngressNamespace: "ingress",
		AgentConfig: func(tenant, ns string) ([]byte, error) { return []byte(`{"tenant": "` + tenant + `"}`), nil }})
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, out)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

func kinds(docs []map[string]any) map[string]int {
	n := map[string]int{}
	for _, d := range docs {
		n[d["kind"].(string)]++
	}
	return n
}

func TestTenantObjects(t *testing.T) {
	docs := render(t, topology.Default())
	k := kinds(docs)
	// Kafka, Elasticsearch, HDFS's namenode and datanodes; their services, the agent's config and HDFS's.
	if k["Namespace"] != 1 || k["StatefulSet"] != 4 || k["NetworkPolicy"] != 3 || k["Service"] != 6 || k["Deployment"] != 1 || k["ConfigMap"] != 3 {
		t.Fatalf("objects: %v", k)
	}
	for _, d := range docs {
		if d["kind"] == "StatefulSet" && d["metadata"].(map[string]any)["name"] != "hdfs-namenode" {
			spec := d["spec"].(map[string]any)
			if spec["replicas"] != 3 {
				t.Errorf("%v replicas %v", d["metadata"], spec["replicas"])
			}
		}
	}
}

func TestNoIsolationNoPolicies(t *testing.T) {
	spec := topology.Default()
	spec.Network.Isolation = "none"
	if n := kinds(render(t, spec))["NetworkPolicy"]; n != 0 {
		t.Fatalf("%d policies with isolation none", n)
	}
}

func TestSpreadIsPreferredWhenMembersOutnumberNodes(t *testing.T) {
	if !strings.Contains(spread("kafka", 3, 3), "required") || !strings.Contains(spread("kafka", 4, 3), "preferred") {
		t.Fatal("anti-affinity rule does not follow the member and node counts")
	}
}

func TestClusterIDIsAUUID(t *testing.T) {
	id := kafkaClusterID("dpsim", "tenant-a")
	if len(id) != 22 || id == kafkaClusterID("dpsim", "tenant-b") || id != kafkaClusterID("dpsim", "tenant-a") {
		t.Fatalf("cluster id %q", id)
	}
}

func TestExcludedComponentsOptOutOfVolumeBackup(t *testing.T) {
	spec := topology.Default()
	spec.Backup.ExcludeComponents = []string{"elasticsearch"}
	excluded := map[string]bool{}
	for _, d := range render(t, spec) {
		if d["kind"] != "StatefulSet" {
			continue
		}
		name := d["metadata"].(map[string]any)["name"].(string)
		meta := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		excluded[name] = ann["backup.velero.io/backup-volumes-excludes"] == "data"
	}
	if want := map[string]bool{"kafka": false, "es": true}; excluded["kafka"] != want["kafka"] || excluded["es"] != want["es"] {
		t.Fatalf("volume-backup opt-outs %v, want %v", excluded, want)
	}
}

func TestDataComponentsAreTheDeployedOnes(t *testing.T) {
	var names []string
	for _, c := range Components() {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, topology.DataComponents) {
		t.Fatalf("components %v, topology.DataComponents %v", names, topology.DataComponents)
	}
}

// configHashes maps each workload to its pod template's dpsim.io/config-hash.
func configHashes(t *testing.T, docs []map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range docs {
		switch d["kind"] {
		case "StatefulSet", "Deployment", "DaemonSet":
			tmpl := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
			ann, _ := tmpl["annotations"].(map[string]any)
			h, _ := ann["dpsim.io/config-hash"].(string)
			if h == "" {
				t.Errorf("%v: no dpsim.io/config-hash on its pod template", d["metadata"])
			}
			out[d["metadata"].(map[string]any)["name"].(string)] = h
		}
	}
	return out
}

// A change of the spec that reaches a component's ConfigMap changes the hash on its pod template
// (so its pods restart on a kept platform), and leaves the others alone.
func TestConfigHashFollowsTheFile(t *testing.T) {
	spec := topology.Default()
	before := configHashes(t, render(t, spec))
	spec.Kafka.MinInsyncReplicas = 1
	after := configHashes(t, render(t, spec))
	if before["kafka"] == after["kafka"] {
		t.Errorf("kafka's hash %s did not change with kafka.minInsyncReplicas", before["kafka"])
	}
	if before["elasticsearch"] != after["elasticsearch"] || before["hdfs-datanode"] != after["hdfs-datanode"] {
		t.Errorf("hashes of components the change does not reach changed: %v -> %v", before, after)
	}
}
