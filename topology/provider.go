package topology

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Provider realises a Spec on a substrate (in memory, a kind cluster, ...). Everything beyond
// bringing the platform up and down is an optional capability: a separate small interface found by
// type assertion, so a scenario that needs one the provider lacks is skipped with that reason.
type Provider interface {
	// Name is the provider's name as users select it ("fake", "kind").
	Name() string
	// Up stands the platform of spec up; it returns once every component is ready.
	Up(ctx context.Context, spec Spec) error
	// Down tears down everything Up made. It is safe to call after a failed or partial Up.
	Down(ctx context.Context) error
	// Nodes lists the platform's nodes.
	Nodes(ctx context.Context) ([]Node, error)
}

// Node is one machine of the platform.
type Node struct {
	Name  string `json:"name"`
	Zone  string `json:"zone"`
	Ready bool   `json:"ready"`
}

// Planner is a provider told, before Up, what the run's scenarios need, so that it stands up
// only that (the kind platform deploys its ingress only for the scenarios that probe it).
type Planner interface {
	Plan(needs []Capability)
}

// Capability names an optional provider interface; it is what a skipped scenario says it lacked.
type Capability string

// The optional capabilities.
const (
	CapInventory    Capability = "inventory"        // Inventory
	CapStores       Capability = "data-stores"      // StoreAccess
	CapNodeKill     Capability = "node-kill"        // NodeKiller
	CapDriveLoss    Capability = "drive-loss"       // DriveDropper
	CapDriveOffline Capability = "drive-offline"    // DriveOffliner
	CapPartition    Capability = "partition"        // Partitioner
	CapIngress      Capability = "ingress-tls"      // Ingress
	CapBackup       Capability = "backup"           // Backups
	CapOffboarding  Capability = "offboarding"      // Offboarder
	CapIsolation    Capability = "isolation"        // IsolationProber
	CapExposure     Capability = "exposure"         // ExposureScanner
	CapOIDC         Capability = "oidc"             // OIDCSite
	CapPasswords    Capability = "password-storage" // PasswordStore
	CapEncryption   Capability = "encryption-at-rest"
)

// Has reports whether p offers capability c.
func Has(p Provider, c Capability) bool {
	var ok bool
	switch c {
	case CapInventory:
		_, ok = p.(Inventory)
	case CapStores:
		_, ok = p.(StoreAccess)
	case CapNodeKill:
		_, ok = p.(NodeKiller)
	case CapDriveLoss:
		_, ok = p.(DriveDropper)
	case CapDriveOffline:
		_, ok = p.(DriveOffliner)
	case CapPartition:
		_, ok = p.(Partitioner)
	case CapIsolation:
		_, ok = p.(IsolationProber)
	case CapIngress:
		_, ok = p.(Ingress)
	case CapExposure:
		_, ok = p.(ExposureScanner)
	case CapEncryption:
		_, ok = p.(AtRestScanner)
	case CapPasswords:
		_, ok = p.(PasswordStore)
	case CapOIDC:
		_, ok = p.(OIDCSite)
	case CapBackup:
		_, ok = p.(Backups)
	case CapOffboarding:
		_, ok = p.(Offboarder)
	}
	return ok
}

// Component is one data-storing component of one tenant and where its members run.
type Component struct {
	Tenant  string   `json:"tenant"`
	Name    string   `json:"name"` // kafka, elasticsearch, objectstore
	Kind    Kind     `json:"kind"`
	Members []Member `json:"members"`
}

// Member is one broker, node or drive server of a component.
type Member struct {
	Name string `json:"name"`
	Node string `json:"node"`
	Zone string `json:"zone"`
	// MetadataOnly marks a member that keeps the component's metadata but none of its records
	// (HDFS's namenode): DP-DUR-1 counts the others' nodes and names it apart.
	MetadataOnly bool `json:"metadataOnly,omitempty"`
}

// Kind is the family of a data store; checkers treat each family by its own rules.
type Kind string

// The store kinds.
const (
	KindLog      Kind = "log"      // Kafka
	KindDocument Kind = "document" // Elasticsearch
	KindObject   Kind = "object"   // S3 / MinIO
	KindFile     Kind = "file"     // HDFS (StackGraph's storage)
)

// TellsCopies says whether a write's acknowledgement in this family comes with how many copies the
// record had (Ack.Copies): every family but the erasure-coded object store, whose parts are not
// copies.
func (k Kind) TellsCopies() bool { return k != KindObject }

// Inventory reports the data components and their placement (topology inspection).
type Inventory interface {
	Components(ctx context.Context) ([]Component, error)
}

// Drive is one data volume on one node.
type Drive struct {
	Node      string `json:"node"`
	Name      string `json:"name"`
	Component string `json:"component"`
	Tenant    string `json:"tenant,omitempty"`
	// MetadataOnly marks the volume of a metadata-only member (Member.MetadataOnly): drive loss
	// wipes data drives, not this one.
	MetadataOnly bool `json:"metadataOnly,omitempty"`
}

// NodeKiller stops and restarts nodes.
type NodeKiller interface {
	// KillNode stops node and returns evidence, observed on the substrate, that it is down (its
	// container stopped); an empty string is no evidence.
	KillNode(ctx context.Context, node string) (string, error)
	RestartNode(ctx context.Context, node string) error
}

// DriveDropper wipes drives. RestoreDrive brings the drive back empty.
type DriveDropper interface {
	Drives(ctx context.Context) ([]Drive, error)
	// DropDrive destroys d and returns evidence of what was destroyed (a volume and its id).
	DropDrive(ctx context.Context, d Drive) (string, error)
	// RestoreDrive waits until d's member runs again on an empty drive and returns evidence that the
	// drive is a new one (a new volume id, an empty drive).
	RestoreDrive(ctx context.Context, d Drive) (string, error)
}

// DriveOffliner takes drives offline without destroying them (their server stopped) and brings
// them back with their data: how a fault beyond what a store tolerates is shown without losing
// the store for good.
type DriveOffliner interface {
	// OfflineDrive takes d offline and returns evidence that it is (its server stopped).
	OfflineDrive(ctx context.Context, d Drive) (string, error)
	// OnlineDrive brings d back with its data and returns evidence that it serves again.
	OnlineDrive(ctx context.Context, d Drive) (string, error)
}

// Partitioner cuts a node off from every other node and heals the cut.
type Partitioner interface {
	Isolate(ctx context.Context, node string) error
	// Heal removes every cut and returns evidence that the cuts were in force (packets they dropped).
	Heal(ctx context.Context) (string, error)
}

// Settler waits until the platform has recovered from faults (replicas back in sync, pods ready,
// the object store healed). The caller bounds the wait with ctx; a store that cannot recover is then
// judged, not waited on, so the error names what did not settle.
type Settler interface {
	Settle(ctx context.Context) error
}

// Ingress is the single entry point of the platform, reachable over TLS.
type Ingress interface {
	IngressEndpoint(ctx context.Context) (IngressEndpoint, error)
}

// IngressEndpoint is how the ingress is reached: its TLS listener, each tenant's host name at it,
// and the certificate authority its certificates must chain to.
type IngressEndpoint struct {
	Address string // host:port of the TLS listener
	// PlainAddress is host:port of the plain-HTTP listener ("": Address's host, port 80).
	PlainAddress string
	Hosts        map[string]string // tenant -> host name (Spec.TenantHost)
	RootCAs      []byte            // PEM: the platform's CA certificates
}

// Clock tells time. Providers that simulate time (the fake) offer their own so runs are repeatable.
type Clock interface {
	Now() time.Time
}

// Observer is a provider that can tell what the platform did during a fault: data-store members
// not ready, pods pending on a lost volume, containers restarted. Each note is one line.
type Observer interface {
	Observe(ctx context.Context) ([]string, error)
}

// Versioned is a provider that names the software it stood up (and, on kind, the NetworkPolicy
// engine in force), for the report.
type Versioned interface {
	Versions() map[string]string
}

// Preexisting is a provider that can tell whether Up found its platform already up (stood up by
// `dpsim up` or kept by an earlier run), so that a run leaves it as it found it.
type Preexisting interface {
	Preexisting() bool
}

// Degraded is a provider that stood the platform up without some of its parts (an add-on or a
// component that never became ready): it maps each capability those parts serve to why it is
// missing (the diagnosis, and where the evidence was saved). A scenario that needs one is `error`
// with that reason, and the rest of the run is judged on what could be stood up.
type Degraded interface {
	Unavailable() map[Capability]string
}

// EvidenceCollector saves what explains a failure (the pods' logs and events, what is not ready
// and why, the nodes' conditions) into dir, before anything is torn down. since bounds the logs to
// what was written from then on (zero: all of them).
type EvidenceCollector interface {
	CollectEvidence(ctx context.Context, dir string, since time.Time) error
}

// Clocked is a provider with its own clock.
type Clocked interface {
	Clock() Clock
}

// Client is an HTTP client that reaches every host name at the ingress: TLS connections go to
// Address and are verified against RootCAs for the URL's host; plain HTTP goes to PlainAddress. It follows no redirect, so a redirect is an answer to judge.
func (e IngressEndpoint) Client() (*http.Client, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(e.RootCAs) {
		return nil, errors.New("ingress: no CA certificate in its root CAs")
	}
	host, _, err := net.SplitHostPort(e.Address)
	if err != nil {
		return nil, fmt.Errorf("ingress address %q: %w", e.Address, err)
	}
	plain := e.PlainAddress
	if plain == "" {
		plain = net.JoinHostPort(host, "80")
	}
	var d net.Dialer
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if _, p, _ := net.SplitHostPort(addr); p == "443" {
					return d.DialContext(ctx, network, e.Address)
				}
				return d.DialContext(ctx, network, plain)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
