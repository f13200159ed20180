package kind

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestParseResults(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"errors":{"velero":["repo down"]},"warnings":{"cluster":["crd skipped"],"namespaces":{"tenant-b":["w2"],"tenant-a":["w1"]}}}`))
	zw.Close()
	got, err := parseResults(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"error: velero: repo down", "warning: cluster: crd skipped", "warning: tenant-a: w1", "warning: tenant-b: w2"}
	if !slices.Equal(got, want) {
		t.Fatalf("results %q, want %q", got, want)
	}
	if _, err := parseResults([]byte("not gzip")); err == nil {
		t.Fatal("a file that is not gzip parsed")
	}
}

func TestComponentOfClaim(t *testing.T) {
	tests := []struct {
		name, app, want string
	}{
		{"data-kafka-0", "kafka", "kafka"},
		{"data-es-2", "elasticsearch", "elasticsearch"},
		{"data-es-1", "", "elasticsearch"}, // by name when the label is missing
		{"scratch", "other", "other"},
	}
	for _, tt := range tests {
		var c claim
		c.Metadata.Name = tt.name
		if tt.app != "" {
			c.Metadata.Labels = map[string]string{"app": tt.app}
		}
		if got := componentOf(c); got != tt.want {
			t.Errorf("componentOf(%s, app=%q) = %q, want %q", tt.name, tt.app, got, tt.want)
		}
	}
}

func TestBackupPhases(t *testing.T) {
	for phase, want := range map[string]bool{"Completed": true, "PartiallyFailed": true, "Failed": true, "FailedValidation": true,
		"": false, "New": false, "InProgress": false, "WaitingForPluginOperations": false, "Finalizing": false} {
		if terminalBackup(phase) != want {
			t.Errorf("terminalBackup(%q) = %v, want %v", phase, !want, want)
		}
	}
}

// node-agent reads its concurrency from the one entry of the ConfigMap, as JSON (Velero's
// nodeagent.GetConfigs takes any key's value).
func TestNodeAgentConfig(t *testing.T) {
	docs := strings.Split(nodeAgentConfig(), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the namespace and the ConfigMap", len(docs))
	}
	var cm struct {
		Kind     string
		Metadata struct{ Name, Namespace string }
		Data     map[string]string
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Name != veleroNodeAgentConfig || cm.Metadata.Namespace != veleroNamespace || len(cm.Data) != 1 {
		t.Fatalf("config map %+v", cm)
	}
	for _, v := range cm.Data {
		var c struct {
			LoadConcurrency struct{ GlobalConfig int } `json:"loadConcurrency"`
		}
		if err := json.Unmarshal([]byte(v), &c); err != nil || c.LoadConcurrency.GlobalConfig != veleroNodeCopies {
			t.Fatalf("node-agent config %q: %+v, %v", v, c, err)
		}
	}
}
