# Apache Hadoop's HDFS jars and their runtime dependencies on Debian's Java 17. The configuration
# (core-site.xml, hdfs-site.xml, log4j.properties in /etc/hadoop) and the command come from the
# platform's manifests; /opt/hadoop/java.args holds what every Hadoop JVM needs, as in
#   java @/opt/hadoop/java.args -Xmx192m org.apache.hadoop.hdfs.server.namenode.NameNode
# The class path puts /etc/hadoop first, then /opt/hadoop, whose empty webapps/hdfs and
# webapps/datanode the HTTP servers look for. The --add-opens list is extraJavaTestArgs of
# hadoop-project's POM (kept in sync with hadoop-functions.sh): without it WebHDFS answers 500 on
# Java 17.
FROM {{.Base}}
ADD hdfs-libs.tar /opt/hadoop/
RUN mkdir -p /opt/hadoop/webapps/hdfs /opt/hadoop/webapps/datanode /etc/hadoop \
 && printf '%s\n' \
      -cp '/etc/hadoop:/opt/hadoop:/opt/hadoop/libs/*' \
      -XX:+IgnoreUnrecognizedVMOptions \
      --add-opens=java.base/java.io=ALL-UNNAMED \
      --add-opens=java.base/java.lang=ALL-UNNAMED \
      --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
      --add-opens=java.base/java.math=ALL-UNNAMED \
      --add-opens=java.base/java.net=ALL-UNNAMED \
      --add-opens=java.base/java.text=ALL-UNNAMED \
      --add-opens=java.base/java.util=ALL-UNNAMED \
      --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
      --add-opens=java.base/java.util.zip=ALL-UNNAMED \
      --add-opens=java.base/sun.security.util=ALL-UNNAMED \
      --add-opens=java.base/sun.security.x509=ALL-UNNAMED \
      > /opt/hadoop/java.args
WORKDIR /opt/hadoop
