# Velero: the server, node-agent, data-mover and repository-maintenance binary and the restore
# helper, both at / (Velero hard-codes those paths), on a locally built Debian base. It runs as
# root with a writable HOME and /tmp (kopia keeps its repository config there).
FROM {{.Base}}
COPY velero /velero
COPY velero-restore-helper /velero-restore-helper
ENV HOME=/root
ENTRYPOINT ["/velero"]
