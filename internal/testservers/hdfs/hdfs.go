// Package hdfs runs HDFS for integration tests: one namenode and datanodes configured as
// topology/platform/manifests/hdfs.yaml configures them, with their data on the containers'
// filesystems. Datanodes register with the host names the platform's pods have
// (hdfs-datanode-<i>), which the namenode hands to WebHDFS clients in redirects; they resolve on the
// cluster's network only, so clients on this host dial through DialContext.
package hdfs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"dpsim/images"
	"dpsim/internal/testservers"
)

// HTTPPort is the namenode's HTTP (WebHDFS) port.
const HTTPPort = 9870

// siteXML is the platform's hdfs-site.xml, with dfs.replication and dfs.namenode.replication.min
// of its default spec (2 and 2).
const siteXML = `<?xml version="1.0"?>
<configuration>
  <property><name>dfs.namenode.name.dir</name><value>file:///data/data</value></property>
  <property><name>dfs.datanode.data.dir</name><value>file:///data/data</value></property>
  <property><name>dfs.namenode.rpc-bind-host</name><value>0.0.0.0</value></property>
  <property><name>dfs.namenode.http-bind-host</name><value>0.0.0.0</value></property>
  <property><name>dfs.replication</name><value>2</value></property>
  <property><name>dfs.namenode.replication.min</name><value>2</value></property>
  <property><name>dfs.namenode.datanode.registration.ip-hostname-check</name><value>false</value></property>
  <property><name>dfs.client.block.write.replace-datanode-on-failure.policy</name><value>ALWAYS</value></property>
  <property><name>dfs.namenode.avoid.write.stale.datanode</name><value>true</value></property>
  <property><name>dfs.namenode.avoid.read.stale.datanode</name><value>true</value></property>
  <property><name>dfs.namenode.heartbeat.recheck-interval</name><value>30000</value></property>
  <property><name>dfs.permissions.enabled</name><value>false</value></property>
  <property><name>dfs.webhdfs.enabled</name><value>true</value></property>
</configuration>
`

const coreXML = `<?xml version="1.0"?>
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://%s:8020</value></property>
</configuration>
`

const log4j = `log4j.rootLogger=WARN,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
`

// namenodeScript formats the namenode's metadata on its first start only, then runs it.
const namenodeScript = `#!/bin/sh
set -eu
if [ ! -f /data/data/current/VERSION ]; then
  java @/opt/hadoop/java.args "$@" org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive
fi
exec java @/opt/hadoop/java.args "$@" org.apache.hadoop.hdfs.server.namenode.NameNode
`

type config struct {
	datanodes int
	log       *slog.Logger
}

// Option changes a default of Run.
type Option func(*config)

// WithDatanodes sets the number of datanodes (default 3: replication 2 holds with one down).
func WithDatanodes(n int) Option { return func(c *config) { c.datanodes = n } }

// WithLogger logs the cluster's start-up to l.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Cluster is a running HDFS: node "hdfs-namenode-0" and datanodes "hdfs-datanode-<i>".
type Cluster struct{ *testservers.Cluster }

// Run starts the namenode and the datanodes (default 3) concurrently and waits until each datanode
// has registered. On error it returns what it started, for Terminate.
func Run(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := config{datanodes: 3}
	for _, o := range opts {
		o(&cfg)
	}
	tc, err := testservers.NewCluster(ctx, cfg.log, "hdfs", images.HDFS)
	if err != nil {
		return nil, err
	}
	c := &Cluster{tc}
	image := images.MustTag(images.HDFS)
	files := map[string]string{
		"/etc/hadoop/core-site.xml":    fmt.Sprintf(coreXML, tc.Addr(0)),
		"/etc/hadoop/hdfs-site.xml":    siteXML,
		"/etc/hadoop/log4j.properties": log4j,
		"/etc/hadoop/namenode.sh":      namenodeScript,
	}
	specs := []testservers.NodeSpec{{
		Name:  "hdfs-namenode-0",
		Image: image,
		Cmd:   []string{"/bin/sh", "/etc/hadoop/namenode.sh", "-Xmx192m", images.JITOptions},
		Files: files,
		Ready: testservers.HTTPReady(HTTPPort, "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo", `"Safemode"`),
	}}
	for i := range cfg.datanodes {
		name := "hdfs-datanode-" + strconv.Itoa(i)
		specs = append(specs, testservers.NodeSpec{
			Name:  name,
			Index: i + 1,
			Image: image,
			Cmd: []string{"java", "@/opt/hadoop/java.args", "-Xmx128m", images.JITOptions, "org.apache.hadoop.hdfs.server.datanode.DataNode",
				"-Ddfs.datanode.hostname=" + name},
			Files: files,
			// Ready once registered with the namenode (its block pool service running).
			Ready: testservers.HTTPReady(9864, "/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo", `ActorState\":\"RUNNING`),
		})
	}
	return c, tc.Start(ctx, specs...)
}

// NameNode is the namenode's HTTP URL, reachable from this host.
func (c *Cluster) NameNode() string { return fmt.Sprintf("http://%s:%d", c.Addr(0), HTTPPort) }

// Datanode is datanode i's node.
func (c *Cluster) Datanode(i int) *testservers.Node {
	return c.Node("hdfs-datanode-" + strconv.Itoa(i))
}

// DialContext dials addr, a node's name (as the namenode's redirects give it) taken for its address.
func (c *Cluster) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if n := c.Node(host); n != nil {
			addr = net.JoinHostPort(n.IP, port)
		}
	}
	return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, addr)
}

// Terminate removes the nodes and their network.
func (c *Cluster) Terminate(ctx context.Context) error {
	if c == nil {
		return nil
	}
	return c.Cluster.Terminate(ctx)
}
