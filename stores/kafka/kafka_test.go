package kafka

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		indefinite bool
	}{
		{"not enough replicas: refused before append", sarama.ErrNotEnoughReplicas, false},
		{"not enough replicas after append", sarama.ErrNotEnoughReplicasAfterAppend, true},
		{"not leader", sarama.ErrNotLeaderForPartition, false},
		{"request timed out", sarama.ErrRequestTimedOut, true},
		{"network exception", sarama.ErrNetworkException, true},
		{"out of brokers: never sent", sarama.ErrOutOfBrokers, false},
		{"not connected", sarama.ErrNotConnected, false},
		{"connection refused on dial", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
		{"connection reset after send", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"eof after send", io.EOF, true},
		{"wrapped kafka error", fmt.Errorf("produce x: %w", sarama.ErrNotEnoughReplicas), false},
		{"wrapped timeout", fmt.Errorf("produce x: %w", sarama.ErrRequestTimedOut), true},
		{"unrecognised", errors.New("something odd"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if got == nil {
				t.Fatal("Classify returned nil for an error")
			}
			if errors.Is(got, topology.ErrIndefinite) != tt.indefinite {
				t.Errorf("Classify(%v) indefinite = %v, want %v", tt.err, !tt.indefinite, tt.indefinite)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("Classify(%v) = %v lost the original error", tt.err, got)
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestTopicName(t *testing.T) {
	tests := []struct {
		dataset, want string
		wantErr       bool
	}{
		{"node-kill", "node-kill", false},
		{"Drive Loss/1", "Drive-Loss-1", false},
		{"a.b_c-d", "a.b_c-d", false},
		{"..", "__", false},
		{"zone:loss*", "zone-loss-", false},
		{strings.Repeat("x", 300), strings.Repeat("x", 249), false},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.dataset, func(t *testing.T) {
			got, err := TopicName(tt.dataset)
			if (err != nil) != tt.wantErr {
				t.Fatalf("TopicName(%q) error = %v, want error %v", tt.dataset, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("TopicName(%q) = %q, want %q", tt.dataset, got, tt.want)
			}
		})
	}
}

func TestSaramaConfig(t *testing.T) {
	tests := []struct {
		acks       string
		want       sarama.RequiredAcks
		idempotent bool
		wantErr    bool
	}{
		{"all", sarama.WaitForAll, true, false},
		{"1", sarama.WaitForLocal, false, false},
		{"0", sarama.NoResponse, false, false},
		{"two", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.acks, func(t *testing.T) {
			c, err := saramaConfig(Config{Brokers: []string{"x:9092"}, Acks: tt.acks})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Producer.RequiredAcks != tt.want || c.Producer.Idempotent != tt.idempotent {
				t.Errorf("acks %s: RequiredAcks %v idempotent %v, want %v %v", tt.acks, c.Producer.RequiredAcks, c.Producer.Idempotent, tt.want, tt.idempotent)
			}
			if !c.Version.IsAtLeast(sarama.V2_1_0_0) {
				t.Errorf("protocol version %v is older than Kafka 4 serves", c.Version)
			}
			if tt.idempotent && c.Net.MaxOpenRequests != 1 {
				t.Errorf("idempotent producer with MaxOpenRequests %d", c.Net.MaxOpenRequests)
			}
		})
	}
}

func TestClassifyAfter(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		elapsed    time.Duration
		indefinite bool
	}{
		{"refused at once", sarama.ErrNotEnoughReplicas, 50 * time.Millisecond, false},
		{"refused after a timed-out attempt", sarama.ErrNotEnoughReplicas, 6 * time.Second, true},
		{"refused when a retry may have followed an appended attempt", sarama.ErrNotEnoughReplicas, retryBackoff, true},
		{"never sent after a retry may have followed a sent attempt", sarama.ErrOutOfBrokers, time.Second, true},
		{"timeout stays unknown", sarama.ErrRequestTimedOut, time.Second, true},
		{"never sent, quickly", sarama.ErrOutOfBrokers, 100 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyAfter(tt.err, tt.elapsed)
			if errors.Is(got, topology.ErrIndefinite) != tt.indefinite || !errors.Is(got, tt.err) {
				t.Errorf("ClassifyAfter(%v, %s) = %v, want indefinite %v", tt.err, tt.elapsed, got, tt.indefinite)
			}
		})
	}
}

// The balancer sends new records to the least loaded partition and passes over one that refused a
// write, unless every partition did.
func TestBalancer(t *testing.T) {
	b := newBalancer()
	now := time.Unix(0, 0)
	var got []int
	for range 3 {
		got = append(got, b.pick("t", 3, now))
	}
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("first picks %v, want one per partition", got)
	}
	b.done("t", 1, nil, now)
	if p := b.pick("t", 3, now); p != 1 {
		t.Errorf("picked %d, want 1, the partition with nothing in flight", p)
	}
	b.done("t", 0, fmt.Errorf("produce: %w", sarama.ErrNotEnoughReplicas), now)
	for range 5 {
		if p := b.pick("t", 3, now); p == 0 {
			t.Fatal("picked partition 0 right after it refused a write")
		}
	}
	if p := b.pick("t", 3, now.Add(availabilityPause)); p != 0 {
		t.Errorf("picked %d after the pause, want 0 (nothing in flight)", p)
	}
	for i := range int32(3) {
		b.done("t", i, fmt.Errorf("produce: %w", sarama.ErrNotEnoughReplicas), now)
	}
	if p := b.pick("t", 3, now); p < 0 || p > 2 {
		t.Errorf("picked %d with every partition paused", p)
	}
}
