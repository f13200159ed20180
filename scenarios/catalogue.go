package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"dpsim/topology"
)

// DefaultTraffic is the workload of the durability scenarios.
var DefaultTraffic = Traffic{WritesPerPhase: 400, FaultWrites: 2000, FaultSeconds: 30, FaultRate: 3000, FaultInFlight: 2000, ValueBytes: 64}

// Catalogue returns every scenario in run order.
func Catalogue() []Scenario {
	durability := func(name, desc string, f Fault, invariants ...Invariant) Scenario {
		invariants = append([]Invariant{topologyInvariant(), placementInvariant()}, invariants...)
		return Scenario{
			Name: name, Description: desc, Fault: f, Traffic: &DefaultTraffic,
			Controls:   controlsOf(invariants),
			Needs:      append([]topology.Capability{topology.CapInventory, topology.CapStores}, f.Needs()...),
			Invariants: invariants,
		}
	}
	backup := func(name, desc string, d Drill, needs []topology.Capability, invariants ...Invariant) Scenario {
		sc := Scenario{Name: name, Description: desc, Drill: d, Controls: controlsOf(invariants),
			Needs: append([]topology.Capability{topology.CapInventory, topology.CapBackup}, needs...), Invariants: invariants}
		if slices.Contains(needs, topology.CapStores) {
			sc.Traffic = &DefaultTraffic // sizes the drill's writes
		}
		return sc
	}
	return []Scenario{
		durability("node-kill", "stop one node while tenants write to every store; start it again and read everything back",
			NodeKill{}, ledgerInvariant("DP-DUR-3", maxLostOnNode), recoveryInvariant("DP-DUR-3")),
		durability("drive-loss", "wipe one drive of every store on one node; it comes back empty and must re-sync",
			DriveLoss{}, ledgerInvariant("DP-DUR-4", maxLostOnDrive), recoveryInvariant("DP-DUR-4")),
		durability("zone-loss", "stop every node of one availability zone, then bring the zone back",
			ZoneLoss{}, ledgerInvariant("DP-DUR-5", maxLostOnZone), zoneOutageInvariant(), zoneSpreadInvariant()),
		durability("partition", "cut one node off from every other node, then heal the cut",
			Partition{}, ledgerInvariant("DP-DUR-3", maxLostOnNode), recoveryInvariant("DP-DUR-3")),
		backup("backup-restore", "write a ledger, back every tenant up from its schedule, destroy the first tenant, restore it and judge it against the ledger",
			BackupRestore{}, []topology.Capability{topology.CapStores}, scheduleInvariant(), coverageInvariant(), restoreInvariant("DP-BAK-2")),
		backup("backup-retention", "make a backup that expires within a minute and one that does not; the first must vanish from the backup system and the bucket",
			BackupRetention{}, nil, retentionInvariant()),
		backup("backup-store-drive-loss", "back a ledger up, wipe object-store drives up to parity (then restore), take parity + 1 offline, then a zone's: backups stay listed, readable and restorable",
			BackupStoreDriveLoss{}, []topology.Capability{topology.CapStores, topology.CapDriveLoss, topology.CapDriveOffline}, backupReadableInvariant(), restoreInvariant("DP-BAK-4")),
		{
			Name:        "isolation",
			Description: "probe every tenant port from every tenant, from outside and from the nodes, before, during and after a node kill and after a policy-engine restart",
			Controls:    []string{"DP-NET-3"}, Needs: []topology.Capability{topology.CapIsolation, topology.CapNodeKill},
			Fault: NodeKill{}, Phases: IsolationTable{}, Probe: IsolationTable{}, Invariants: []Invariant{isolationInvariant()},
		},
		{
			Name: "ingress-exposure", Description: "from a client outside the platform's network, try every TCP port of every node: only the ingress answers, port 80 only redirects to HTTPS",
			Controls: []string{"DP-NET-1"}, Needs: []topology.Capability{topology.CapExposure},
			Probe: ExposureProbe{}, Invariants: []Invariant{exposureInvariant()},
		},
		{
			Name: "tls-posture", Description: "handshake with the ingress at every TLS version and inspect its certificate",
			Controls: []string{"DP-NET-2"}, Needs: []topology.Capability{topology.CapIngress},
			Probe: TLSProbe{}, Invariants: []Invariant{tlsInvariant()},
		},
		{
			Name: "oidc", Description: "through the ingress: each realm's discovery, keys and token endpoint over TLS and not over plain HTTP; a password-grant token accepted by its own tenant's API only; expired, tampered and unsigned tokens refused",
			Controls: []string{"DP-AUTH-1"}, Needs: []topology.Capability{topology.CapOIDC},
			Probe: OIDCProbe{}, Invariants: []Invariant{oidcInvariant()},
		},
		{
			Name: "password-hashing", Description: "read from the identity provider its realms' password policies and its test users' stored credentials; recompute every hash from the known password",
			Controls: []string{"DP-AUTH-2"}, Needs: []topology.Capability{topology.CapPasswords},
			Probe: PasswordProbe{}, Invariants: []Invariant{passwordInvariant()},
		},
		{
			Name: "encryption-at-rest", Description: "write records through every store, then read the raw storage under the nodes' volumes for their values: none may be there in plaintext",
			Controls: []string{"DP-ENC-1"}, Needs: []topology.Capability{topology.CapInventory, topology.CapStores, topology.CapEncryption},
			Drill: AtRestDrill{}, Traffic: &DefaultTraffic, Invariants: []Invariant{atRestInvariant()},
		},
		// Offboarding removes a tenant, so it runs last.
		backup("offboarding", "back every tenant up, offboard the last tenant and look everywhere for what remains of it; the others' data and backups stay",
			Offboarding{}, []topology.Capability{topology.CapStores, topology.CapOffboarding}, offboardingInvariant(), ledgerInvariant("DP-OFF-1", noLoss)),
	}
}

func controlsOf(invariants []Invariant) []string {
	var ids []string
	for _, inv := range invariants {
		if !slices.Contains(ids, inv.Control) {
			ids = append(ids, inv.Control)
		}
	}
	return ids
}

// Needs are the capabilities the scenarios of list need, each once, in order.
func Needs(list []Scenario) []topology.Capability {
	var out []topology.Capability
	for _, sc := range list {
		for _, c := range sc.Needs {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Select returns the named scenarios in catalogue order, or all of them when names is empty. An
// unknown name is an error that lists the known ones.
func Select(names []string) ([]Scenario, error) {
	all := Catalogue()
	if len(names) == 0 {
		return all, nil
	}
	var known []string
	for _, s := range all {
		known = append(known, s.Name)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(known, ", "))
		}
	}
	var out []Scenario
	for _, s := range all {
		if slices.Contains(names, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// WithWrites returns list with n writes per store in each phase of every workload instead of
// DefaultTraffic's: fewer make a quicker and less thorough run.
func WithWrites(list []Scenario, n int) []Scenario {
	out := slices.Clone(list)
	for i, sc := range out {
		if sc.Traffic != nil {
			t := *sc.Traffic
			t.WritesPerPhase = n
			out[i].Traffic = &t
		}
	}
	return out
}
