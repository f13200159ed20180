package minio

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"dpsim/stores/s3/keys"
	"dpsim/topology"
)

func TestListDir(t *testing.T) {
	tests := []struct{ bucket, prefix, want string }{
		{"tenant-a", "run-1/", "/data/tenant-a/run-1"},
		{"tenant-a", "run-1/w-0", "/data/tenant-a/run-1"},
		{"tenant-a", "a/b/", "/data/tenant-a/a/b"},
		{"tenant-a", "", "/data/tenant-a"},
		{"tenant-a", "run", "/data/tenant-a"},
	}
	for _, tt := range tests {
		if got := listDir(tt.bucket, tt.prefix); got != tt.want {
			t.Errorf("listDir(%q, %q) = %q, want %q", tt.bucket, tt.prefix, got, tt.want)
		}
	}
}

func TestParseListing(t *testing.T) {
	const bucket, prefix = "tenant-a", "run-1/"
	tests := []struct {
		name string
		out  string
		want []string
	}{
		{
			name: "keys with slashes, inline and multipart objects",
			out: "/data/tenant-a/run-1/run-1/tenant-a/objectstore/before-00001/xl.meta\n" +
				"/data/tenant-a/run-1/w-2/xl.meta\n" +
				"/data/tenant-a/run-1/big/xl.meta\n",
			want: []string{"run-1/big", "run-1/run-1/tenant-a/objectstore/before-00001", "run-1/w-2"},
		},
		{
			name: "not a part: multipart data, other datasets, other buckets, stderr",
			out: "/data/tenant-a/run-1/big/6f2c1e/part.1\n" +
				"/data/tenant-a/run-10/w-1/xl.meta\n" +
				"/data/tenant-b/run-1/w-1/xl.meta\n" +
				"find: '/data/tenant-a/run-1/w-9': No such file or directory\n" +
				"/data/tenant-a/run-1/xl.meta\n" +
				"/data/tenant-a/run-1/w-1/xl.meta",
			want: []string{"run-1/w-1"},
		},
		{name: "a wiped drive lists nothing", out: "", want: nil},
		{name: "CRLF and a repeated line", out: "/data/tenant-a/run-1/w-1/xl.meta\r\n/data/tenant-a/run-1/w-1/xl.meta\n", want: []string{"run-1/w-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseListing(tt.out, bucket, prefix); !slices.Equal(got, tt.want) {
				t.Errorf("parseListing = %q, want %q", got, tt.want)
			}
		})
	}
}

// A listing's keys come from the same mapping the client writes with: a record id read back from
// the drives is the id written.
func TestParseListingKeysMapToIDs(t *testing.T) {
	const dataset, id = "run-1", "run-1/tenant-a/objectstore/during-00042"
	bucket, err := keys.BucketName("Tenant_A")
	if err != nil {
		t.Fatal(err)
	}
	out := listDir(bucket, keys.Prefix(dataset)) + "/" + strings.TrimPrefix(keys.Object(dataset, id), keys.Prefix(dataset)) + "/xl.meta\n"
	got := parseListing(out, bucket, keys.Prefix(dataset))
	if len(got) != 1 {
		t.Fatalf("parseListing(%q) = %q, want one key", out, got)
	}
	if back, ok := keys.ID(dataset, got[0]); !ok || back != id {
		t.Errorf("id of key %q = %q, %v; want %q", got[0], back, ok, id)
	}
	p := placements([]listing{{server: "s1", keys: got}}, keys.Prefix(dataset), 1, 0)
	if len(p) != 1 || p[0].ID != id {
		t.Errorf("placement %+v, want id %q", p, id)
	}
}

func TestPlacements(t *testing.T) {
	down := errors.New("container is not running")
	servers := []string{"dpsim-minio-1", "dpsim-minio-2", "dpsim-minio-3", "dpsim-minio-4"}
	tests := []struct {
		name           string
		listings       []listing
		drives, parity int
		want           []topology.Placement
	}{
		{
			name:   "4 drives EC:2: on 4 drives tolerates 2, on 2 tolerates 0, on 1 is unreadable",
			drives: 4, parity: 2,
			listings: []listing{
				{server: servers[0], keys: []string{"p/all", "p/half", "p/one"}},
				{server: servers[1], keys: []string{"p/all", "p/half"}},
				{server: servers[2], keys: []string{"p/all"}},
				{server: servers[3], keys: []string{"p/all"}},
			},
			want: []topology.Placement{
				{ID: "all", Nodes: servers, Tolerates: 2},
				{ID: "half", Nodes: servers[:2], Tolerates: 0},
				{ID: "one", Nodes: servers[:1], Tolerates: -1},
			},
		},
		{
			name:   "a server down holds no part (fail closed)",
			drives: 4, parity: 2,
			listings: []listing{
				{server: servers[0], keys: []string{"p/a"}},
				{server: servers[1], keys: []string{"p/a"}},
				{server: servers[2], keys: []string{"p/a"}},
				{server: servers[3], keys: []string{"p/a"}, err: down},
			},
			want: []topology.Placement{{ID: "a", Nodes: servers[:3], Tolerates: 1}},
		},
		{
			name:   "a wiped drive: objects lack its part until healed",
			drives: 4, parity: 1,
			listings: []listing{
				{server: servers[0], keys: []string{"p/a", "p/b"}},
				{server: servers[1]},
				{server: servers[2], keys: []string{"p/a", "p/b"}},
				{server: servers[3], keys: []string{"p/a", "p/b"}},
			},
			want: []topology.Placement{
				{ID: "a", Nodes: []string{servers[0], servers[2], servers[3]}, Tolerates: 0},
				{ID: "b", Nodes: []string{servers[0], servers[2], servers[3]}, Tolerates: 0},
			},
		},
		{
			name:   "every server down: nothing is placed",
			drives: 4, parity: 2,
			listings: []listing{
				{server: servers[0], err: down}, {server: servers[1], err: down},
				{server: servers[2], err: down}, {server: servers[3], err: down},
			},
			want: []topology.Placement{},
		},
		{
			name:     "one drive, no parity",
			drives:   1,
			listings: []listing{{server: servers[0], keys: []string{"p/a"}}},
			want:     []topology.Placement{{ID: "a", Nodes: servers[:1], Tolerates: 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placements(tt.listings, "p/", tt.drives, tt.parity)
			if !slices.EqualFunc(got, tt.want, func(a, b topology.Placement) bool {
				return a.ID == b.ID && a.Tolerates == b.Tolerates && slices.Equal(a.Nodes, b.Nodes)
			}) {
				t.Errorf("placements = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHealStatus(t *testing.T) {
	all := []string{"p/a", "p/b", "p/c"}
	tests := []struct {
		name     string
		listings []listing
		healed   bool
		msg      string
	}{
		{
			name:     "every object on every drive",
			listings: []listing{{server: "m-1", keys: all}, {server: "m-2", keys: all}, {server: "m-3", keys: all}, {server: "m-4", keys: all}},
			healed:   true,
			msg:      "every one of 3 objects has a part on all 4 drives",
		},
		{
			name:     "a wiped drive",
			listings: []listing{{server: "m-1", keys: all}, {server: "m-2"}, {server: "m-3", keys: all}, {server: "m-4", keys: all}},
			msg:      "3 objects lack a part on m-2",
		},
		{
			name:     "healing under way on two drives",
			listings: []listing{{server: "m-1", keys: all}, {server: "m-2", keys: all[:2]}, {server: "m-3", keys: all[:1]}, {server: "m-4", keys: all}},
			msg:      "1 object lacks a part on m-2; 2 objects lack a part on m-3",
		},
		{
			name:     "a server down is not healed",
			listings: []listing{{server: "m-1", keys: all}, {server: "m-2", err: errors.New("container is not running")}},
			msg:      "m-2 could not be listed: container is not running",
		},
		{
			name:     "no objects",
			listings: []listing{{server: "m-1"}, {server: "m-2"}},
			healed:   true,
			msg:      "every one of 0 objects has a part on all 2 drives",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			healed, msg := healStatus(tt.listings)
			if healed != tt.healed || msg != tt.msg {
				t.Errorf("healStatus = %v, %q; want %v, %q", healed, msg, tt.healed, tt.msg)
			}
		})
	}
}

// Placement and Healed refuse a prefix that would list outside the bucket, before any exec.
func TestListRefusesEscapingPrefix(t *testing.T) {
	s := &Store{cfg: Config{Drives: 1}, Servers: []Server{{Name: "m-1"}}}
	for _, prefix := range []string{"../other/", "/etc/", "a/../../b/"} {
		if _, err := s.Placement(t.Context(), "tenant-a", prefix); err == nil {
			t.Errorf("Placement(%q) listed, want an error", prefix)
		}
		if _, _, err := s.Healed(t.Context(), "tenant-a", prefix); err == nil {
			t.Errorf("Healed(%q) listed, want an error", prefix)
		}
	}
}

// A server this process has no handle for counts as down: Placement places nothing on it and
// Healed is false, with no error.
func TestServerWithoutContainer(t *testing.T) {
	s := &Store{cfg: Config{Drives: 1}, Servers: []Server{{Name: "m-1"}}}
	s.cfg.Logger = discard()
	p, err := s.Placement(t.Context(), "tenant-a", "run-1/")
	if err != nil || len(p) != 0 {
		t.Errorf("Placement = %+v, %v; want nothing placed and no error", p, err)
	}
	healed, msg, err := s.Healed(t.Context(), "tenant-a", "run-1/")
	if err != nil || healed || !strings.Contains(msg, "m-1 could not be listed") {
		t.Errorf("Healed = %v, %q, %v; want not healed, naming m-1", healed, msg, err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
