// Package reports holds the one result model of a dpsim run and renders it. report.json is the
// source of truth; JUnit XML, Markdown and a self-contained HTML page are rendered from it, so a saved
// run can be re-rendered at any time.
package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"dpsim/topology"
)

// Status is a verdict. Composing verdicts keeps the worst (see Worst).
type Status string

// The verdicts.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skipped Status = "skipped" // could not run here; the reason says why
	Error   Status = "error"   // could not be judged: the run itself broke
)

// Report is one run of dpsim.
type Report struct {
	Run       Run        `json:"run"`
	Controls  []Control  `json:"controls"`
	Scenarios []Scenario `json:"scenarios"`
}

// Run describes the run itself. Started, Finished and DurationSeconds are wall-clock time fields:
// they differ between two runs with the same seed.
type Run struct {
	// ID is unique per run; every dataset the run writes (topic, index, bucket prefix) carries it.
	ID              string            `json:"id"`
	Tool            string            `json:"tool"`
	Provider        string            `json:"provider"`
	Seed            int64             `json:"seed"`
	SpecName        string            `json:"specName"`
	SpecHash        string            `json:"specHash"`
	ClaimsHash      string            `json:"claimsHash"`
	Scenarios       []string          `json:"scenariosSelected"`
	Started         time.Time         `json:"started"`
	Finished        time.Time         `json:"finished"`
	DurationSeconds float64           `json:"durationSeconds"`
	Versions        map[string]string `json:"versions"`
	Notes           []string          `json:"notes,omitempty"`
	Interrupted     bool              `json:"interrupted"`
	Summary         Summary           `json:"summary"`
}

// Summary counts controls by verdict.
type Summary struct {
	Pass    int `json:"pass"`
	Fail    int `json:"fail"`
	Skipped int `json:"skipped"`
	Error   int `json:"error"`
}

// Control is the verdict on one claim.
type Control struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Claim     string     `json:"claim"`
	Status    Status     `json:"status"`
	Reason    string     `json:"reason,omitempty"`
	Scenarios []string   `json:"scenarios"`
	Evidence  []Evidence `json:"evidence"`
}

// Evidence is one check's finding that a control's verdict rests on.
type Evidence struct {
	Scenario string `json:"scenario"`
	Check    string `json:"check"`
	Status   Status `json:"status"`
	Summary  string `json:"summary"`
}

// Scenario is what one scenario did and saw. Its times (AtSeconds, StartSeconds, ...) count from the
// start of the scenario on the provider's clock: simulated and repeatable on the fake provider,
// wall-clock on real ones.
type Scenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Controls    []string `json:"controls"`
	Status      Status   `json:"status"`
	Reason      string   `json:"reason,omitempty"`
	// Dataset is the keyspace the scenario wrote: the topic, index and bucket prefix name.
	Dataset         string     `json:"dataset,omitempty"`
	DurationSeconds float64    `json:"durationSeconds"`
	Faults          []Fault    `json:"faults"`
	Ledgers         []Ledger   `json:"ledgers"`
	Checks          []Check    `json:"checks"`
	Recovery        []Recovery `json:"recovery"`
	Timeline        []Bucket   `json:"timeline"`
	Events          []Event    `json:"events"`
	// Placements are sampled records with the members and nodes the stores reported holding them.
	Placements []PlacementSample `json:"placements,omitempty"`
	// Unhealed names what recovery from the fault could not undo; empty when everything healed.
	Unhealed []string `json:"unhealed,omitempty"`
	// Logs is the folder, under the report's, that holds what was collected to explain a scenario
	// that failed or erred (the pods' logs and events, what was not ready, the nodes' conditions).
	Logs string `json:"logs,omitempty"`
	// Isolation is the tenant-isolation truth table of the scenarios that take one.
	Isolation *Isolation `json:"isolation,omitempty"`
	// Backups is what the backup scenarios saw of the backup system.
	Backups *Backups `json:"backups,omitempty"`
	// TLS is the ingress's TLS matrix, of the scenarios that take one.
	TLS *TLS `json:"tls,omitempty"`
	// Exposure is what a scan of the nodes from outside found, of the scenarios that take one.
	Exposure *topology.Exposure `json:"exposure,omitempty"`
	// AtRest is what a scan of the volumes' raw storage found, of the scenarios that take one.
	AtRest *topology.AtRest `json:"atRest,omitempty"`
	// Passwords is how the identity provider stores its test users' passwords, of the scenarios
	// that read it.
	Passwords *Passwords `json:"passwords,omitempty"`
	// OIDC is what the OIDC probes saw, of the scenarios that take them.
	OIDC *OIDC `json:"oidc,omitempty"`
}

// Passwords is what the identity provider keeps of its test users' passwords (DP-AUTH-2), as
// read from the provider itself: each realm's policy, and per user the stored credential's
// algorithm and iterations, the sizes of its salt and hash, and whether the hash recomputed from
// the known password, the stored salt and the stored iterations equals the stored one. Salts,
// hashes and passwords are not in the report.
type Passwords struct {
	Provider string                 `json:"provider"`
	Realms   []topology.RealmPolicy `json:"realms"`
	Users    []StoredPassword       `json:"users"`
}

// StoredPassword is one test user's stored credential.
type StoredPassword struct {
	Tenant     string `json:"tenant"`
	Realm      string `json:"realm"`
	User       string `json:"user"`
	Algorithm  string `json:"algorithm"`
	Iterations int    `json:"iterations"`
	SaltBytes  int    `json:"saltBytes"`
	HashBytes  int    `json:"hashBytes"`
	// Recomputed is "equal", "differs", or why the hash could not be recomputed.
	Recomputed string `json:"recomputed"`
	// SaltSharedWith names the other users whose stored salt is the same.
	SaltSharedWith []string `json:"saltSharedWith,omitempty"`
}

// Recomputation results.
const (
	HashEqual   = "equal"
	HashDiffers = "differs"
)

// TLS is what a TLS probe of the ingress saw (DP-NET-2): per way of reaching it (each tenant's
// host name, and no SNI), each handshake offering one thing alone, and the certificate served.
type TLS struct {
	Address string      `json:"address"`
	Targets []TLSTarget `json:"targets"`
}

// TLSTarget is the ingress reached by one host name, or by none (Host "": no SNI sent).
type TLSTarget struct {
	Host   string `json:"host"`
	Tenant string `json:"tenant,omitempty"`
	// Versions: one handshake per protocol version alone; Suites: per TLS 1.2 cipher suite alone;
	// Curves: per key exchange alone.
	Versions    []TLSOffer      `json:"versions"`
	Suites      []TLSOffer      `json:"suites"`
	Curves      []TLSOffer      `json:"curves"`
	Certificate *TLSCertificate `json:"certificate,omitempty"`
	// HSTS is the Strict-Transport-Security header of an HTTPS answer; "" when there was none.
	HSTS string `json:"hsts"`
	// HSTSError says why no HTTPS answer was had.
	HSTSError string `json:"hstsError,omitempty"`
}

// Offer results: the server completed the handshake, refused it (an alert, a close, another
// version), or neither (a timeout, a reset: what it would have done is unknown).
const (
	OfferAccepted = "accepted"
	OfferRefused  = "refused"
	OfferError    = "error"
)

// TLSOffer is one handshake offering Offered alone and how it ended.
type TLSOffer struct {
	Offered string `json:"offered"`
	Result  string `json:"result"`
	Detail  string `json:"detail,omitempty"`
}

// TLSCertificate is the leaf certificate served, with whether its chain leads to the platform's
// CA and whether it names the host.
type TLSCertificate struct {
	Subject       string    `json:"subject"`
	DNSNames      []string  `json:"dnsNames"`
	Issuer        string    `json:"issuer"`
	KeyType       string    `json:"keyType"` // ECDSA, RSA, Ed25519
	Curve         string    `json:"curve"`   // P-384, or the RSA key's size
	NotBefore     time.Time `json:"notBefore"`
	NotAfter      time.Time `json:"notAfter"`
	LifetimeHours float64   `json:"lifetimeHours"`
	Serial        string    `json:"serial"`
	// ChainError is why the chain does not verify against the platform's CA; "" when it does.
	ChainError string `json:"chainError,omitempty"`
	// HostError is why the certificate is not valid for the host; "" when it is or no host was sent.
	HostError string `json:"hostError,omitempty"`
}

// Backups is what a backup scenario saw: the schedules, the backups it made, its restores, expiry
// and offboarding.
type Backups struct {
	Schedules []BackupSchedule `json:"schedules"`
	Backups   []Backup         `json:"backups"`
	Restores  []Restore        `json:"restores,omitempty"`
	Expiry    *Expiry          `json:"expiry,omitempty"`
	// DriveLoss is one entry per object-store fault the backups were read back under.
	DriveLoss   []BackupDriveLoss `json:"driveLoss,omitempty"`
	Offboarding *Offboarding      `json:"offboarding,omitempty"`
}

// BackupSchedule is one live schedule with the longest gap between its firings over a year.
type BackupSchedule struct {
	Name              string   `json:"name"`
	Cron              string   `json:"cron"`
	TTL               string   `json:"ttl"`
	Tenants           []string `json:"tenants"`
	LongestGapSeconds float64  `json:"longestGapSeconds"`
	Paused            bool     `json:"paused,omitempty"`
}

// Backup is one backup a scenario made: how long it took, what it moved and which data volumes it
// left out.
type Backup struct {
	Name            string   `json:"name"`
	Tenant          string   `json:"tenant"`
	Phase           string   `json:"phase"`
	DurationSeconds float64  `json:"durationSeconds"`
	Bytes           int64    `json:"bytes"`
	Volumes         int      `json:"volumes"`
	DataVolumes     int      `json:"dataVolumes"`
	MissingVolumes  []string `json:"missingVolumes,omitempty"`
	TTLSeconds      float64  `json:"ttlSeconds"`
	Warnings        []string `json:"warnings,omitempty"`
}

// Restore is one restore: the time until the stores answered again (RTO) and the data window lost
// (RPO: from the backup's start to the tenant's destruction; the records are in the ledgers).
type Restore struct {
	Tenant     string   `json:"tenant"`
	Backup     string   `json:"backup"`
	Name       string   `json:"name"`
	Phase      string   `json:"phase"`
	Volumes    int      `json:"volumes"`
	RTOSeconds float64  `json:"rtoSeconds"`
	RPOSeconds float64  `json:"rpoSeconds"`
	Warnings   []string `json:"warnings,omitempty"`
}

// RestoreLedger is the part of a ledger a restore adds: records acknowledged before the backup and
// restored, markers written after it and found, and what was acknowledged after the backup began
// and is gone (the window a restore loses by design).
type RestoreLedger struct {
	AcknowledgedBefore int `json:"acknowledgedBefore"`
	Restored           int `json:"restored"`
	Markers            int `json:"markers"`
	// MarkersAcknowledged counts the markers the store acknowledged: only their absence shows that
	// nothing written after the backup came back.
	MarkersAcknowledged int      `json:"markersAcknowledged"`
	MarkersFound        int      `json:"markersFound"`
	MarkerIDs           []string `json:"markerIds,omitempty"`
	WindowLost          int      `json:"windowLost"`
}

// Expiry is the retention experiment: a backup with a short TTL that must vanish and one within
// its TTL that must stay, and what stays in the backup repository.
type Expiry struct {
	Expired           string   `json:"expired"`
	ExpiredTTL        string   `json:"expiredTtl"`
	Kept              string   `json:"kept"`
	WaitedSeconds     float64  `json:"waitedSeconds"`
	ObjectsLeft       []string `json:"objectsLeft,omitempty"`
	GCPeriod          string   `json:"gcPeriod"`
	RepositoryObjects int      `json:"repositoryObjects"`
	RepositoryBytes   int64    `json:"repositoryBytes"`
}

// BackupDriveLoss is the backups read back with object-store drives down.
type BackupDriveLoss struct {
	Fault  string `json:"fault"`
	Drives int    `json:"drives"`
	// WithinClaim is false for the step beyond the store's parity, which is shown, not judged.
	WithinClaim bool     `json:"withinClaim"`
	Listed      int      `json:"listed"`
	Objects     int      `json:"objects"`
	Unreadable  []string `json:"unreadable,omitempty"`
	// Status is this step's verdict; beyond the claim it is skipped when something was unreadable.
	Status Status `json:"status"`
}

// Offboarding is what offboarding a tenant did and what was left of it.
type Offboarding struct {
	Tenant  string             `json:"tenant"`
	Steps   []string           `json:"steps"`
	Remains []topology.Remnant `json:"remains"`
	// Searched counts by class what the offboarding search found before and after offboarding.
	Searched []RemnantCount `json:"searched"`
}

// RemnantCount is how many things of one class (namespace, volumes, backups, ...) of a tenant the
// offboarding search found before offboarding and after it.
type RemnantCount struct {
	Class  string `json:"class"`
	Before int    `json:"before"`
	After  int    `json:"after"`
}

// Isolation is a scenario's tenant-isolation truth table (DP-NET-3): every probe of every phase,
// with what the claims expect and what the probe saw.
type Isolation struct {
	Phases []IsolationPhase `json:"phases"`
	Cells  []IsolationCell  `json:"cells"`
	// Differing counts the cells whose observation contradicts their expectation.
	Differing int `json:"differing"`
	// ConnectedPairs names the sources and tenants that connected where the claim forbids it.
	ConnectedPairs []string `json:"connectedPairs"`
	// PolicyEnforcement is how a newly created deny policy took effect; nil when not measured.
	PolicyEnforcement *topology.PolicyEnforcement `json:"policyEnforcement,omitempty"`
}

// IsolationPhase is one taking of the table: its name ("before", "during", ...), how long it took,
// how many cells it has, and what was going on.
type IsolationPhase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Cells   int     `json:"cells"`
	Note    string  `json:"note,omitempty"`
}

// IsolationCell is one cell of the truth table: one probe from one source to one target in one
// phase, with the claims' expectation ("allowed", "blocked" or "any": not judged).
type IsolationCell struct {
	Phase     string           `json:"phase"`
	Source    topology.Source  `json:"source"`
	Target    topology.Target  `json:"target"`
	Expected  string           `json:"expected"`
	Observed  topology.Outcome `json:"observed"`
	LatencyMs float64          `json:"latencyMs"`
	Detail    string           `json:"detail,omitempty"`
	Differs   bool             `json:"differs,omitempty"`
}

// Fault is one injected fault and when it was in force.
type Fault struct {
	Kind         string  `json:"kind"`
	Target       string  `json:"target"`
	StartSeconds float64 `json:"startSeconds"`
	EndSeconds   float64 `json:"endSeconds"`
	// Effect is the evidence that the fault took effect (node NotReady, a new volume, packets
	// dropped); a fault without it makes the scenario an error.
	Effect []string `json:"effect,omitempty"`
}

// PlacementSample is where one acknowledged record lives, as the store's replicas reported it.
type PlacementSample struct {
	Tenant string   `json:"tenant"`
	Store  string   `json:"store"`
	ID     string   `json:"id"`
	Nodes  []string `json:"nodes"`
}

// Ledger is the acknowledged-write account of one store of one tenant, in the vocabulary of
// Jepsen's set checker: identities, not counts, decide lost and unexpected.
type Ledger struct {
	Tenant       string `json:"tenant"`
	Store        string `json:"store"`
	Attempted    int    `json:"attempted"`
	Acknowledged int    `json:"acknowledged"`
	Failed       int    `json:"failed"`
	Unknown      int    `json:"unknown"`
	// Lost: acknowledged but absent from the final read.
	Lost int `json:"lost"`
	// Unexpected: read back but never attempted.
	Unexpected int `json:"unexpected"`
	// Duplicated: read back more than once.
	Duplicated int `json:"duplicated"`
	// Recovered: outcome unknown but present in the final read.
	Recovered int `json:"recovered"`
	// FailedPresent: a definite failure that is present in the final read (the client misclassified
	// the answer, or the store lied).
	FailedPresent int `json:"failedPresent"`
	// Corrupt: present, but with a value other than the one written.
	Corrupt int `json:"corrupt"`
	// Unreadable names the parts (partitions, shards, objects) the final read could not read; the
	// acknowledged records on them count as lost.
	Unreadable []string `json:"unreadable,omitempty"`
	// Restore is set in a restore's ledger, where Acknowledged and Lost count only the records
	// acknowledged before the backup.
	Restore *RestoreLedger `json:"restore,omitempty"`
	// LostIDs, UnexpectedIDs, FailedPresentIDs, CorruptIDs: the first identities of each.
	LostIDs          []string `json:"lostIds,omitempty"`
	UnexpectedIDs    []string `json:"unexpectedIds,omitempty"`
	FailedPresentIDs []string `json:"failedPresentIds,omitempty"`
	CorruptIDs       []string `json:"corruptIds,omitempty"`
	// FailedPresentAnswers is the store's answer to the first failed-but-present record of each part.
	FailedPresentAnswers []string `json:"failedPresentAnswers,omitempty"`
	// ThinAcknowledged counts the records acknowledged while the store had fewer than the promised
	// copies; ThinIDs names the first, ThinAnswers gives the store's answer to the first of each part.
	ThinAcknowledged int      `json:"thinAcknowledged"`
	ThinIDs          []string `json:"thinIds,omitempty"`
	ThinAnswers      []string `json:"thinAnswers,omitempty"`
}

// Check is one checker's verdict within a scenario.
type Check struct {
	Name    string `json:"name"`
	Control string `json:"control"` // the control this check is evidence for
	Tenant  string `json:"tenant,omitempty"`
	Store   string `json:"store,omitempty"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
}

// Label names the check with the tenant and store it judged: "ledger/tenant-a/kafka".
func (c Check) Label() string {
	parts := []string{c.Name}
	for _, p := range []string{c.Tenant, c.Store} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// Recovery is how long a store was unavailable after a fault.
type Recovery struct {
	Tenant string `json:"tenant"`
	Store  string `json:"store"`
	Fault  string `json:"fault"`
	// Seconds from the fault's start to the first acknowledged write after it; -1 if none came.
	Seconds float64 `json:"seconds"`
	// UnavailableSeconds is the longest stretch without an acknowledged write while writes were tried.
	UnavailableSeconds float64 `json:"unavailableSeconds"`
	// AckedPerSecond is the rate of acknowledged writes while the fault was in force.
	AckedPerSecond float64 `json:"ackedPerSecond"`
	// AckedPerSecondByPart is that rate per partition or shard (the part each write went to).
	AckedPerSecondByPart map[string]float64 `json:"ackedPerSecondByPart,omitempty"`
}

// Bucket counts operation outcomes in one slice of the scenario's time, for the timeline.
type Bucket struct {
	StartSeconds float64 `json:"startSeconds"`
	OK           int     `json:"ok"`
	Failed       int     `json:"failed"`
	Unknown      int     `json:"unknown"`
}

// Event is something the platform did during the scenario (a node went down, a pod was rescheduled).
type Event struct {
	AtSeconds float64 `json:"atSeconds"`
	What      string  `json:"what"`
}

// Worst composes verdicts: fail beats error beats pass beats skipped.
func Worst(statuses ...Status) Status {
	rank := map[Status]int{Skipped: 0, Pass: 1, Error: 2, Fail: 3}
	worst := Skipped
	for _, s := range statuses {
		if rank[s] > rank[worst] {
			worst = s
		}
	}
	return worst
}

// Tally counts the controls by verdict.
func Tally(controls []Control) Summary {
	var s Summary
	for _, c := range controls {
		switch c.Status {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
		case Skipped:
			s.Skipped++
		default:
			s.Error++
		}
	}
	return s
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(path string, r Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadJSON reads a report written by WriteJSON; a file that is not one is an error saying why.
func ReadJSON(path string) (Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("decode report %s: %w", path, err)
	}
	if why := notAReport(r); why != "" {
		return Report{}, fmt.Errorf("%s is not a dpsim report: %s", path, why)
	}
	return r, nil
}
