package topology

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

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
	From      string           `json:"from"`  // where the scan ran
	Ports     string           `json:"ports"` // e.g. 1-65535
	Seconds   float64          `json:"seconds"`
	Addresses []ScannedAddress `json:"addresses"`
}

// ScannedAddress is one node address: the ports that took a connection, with what answered on
// them, and how many were refused (a reset: the packet reached the node), dropped (no answer, as
// a firewall drops) or could not be probed.
type ScannedAddress struct {
	Address string     `json:"address"`
	Node    string     `json:"node,omitempty"`
	Open    []OpenPort `json:"open"`
	Refused int        `json:"refused"`
	// RefusedPorts are the refused ports as FormatPorts writes them ("80,443,9200-9201").
	RefusedPorts string `json:"refusedPorts"`
	Dropped      int    `json:"dropped"`
	Errors       int    `json:"errors"`
	Error        string `json:"error,omitempty"` // the first probe error
}

// OpenPort is a port that took a connection and what it answered: AnswerTLS, AnswerRedirect,
// AnswerHTTP and the status ("http 200") or AnswerTCP.
type OpenPort struct {
	Port   int    `json:"port"`
	Answer string `json:"answer"`
	Detail string `json:"detail,omitempty"`
}

// What an open port answered, as the scan from outside tells it: it tries a TLS handshake, then
// asks GET / over plain HTTP.
const (
	AnswerTLS      = "https"             // a TLS handshake completed
	AnswerRedirect = "redirect to https" // GET / answered with a 3xx to an https:// URL
	AnswerHTTP     = "http"              // GET / answered otherwise; the status follows ("http 200")
	AnswerTCP      = "tcp"               // a connection, no TLS or HTTP answer
)

// PortAnswers are the answers a claim can allow on a port (AnswerHTTP: any plain HTTP answer).
var PortAnswers = []string{AnswerTLS, AnswerRedirect, AnswerHTTP, AnswerTCP}

// ExposedPort is a port that may take a connection from outside, and the one answer allowed on it.
type ExposedPort struct {
	Port   int    `yaml:"port" json:"port"`
	Answer string `yaml:"answer" json:"answer"`
}

// Allows reports whether answer, as the scan told it, is the one e allows.
func (e ExposedPort) Allows(answer string) bool {
	return answer == e.Answer || e.Answer == AnswerHTTP && strings.HasPrefix(answer, AnswerHTTP+" ")
}

// PortRange reads a scan's range of ports, "FIRST-LAST" within 1-65535.
func PortRange(s string) (first, last int, err error) {
	spans, err := PortSpans(s)
	if err != nil || len(spans) != 1 {
		return 0, 0, fmt.Errorf("port range %q: want FIRST-LAST within 1-65535", s)
	}
	return spans[0].First, spans[0].Last, nil
}

// PortSpan is a run of TCP ports, First to Last.
type PortSpan struct{ First, Last int }

// PortSpans reads ports as FormatPorts writes them, "1-79,81,443-445": ports or FIRST-LAST runs
// within 1-65535, ascending, none overlapping; "" is none.
func PortSpans(s string) ([]PortSpan, error) {
	if s == "" {
		return nil, nil
	}
	var spans []PortSpan
	for _, piece := range strings.Split(s, ",") {
		a, b, isRun := strings.Cut(piece, "-")
		if !isRun {
			b = a
		}
		first, errFirst := strconv.Atoi(a)
		last, errLast := strconv.Atoi(b)
		after := 0
		if len(spans) > 0 {
			after = spans[len(spans)-1].Last
		}
		if errFirst != nil || errLast != nil || first <= after || first < 1 || last > 65535 || first > last {
			return nil, fmt.Errorf("ports %q: %q is not a port or FIRST-LAST within 1-65535 after the ones before it", s, piece)
		}
		spans = append(spans, PortSpan{first, last})
	}
	return spans, nil
}

// FormatPorts writes ports compactly, ascending, consecutive ones as runs: "1-79,81,443-445".
func FormatPorts(ports []int) string {
	sorted := slices.Compact(slices.Sorted(slices.Values(ports)))
	var pieces []string
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		piece := strconv.Itoa(sorted[i])
		if j > i {
			piece += "-" + strconv.Itoa(sorted[j])
		}
		pieces = append(pieces, piece)
		i = j + 1
	}
	return strings.Join(pieces, ",")
}
