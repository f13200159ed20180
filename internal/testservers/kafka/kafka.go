// Package kafka runs a Kafka cluster for integration tests: brokers in KRaft combined mode
// (broker and controller in one process), each started as topology/platform/manifests/kafka.yaml
// starts them, with its log dir on the container's filesystem so that it survives a kill.
package kafka

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"dpsim/images"
	"dpsim/internal/testservers"
)

// Port is the brokers' client port.
const Port = 9092

// startScript writes the broker's configuration, formats its log dir on first start only and runs
// the broker: the platform's start.sh with addresses in place of the pods' DNS names.
const startScript = `#!/bin/sh
set -eu
data=/var/lib/kafka/data/data
mkdir -p "${data}"
cat > /tmp/server.properties <<PROPS
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=${VOTERS}
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://${ADDRESS}:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${data}
default.replication.factor=${REPLICATION}
min.insync.replicas=${MIN_INSYNC}
offsets.topic.replication.factor=${INTERNAL_REPLICATION}
transaction.state.log.replication.factor=${INTERNAL_REPLICATION}
transaction.state.log.min.isr=${MIN_INSYNC}
unclean.leader.election.enable=false
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
replica.lag.time.max.ms=10000
PROPS
if [ ! -f "${data}/meta.properties" ]; then
  java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format --ignore-formatted -t "${CLUSTER_ID}" -c /tmp/server.properties
fi
exec java ${KAFKA_HEAP_OPTS} -Dlog4j2.configurationFile=/opt/kafka-config/log4j2.properties -cp '/opt/kafka/libs/*' kafka.Kafka /tmp/server.properties
`

const log4j2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
`

type config struct {
	brokers, replication, minInsync int
	log                             *slog.Logger
}

// Option changes a default of Run.
type Option func(*config)

// WithBrokers sets the number of brokers (default 3).
func WithBrokers(n int) Option { return func(c *config) { c.brokers = n } }

// WithLogger logs the cluster's start-up to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Cluster is a running Kafka cluster; broker i is node "kafka-<i>" with node.id i.
type Cluster struct{ *testservers.Cluster }

// Run starts the brokers (default 3, default.replication.factor 2, min.insync.replicas 2, as the
// platform's default spec) concurrently and waits until each takes connections. On error it returns
// what it started, for Terminate.
func Run(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := config{brokers: 3, replication: 2, minInsync: 2}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.brokers < 1 {
		return nil, fmt.Errorf("kafka: %d brokers", cfg.brokers)
	}
	tc, err := testservers.NewCluster(ctx, cfg.log, "kafka", images.Kafka)
	if err != nil {
		return nil, err
	}
	c := &Cluster{tc}
	id := make([]byte, 16)
	rand.Read(id)
	voters := make([]string, cfg.brokers)
	for i := range voters {
		voters[i] = fmt.Sprintf("%d@%s:9093", i, tc.Addr(i))
	}
	specs := make([]testservers.NodeSpec, cfg.brokers)
	for i := range specs {
		specs[i] = testservers.NodeSpec{
			Name:  "kafka-" + strconv.Itoa(i),
			Index: i,
			Image: images.MustTag(images.Kafka),
			Cmd:   []string{"/bin/sh", "/opt/kafka-config/start.sh"},
			Env: map[string]string{
				"NODE_ID":              strconv.Itoa(i),
				"ADDRESS":              tc.Addr(i),
				"VOTERS":               strings.Join(voters, ","),
				"CLUSTER_ID":           base64.RawURLEncoding.EncodeToString(id),
				"REPLICATION":          strconv.Itoa(min(cfg.replication, cfg.brokers)),
				"MIN_INSYNC":           strconv.Itoa(min(cfg.minInsync, cfg.brokers)),
				"INTERNAL_REPLICATION": strconv.Itoa(min(3, cfg.brokers)),
				"KAFKA_HEAP_OPTS":      "-Xms256m -Xmx256m " + images.JITOptions,
			},
			Files: map[string]string{"/opt/kafka-config/start.sh": startScript, "/opt/kafka-config/log4j2.properties": log4j2},
			Ready: testservers.TCPReady(Port),
		}
	}
	return c, tc.Start(ctx, specs...)
}

// Brokers are the bootstrap servers, host:port, reachable from this host.
func (c *Cluster) Brokers() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, fmt.Sprintf("%s:%d", n.IP, Port))
	}
	return out
}

// Broker is broker i's node.
func (c *Cluster) Broker(i int) *testservers.Node { return c.Node("kafka-" + strconv.Itoa(i)) }

// Terminate removes the brokers and their network.
func (c *Cluster) Terminate(ctx context.Context) error {
	if c == nil {
		return nil
	}
	return c.Cluster.Terminate(ctx)
}
