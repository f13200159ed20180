package topology

import "context"

// ExposureScanner is a platform whose nodes a client outside its network can scan (DP-NET-1).
type ExposureScanner interface {
	// ScanFromOutside tries every TCP port of every node address from outside the platform's
	// network and says what answered, and which ports besides the ingress's it admits.
	ScanFromOutside(ctx context.Context) (Exposure, error)
}

// AtRestScanner is a platform whose volumes' raw storage can be read (DP-ENC-1).
type AtRestScanner interface {
	// ScanAtRest writes the canaries in plaintext on the volumes' storage, outside any encrypted
	// directory, flushes the volumes to it and counts each marker's and canary's occurrences in
	// its raw bytes (then removes the canaries). The AtRest it returns has no Stores and only the
	// canaries' Where (the caller knows what it wrote).
	ScanAtRest(ctx context.Context, markers, canaries []string) (AtRest, map[string]int, error)
}

// AtRest is a scan of the raw bytes under the nodes' volumes for records written through the
// stores (DP-ENC-1).
type AtRest struct {
	// Encryption is how the volumes' filesystem says it keeps them (e.g. "fscrypt v2, AES-256-XTS
	// contents, AES-256-CTS names" or "none").
	Encryption string `json:"encryption"`
	// Storage names what was read (the image file under every node's volumes).
	Storage      string  `json:"storage"`
	BytesScanned int64   `json:"bytesScanned"`
	Seconds      float64 `json:"seconds"`
	// Stores are the markers written through each store and how many were found in plaintext.
	Stores []AtRestStore `json:"stores"`
	// Volumes are the data volumes' directories with whether the kernel reports them encrypted.
	Volumes []AtRestVolume `json:"volumes,omitempty"`
	// Canary is what was written in plaintext on purpose on the same storage and what the same
	// scan found of it: proof that the scan would see plaintext.
	Canary AtRestCanary `json:"canary"`
}

// AtRestCanary is markers written in plaintext on purpose where the scan reads, and found there.
type AtRestCanary struct {
	Where   string `json:"where"`
	Written int    `json:"written"`
	Found   int    `json:"found"`
}

// AtRestStore is one store of one tenant: markers acknowledged, and found in the raw storage.
type AtRestStore struct {
	Tenant    string `json:"tenant"`
	Store     string `json:"store"`
	Written   int    `json:"written"`
	Found     int    `json:"found"`
	Instances int    `json:"instances"` // occurrences of the found markers
}

// AtRestVolume is one volume directory and the kernel's answer about its encryption policy.
type AtRestVolume struct {
	Node      string `json:"node"`
	Path      string `json:"path"`
	Encrypted bool   `json:"encrypted"`
}

// Exposure is a scan of every TCP port of every node address from outside the platform's network
// (DP-NET-1).
type Exposure struct {
	// Admitted are the ports the platform admits from outside besides the ingress's (network.expose).
	Admitted  []int            `json:"admitted"`
	From      string           `json:"from"`  // where the scan ran
	Ports     string           `json:"ports"` // e.g. 1-65535
	Seconds   float64          `json:"seconds"`
	Addresses []ScannedAddress `json:"addresses"`
}

// ScannedAddress is one node address: the ports that took a connection, with what answered on
// them, and how many were refused (a reset), dropped (no answer) or could not be probed.
type ScannedAddress struct {
	Address string     `json:"address"`
	Node    string     `json:"node,omitempty"`
	Open    []OpenPort `json:"open"`
	Refused int        `json:"refused"`
	Dropped int        `json:"dropped"`
	Errors  int        `json:"errors"`
	Error   string     `json:"error,omitempty"` // the first probe error
}

// OpenPort is a port that took a connection and what it answered: "https" (a TLS handshake
// completed), "redirect to https" (an HTTP redirect to an https URL), "http <status>", or "tcp"
// (a connection, no HTTP or TLS answer).
type OpenPort struct {
	Port   int    `json:"port"`
	Answer string `json:"answer"`
	Detail string `json:"detail,omitempty"`
}
