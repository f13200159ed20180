package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"dpsim/stores"
	"dpsim/topology"
)

// Classify marks err with topology.ErrIndefinite unless it proves the record was not appended: the
// broker refused it before appending (NOT_ENOUGH_REPLICAS, not the leader, unknown partition,
// invalid or too large), or the request was never sent (no broker reachable, connection refused,
// producer closed). Timeouts, NOT_ENOUGH_REPLICAS_AFTER_APPEND (appended to the leader, too few
// in-sync replicas to acknowledge), broken connections and anything unrecognised are unknown.
//
// It judges the last attempt's error only; ClassifyAfter also weighs how long the retries took.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrNotEnoughReplicas, sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable,
			sarama.ErrUnknownTopicOrPartition, sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidMessage,
			sarama.ErrInvalidMessageSize, sarama.ErrInvalidRequiredAcks,
			sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed, sarama.ErrInvalidRecord,
			sarama.ErrInvalidTopic, sarama.ErrInvalidProducerEpoch, sarama.ErrProducerFenced,
			sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch, sarama.ErrKafkaStorageError:
			return err
		default:
			return stores.Indefinite(err)
		}
	}
	switch {
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, sarama.ErrClosedClient), errors.Is(err, sarama.ErrShuttingDown),
		errors.Is(err, sarama.ErrProducerRetryBufferOverflow), errors.Is(err, sarama.ErrMessageTooLarge):
		return err
	}
	return stores.TransportError(err)
}

// ClassifyAfter classifies the final error of a record that took elapsed from being handed to the
// producer to its outcome. sarama retries a record (Producer.Retry.Max times, each after
// retryBackoff), and an earlier attempt may have been appended and later committed even though the
// last one was refused (observed: a broker killed under acks=all, min.insync.replicas=2 gave
// NOT_ENOUGH_REPLICAS for records an earlier, timed-out attempt had appended; and after a broker's
// pod went away mid-request, the quick retry on the new leader was refused NOT_ENOUGH_REPLICAS,
// the broker checking its in-sync replicas before it sees the duplicate, for a record the first
// attempt had appended and replicated). sarama does not tell how many attempts a record took, but
// a retry waits retryBackoff first: a definite error that took that long is reported unknown.
func ClassifyAfter(err error, elapsed time.Duration) error {
	err = Classify(err)
	if err != nil && !errors.Is(err, topology.ErrIndefinite) && elapsed >= retryBackoff {
		return fmt.Errorf("%w (after %s of retries, an earlier attempt may have been applied): %w", err, elapsed.Round(time.Millisecond), topology.ErrIndefinite)
	}
	return err
}
