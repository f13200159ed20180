// Package elastic runs an Elasticsearch cluster for integration tests: master-eligible data nodes
// started as topology/platform/manifests/elasticsearch.yaml starts them, with their data on the
// container's filesystem so that it survives a kill.
package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"dpsim/images"
	"dpsim/internal/testservers"
)

// Port is the nodes' HTTP port.
const Port = 9200

type config struct {
	nodes int
	log   *slog.Logger
}

// Option changes a default of Run.
type Option func(*config)

// WithNodes sets the number of nodes (default 2).
func WithNodes(n int) Option { return func(c *config) { c.nodes = n } }

// WithLogger logs the cluster's start-up to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Cluster is a running Elasticsearch cluster; node i is "es-<i>".
type Cluster struct{ *testservers.Cluster }

// Run starts the nodes (default 2) concurrently and waits until each sees all of them in the
// cluster. On error it returns what it started, for Terminate.
func Run(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := config{nodes: 2}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.nodes < 1 {
		return nil, fmt.Errorf("elasticsearch: %d nodes", cfg.nodes)
	}
	tc, err := testservers.NewCluster(ctx, cfg.log, "elasticsearch", images.Elasticsearch)
	if err != nil {
		return nil, err
	}
	c := &Cluster{tc}
	var names, seeds []string
	for i := range cfg.nodes {
		names = append(names, "es-"+strconv.Itoa(i))
		seeds = append(seeds, tc.Addr(i))
	}
	specs := make([]testservers.NodeSpec, cfg.nodes)
	for i := range specs {
		specs[i] = testservers.NodeSpec{
			Name:  names[i],
			Index: i,
			Image: images.MustTag(images.Elasticsearch),
			Cmd: []string{
				"/usr/share/elasticsearch/bin/elasticsearch",
				"-Enode.name=" + names[i],
				"-Ecluster.name=" + tc.Name,
				"-Enetwork.host=0.0.0.0",
				"-Enetwork.publish_host=" + tc.Addr(i),
				"-Ediscovery.seed_hosts=" + strings.Join(seeds, ","),
				"-Ecluster.initial_master_nodes=" + strings.Join(names, ","),
				"-Expack.security.enabled=false",
				"-Enode.store.allow_mmap=false",
				"-Epath.data=/usr/share/elasticsearch/data", // the image's user owns it; /data would be root's
				"-Eaction.destructive_requires_name=false",
			},
			Env: map[string]string{"ES_JAVA_OPTS": "-Xms384m -Xmx384m " + images.JITOptions},
			// Ready once this node sees every node: after a restart, once it has rejoined.
			Ready: testservers.HTTPReady(Port, fmt.Sprintf("/_cluster/health?local=true&wait_for_nodes=%d&timeout=1s", cfg.nodes),
				fmt.Sprintf(`"number_of_nodes":%d`, cfg.nodes)),
		}
	}
	return c, tc.Start(ctx, specs...)
}

// URLs are the nodes' HTTP URLs, reachable from this host.
func (c *Cluster) URLs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, fmt.Sprintf("http://%s:%d", n.IP, Port))
	}
	return out
}

// NonMasterFault kills a node that is not the elected master (chosen at the kill) and restarts it.
// With 2 master-eligible nodes only one of them votes, so killing it stops the cluster; killing the
// other is the fault a replica tolerates.
func (c *Cluster) NonMasterFault() testservers.Fault {
	var victim *testservers.Node
	return testservers.Fault{
		Kill: func(ctx context.Context) error {
			n, err := c.nonMaster(ctx)
			if err != nil {
				return err
			}
			victim = n
			return n.Kill(ctx)
		},
		Restart: func(ctx context.Context) error {
			if victim == nil {
				return fmt.Errorf("elasticsearch: no node was killed")
			}
			return victim.Start(ctx)
		},
	}
}

// nonMaster is a node that is not the elected master.
func (c *Cluster) nonMaster(ctx context.Context) (*testservers.Node, error) {
	var master []struct {
		Node string `json:"node"`
	}
	for _, u := range c.URLs() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/_cat/master?format=json", nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		err = json.NewDecoder(res.Body).Decode(&master)
		res.Body.Close()
		if err == nil && len(master) == 1 {
			break
		}
	}
	if len(master) != 1 {
		return nil, fmt.Errorf("elasticsearch: no elected master")
	}
	for _, n := range c.Nodes {
		if n.Name != master[0].Node {
			return n, nil
		}
	}
	return nil, fmt.Errorf("elasticsearch: every node is the master %s", master[0].Node)
}

// Terminate removes the nodes and their network.
func (c *Cluster) Terminate(ctx context.Context) error {
	if c == nil {
		return nil
	}
	return c.Cluster.Terminate(ctx)
}
