package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// fakeFetcher serves each (broker, partition) log from a table; a missing entry fails.
type fakeFetcher map[[2]int32][]string

func (f fakeFetcher) fetchKeys(_ context.Context, broker, partition int32) ([]string, error) {
	keys, ok := f[[2]int32{broker, partition}]
	if !ok {
		return nil, fmt.Errorf("broker %d unreachable", broker)
	}
	return keys, nil
}

func TestReadReplicasAndMerge(t *testing.T) {
	tests := []struct {
		name    string
		sets    map[int32][]int32
		logs    fakeFetcher
		want    map[string][]string
		wantErr int // replicas that could not be read
	}{
		{
			name: "a follower held behind lacks the newest records",
			sets: map[int32][]int32{0: {1, 2}},
			logs: fakeFetcher{{1, 0}: {"a", "b", "c", "d"}, {2, 0}: {"a", "b"}},
			want: map[string][]string{"a": {"kafka-1", "kafka-2"}, "b": {"kafka-1", "kafka-2"}, "c": {"kafka-1"}, "d": {"kafka-1"}},
		},
		{
			name:    "an unreachable replica holds nothing (fail closed)",
			sets:    map[int32][]int32{0: {1, 3}, 1: {2, 3}},
			logs:    fakeFetcher{{1, 0}: {"a"}, {2, 1}: {"b"}},
			want:    map[string][]string{"a": {"kafka-1"}, "b": {"kafka-2"}},
			wantErr: 2,
		},
		{
			name: "a duplicate in one log counts that broker once; nodes sort by broker id",
			sets: map[int32][]int32{0: {10, 2, 3}},
			logs: fakeFetcher{{10, 0}: {"a", "a"}, {2, 0}: {"a"}, {3, 0}: {"a", "a"}},
			want: map[string][]string{"a": {"kafka-2", "kafka-3", "kafka-10"}},
		},
		{
			name: "an id written to two partitions is placed on the union",
			sets: map[int32][]int32{0: {1, 2}, 1: {2, 3}},
			logs: fakeFetcher{{1, 0}: {"a"}, {2, 0}: {"a"}, {2, 1}: {"a"}, {3, 1}: {"a"}},
			want: map[string][]string{"a": {"kafka-1", "kafka-2", "kafka-3"}},
		},
		{
			name: "empty partitions",
			sets: map[int32][]int32{0: {1, 2}},
			logs: fakeFetcher{{1, 0}: nil, {2, 0}: nil},
			want: map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads := readReplicas(context.Background(), tt.logs, tt.sets)
			failed := 0
			for _, r := range reads {
				if r.err != nil {
					failed++
				}
			}
			if failed != tt.wantErr {
				t.Errorf("%d replicas failed, want %d", failed, tt.wantErr)
			}
			checkPlacement(t, mergePlacement(reads), tt.want)
		})
	}
}

// checkPlacement compares placements with id -> nodes, and checks order and Tolerates.
func checkPlacement(t *testing.T, got []topology.Placement, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d placements %+v, want %d", len(got), got, len(want))
	}
	if !slices.IsSortedFunc(got, func(a, b topology.Placement) int {
		return map[bool]int{true: -1, false: 1}[a.ID < b.ID]
	}) {
		t.Errorf("placements not ordered by id: %+v", got)
	}
	for _, p := range got {
		if w, ok := want[p.ID]; !ok || !slices.Equal(p.Nodes, w) || p.Tolerates != len(w)-1 {
			t.Errorf("placement of %s = %v tolerating %d, want %v tolerating %d", p.ID, p.Nodes, p.Tolerates, w, len(w)-1)
		}
	}
}

func TestBlockKeys(t *testing.T) {
	block := func() *sarama.FetchResponseBlock {
		r := &sarama.FetchResponse{Version: fetchVersion}
		for off := int64(0); off < 5; off++ {
			r.AddRecord("t", 0, sarama.StringEncoder(fmt.Sprintf("k%d", off)), sarama.StringEncoder("v"), off)
		}
		return r.GetBlock("t", 0)
	}
	tests := []struct {
		name     string
		from     int64
		hwm      int64
		want     []string
		wantNext int64
	}{
		{"whole batch", 0, 5, []string{"k0", "k1", "k2", "k3", "k4"}, 5},
		{"batch starts before the fetch offset", 2, 5, []string{"k2", "k3", "k4"}, 5},
		{"nothing at or past the high watermark", 0, 3, []string{"k0", "k1", "k2"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, next := blockKeys(block(), tt.from, tt.hwm)
			if !slices.Equal(keys, tt.want) || next != tt.wantNext {
				t.Errorf("blockKeys = %v, next %d; want %v, next %d", keys, next, tt.want, tt.wantNext)
			}
		})
	}
}

// apiVersions is what a Kafka 4 broker advertises for the requests placement sends.
func apiVersions(t *testing.T) *sarama.MockApiVersionsResponse {
	return sarama.NewMockApiVersionsResponse(t).SetApiKeys([]sarama.ApiVersionsResponseKey{
		{ApiKey: 1, MinVersion: 4, MaxVersion: 17}, // Fetch
		{ApiKey: 2, MinVersion: 1, MaxVersion: 9},  // ListOffsets
		{ApiKey: 3, MinVersion: 0, MaxVersion: 12}, // Metadata
		{ApiKey: 18, MinVersion: 0, MaxVersion: 4}, // ApiVersions
	})
}

// Placement fetches every replica itself: a partition on brokers 1 (leader) and 2 (a follower held
// behind) places the records broker 2 lacks on broker 1 only, the others on both. Every fetch is a
// consumer fetch of version 11, the first a follower serves.
func TestPlacementFetchesEveryReplica(t *testing.T) {
	const topic = "ds"
	tests := []struct {
		name     string
		follower func(t *testing.T) sarama.MockResponse // broker 2's answer to a fetch
		want     map[string][]string
	}{
		{
			name: "follower held behind",
			follower: func(t *testing.T) sarama.MockResponse {
				f := sarama.NewMockFetchResponse(t, 2).SetHighWaterMark(topic, 0, 3)
				for off := range int64(3) {
					f.SetMessageWithKey(topic, 0, off, sarama.StringEncoder(fmt.Sprintf("k%d", off)), sarama.StringEncoder("v"))
				}
				return f
			},
			want: map[string][]string{"k0": {"kafka-1", "kafka-2"}, "k1": {"kafka-1", "kafka-2"}, "k2": {"kafka-1", "kafka-2"},
				"k3": {"kafka-1"}, "k4": {"kafka-1"}},
		},
		{
			name: "follower refuses: fail closed",
			follower: func(t *testing.T) sarama.MockResponse {
				r := &sarama.FetchResponse{Version: fetchVersion}
				r.AddError(topic, 0, sarama.ErrNotLeaderForPartition)
				return sarama.NewMockWrapper(r)
			},
			want: map[string][]string{"k0": {"kafka-1"}, "k1": {"kafka-1"}, "k2": {"kafka-1"}, "k3": {"kafka-1"}, "k4": {"kafka-1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b1, b2 := sarama.NewMockBroker(t, 1), sarama.NewMockBroker(t, 2)
			defer b1.Close()
			defer b2.Close()
			metadata := func() sarama.MockResponse {
				return sarama.NewMockMetadataResponse(t).
					SetBroker(b1.Addr(), 1).SetBroker(b2.Addr(), 2).SetController(1).
					SetLeader(topic, 0, 1) // the mock lists every broker as a replica
			}
			leaderLog := sarama.NewMockFetchResponse(t, 2).SetHighWaterMark(topic, 0, 5) // 2 records a fetch: several rounds
			for off := range int64(5) {
				leaderLog.SetMessageWithKey(topic, 0, off, sarama.StringEncoder(fmt.Sprintf("k%d", off)), sarama.StringEncoder("v"))
			}
			b1.SetHandlerByMap(map[string]sarama.MockResponse{
				"ApiVersionsRequest": apiVersions(t),
				"MetadataRequest":    metadata(),
				"OffsetRequest": sarama.NewMockOffsetResponse(t).
					SetOffset(topic, 0, sarama.OffsetOldest, 0).SetOffset(topic, 0, sarama.OffsetNewest, 5),
				"FetchRequest": leaderLog,
			})
			b2.SetHandlerByMap(map[string]sarama.MockResponse{
				"ApiVersionsRequest": apiVersions(t),
				"MetadataRequest":    metadata(),
				"FetchRequest":       tt.follower(t),
			})
			sc, err := saramaConfig(Config{Brokers: []string{b1.Addr()}, Acks: "all"})
			if err != nil {
				t.Fatal(err)
			}
			client, err := sarama.NewClient([]string{b1.Addr()}, sc)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			s := &Store{c: &Cluster{client: client, log: slog.New(slog.DiscardHandler)}, topic: topic, partitions: 1}

			got, err := s.Placement(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checkPlacement(t, got, tt.want)

			for _, b := range []*sarama.MockBroker{b1, b2} {
				fetches := 0
				for _, rr := range b.History() {
					req, ok := rr.Request.(*sarama.FetchRequest)
					if !ok {
						continue
					}
					fetches++
					if req.Version != fetchVersion || req.SessionEpoch != -1 || req.MaxBytes != fetchRequestBytes {
						t.Errorf("broker %d got a fetch of version %d, session epoch %d, max bytes %d; want version %d, epoch -1, max bytes %d",
							b.BrokerID(), req.Version, req.SessionEpoch, req.MaxBytes, fetchVersion, fetchRequestBytes)
					}
				}
				if fetches == 0 {
					t.Errorf("broker %d was never fetched from", b.BrokerID())
				}
			}
		})
	}
}

func TestNewFetchRequest(t *testing.T) {
	req := newFetchRequest("t", 3, 42)
	if req.Version < 11 {
		t.Fatalf("fetch version %d: brokers restrict a fetch below 11 to the leader (FetchParams.fetchOnlyLeader)", req.Version)
	}
	if req.SessionID != 0 || req.SessionEpoch != -1 || req.Isolation != sarama.ReadUncommitted {
		t.Errorf("fetch request %+v: want a sessionless, read-uncommitted consumer fetch", req)
	}
}
