# Apache Kafka's jars and their runtime dependencies on Debian's Java 17. The broker's configuration
# and start script come from the platform's manifests.
FROM {{.Base}}
ADD kafka-libs.tar /opt/kafka/
