// Package kafka is the real log store: one tenant's Kafka cluster seen through sarama. A dataset is
// one topic, created on first use with the spec's partitions, replication factor and min in-sync
// replicas; every write is one record (key = id), and every outcome is classified as acknowledged,
// failed (definitely not applied) or unknown (topology.ErrIndefinite). Reads go through the
// partitions' leaders; placement is observed by fetching each partition from every one of its
// replicas.
package kafka
