# A Velero plugin image as upstream makes it: the plugin under /plugins and the copier that the
# plugin's init container runs to put it into the shared /target volume.
FROM scratch
COPY {{.Binary}} /plugins/{{.Binary}}
COPY cp-plugin /bin/cp-plugin
USER 65532:65532
ENTRYPOINT ["/bin/cp-plugin", "/plugins/{{.Binary}}", "/target/{{.Binary}}"]
