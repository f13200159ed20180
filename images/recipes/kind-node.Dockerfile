# The last step of the kind node image: metadata that `docker commit` cannot
# set. systemd exits on SIGRTMIN+3, not SIGTERM (which re-executes it).
FROM {{.Base}}
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
