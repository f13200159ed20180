# Elasticsearch's runnable archive on Debian's Java 17; it refuses to run as root. nofile.so reports
# the open-files limit its production bootstrap check wants where the host caps it lower (see
# nofile.c).
FROM {{.Base}}
ADD elasticsearch.tar /usr/share/
COPY nofile.so /usr/local/lib/dpsim-nofile.so
RUN useradd --uid 1000 --home-dir /usr/share/elasticsearch --no-create-home elasticsearch \
 && chmod +x /usr/share/elasticsearch/bin/* \
 && chown -R 1000:1000 /usr/share/elasticsearch
ENV ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 LD_PRELOAD=/usr/local/lib/dpsim-nofile.so
USER 1000
WORKDIR /usr/share/elasticsearch
