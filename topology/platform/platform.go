// Package platform renders the Kubernetes objects of the platform from a spec: per tenant a
// namespace with Kafka (combined KRaft broker/controllers) and Elasticsearch as StatefulSets on
// local volumes, spread over nodes and zones, and the NetworkPolicies that isolate the tenant.
// It only renders; a provider applies the result.
package platform

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"dpsim/images"
	"dpsim/topology"
)

//go:embed manifests/*.yaml
var manifestFS embed.FS

var templates = template.Must(template.New("platform").Option("missingkey=error").Funcs(template.FuncMap{
	"spread":   spread,
	"jit":      func() string { return images.JITOptions },
	"excluded": func(component string, excluded []string) bool { return slices.Contains(excluded, component) },
}).ParseFS(manifestFS, "manifests/*.yaml"))

// Options are what a provider decides besides the spec.
type Options struct {
	// Images are the image tags by recipe name (Component.Image, AgentImage).
	Images           map[string]string
	StorageClass     string
	IngressNamespace string
	// AgentConfig renders the agent's configuration (JSON) for a tenant; nil deploys no agent.
	AgentConfig func(tenant, namespace string) ([]byte, error)
	// Identity says the identity provider is deployed: the tenants' APIs then check tokens.
	Identity bool
	// Revision names what the agent works against beyond its configuration (the object store's
	// instance): a new revision restarts the agent, so it holds no state of a store that is gone.
	Revision string
}

// Namespace is the namespace of a tenant.
func Namespace(tenant string) string { return topology.TenantNamespace(tenant) }

// tenantData is what the templates see.
type tenantData struct {
	topology.Spec
	Options
	Tenant, Namespace, Platform string
	MinInsync                   int
	InternalReplication         int
	InternalMinInsync           int
	KafkaVoters, KafkaClusterID string
	ESMasters                   string
	AgentConfigJSON             string
	// ConfigHash is the hash of the file being rendered (see renderHashed).
	ConfigHash string
}

// Tenant renders every object of one tenant as a multi-document YAML stream, in apply order.
func Tenant(spec topology.Spec, tenant string, opts Options) (string, error) {
	ns := Namespace(tenant)
	d := tenantData{
		Spec: spec, Options: opts, Tenant: tenant, Namespace: ns, Platform: spec.Name,
		MinInsync:           spec.EffectiveMinInsync(),
		InternalReplication: min(3, spec.Kafka.Brokers),
		InternalMinInsync:   min(2, spec.Kafka.Brokers),
		KafkaClusterID:      kafkaClusterID(spec.Name, tenant),
	}
	var voters, masters []string
	for i := range spec.Kafka.Brokers {
		voters = append(voters, fmt.Sprintf("%d@kafka-%d.kafka.%s.svc.cluster.local:9093", i, i, ns))
	}
	for i := range spec.Elasticsearch.Nodes {
		masters = append(masters, fmt.Sprintf("es-%d", i))
	}
	d.KafkaVoters, d.ESMasters = strings.Join(voters, ","), strings.Join(masters, ",")
	files := []string{"namespace.yaml"}
	for _, c := range Components() {
		files = append(files, c.Manifest)
	}
	if spec.Network.Isolation == "namespace" {
		files = append(files, "policies.yaml")
	}
	if opts.AgentConfig != nil {
		cfg, err := opts.AgentConfig(tenant, ns)
		if err != nil {
			return "", fmt.Errorf("agent configuration of tenant %s: %w", tenant, err)
		}
		d.AgentConfigJSON = string(cfg)
		files = append(files, "agent.yaml")
	}
	var out bytes.Buffer
	for _, f := range files {
		out.WriteString("---\n")
		if err := renderHashed(&out, f, func(hash string) any { d.ConfigHash = hash; return d }); err != nil {
			return "", fmt.Errorf("render %s for tenant %s: %w", f, tenant, err)
		}
	}
	return out.String(), nil
}

// renderHashed renders the template name into w with the data withHash gives for a configuration
// hash: first with an empty hash, then with the hash of that rendering. A pod template annotated
// with it (dpsim.io/config-hash) changes whenever anything else the file renders does, a ConfigMap
// mounted into its pods included, so a spec that changes a kept platform's configuration restarts
// the pods that read it, and a pod still running an older configuration can be told apart.
func renderHashed(w *bytes.Buffer, name string, withHash func(hash string) any) error {
	var first bytes.Buffer
	if err := templates.ExecuteTemplate(&first, name, withHash("")); err != nil {
		return err
	}
	sum := sha256.Sum256(first.Bytes())
	return templates.ExecuteTemplate(w, name, withHash(hex.EncodeToString(sum[:8])))
}

// OutsideNamespace is the namespace of the prober that belongs to no tenant.
const OutsideNamespace = "dpsim-outside"

// IsolationSelector selects the NetworkPolicies that isolate a tenant (policies.yaml): a kept
// platform re-applied without isolation deletes them, as the manifests no longer hold them.
const IsolationSelector = "dpsim.io/isolation=namespace"

// Outside renders the prober outside every tenant (namespace and deployment "prober").
func Outside(opts Options) (string, error) {
	var out bytes.Buffer
	out.WriteString("---\n")
	if err := templates.ExecuteTemplate(&out, "outside.yaml", struct {
		Options
		Namespace string
	}{opts, OutsideNamespace}); err != nil {
		return "", fmt.Errorf("render the outside prober: %w", err)
	}
	return out.String(), nil
}

// kafkaClusterID derives the KRaft cluster id (a base64url UUID) from the platform and tenant, so a
// broker that lost its drive is formatted back into the same cluster.
func kafkaClusterID(platform, tenant string) string {
	sum := sha256.Sum256([]byte(platform + "/" + tenant))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// spread renders the pod-spec scheduling rules of app's members: one per node (required when there
// are enough nodes, so one node loss takes at most one copy; preferred otherwise, and DP-DUR-1 then
// shows the shared nodes) and an even spread over zones.
func spread(app string, members, nodes int) string {
	rule := `requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector:
                matchLabels: {app: %[1]s}
              topologyKey: kubernetes.io/hostname`
	if members > nodes {
		rule = `preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                labelSelector:
                  matchLabels: {app: %[1]s}
                topologyKey: kubernetes.io/hostname`
	}
	return fmt.Sprintf(`      affinity:
        podAntiAffinity:
          `+rule+`
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {app: %[1]s}`, app)
}
