package elastic

import (
	"errors"
	"strings"
	"testing"

	"dpsim/topology"
)

func TestClassifyItem(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		typ        string
		reason     string
		ok         bool
		indefinite bool
	}{
		{"created", 201, "", "", true, false},
		{"exists after a retried create", 409, "version_conflict_engine_exception", "[x]: version conflict, document already exists", true, false},
		{"too few active copies: not applied", 503, "unavailable_shards_exception", "[idx][0] Not enough active copies to meet shard count of [ALL] (have 1, needed 2). Timeout: [10s]", false, false},
		{"primary not active: not applied", 503, "unavailable_shards_exception", "[idx][1] primary shard is not active Timeout: [10s]", false, false},
		{"rejected by a full queue", 429, "es_rejected_execution_exception", "rejected execution", false, true},
		{"server error", 500, "node_closed_exception", "node closed", false, true},
		{"gateway timeout", 504, "", "", false, true},
		{"timeout in a 4xx body", 400, "process_cluster_event_timeout_exception", "failed to process cluster event within 10s", false, true},
		{"mapping error", 400, "document_parsing_exception", "failed to parse", false, false},
		{"index closed", 400, "index_closed_exception", "closed", false, false},
		{"conflict of another kind", 409, "other_conflict", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ClassifyItem(tt.status, tt.typ, tt.reason)
			if (err == nil) != tt.ok {
				t.Fatalf("ClassifyItem(%d, %s) = %v, want ok %v", tt.status, tt.typ, err, tt.ok)
			}
			if err != nil && errors.Is(err, topology.ErrIndefinite) != tt.indefinite {
				t.Errorf("ClassifyItem(%d, %s) = %v, want indefinite %v", tt.status, tt.typ, err, tt.indefinite)
			}
		})
	}
}

func TestIndexName(t *testing.T) {
	tests := []struct {
		dataset, want string
		wantErr       bool
	}{
		{"node-kill", "node-kill", false},
		{"Drive Loss/1", "drive-loss-1", false},
		{"_hidden", "ds_hidden", false},
		{"-x", "ds-x", false},
		{"a:b*c?d", "a-b-c-d", false},
		{"..", "ds..", false},
		{strings.Repeat("x", 300), strings.Repeat("x", 255), false},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.dataset, func(t *testing.T) {
			got, err := IndexName(tt.dataset)
			if (err != nil) != tt.wantErr {
				t.Fatalf("IndexName(%q) error = %v, want error %v", tt.dataset, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("IndexName(%q) = %q, want %q", tt.dataset, got, tt.want)
			}
		})
	}
}
