#!/usr/bin/env bash
# deps.sh: host setup for dpsim (called by `make deps`). Idempotent; run as root.
#
# - installs the Debian packages the image builds and the kind provider need
#   (docker.io, mmdebstrap, iptables, e2fsprogs for the volume disk, ...) when they are missing;
# - when the host's capability bounding set lacks CAP_SYS_RESOURCE, builds
#   images/runcshim and registers it as the Docker daemon's default runtime
#   (see DESIGN.md: without it `docker run --privileged` fails);
# - starts dockerd in the background (these machines have no systemd), its log
#   in /var/log/dockerd.log, and waits until `docker info` answers;
# - checks that `docker run --privileged` works with a tiny locally built image.
#
# Environment:
#   DPSIM_DOCKER_DEADLINE  seconds to wait for dockerd (default 60)
#   DPSIM_SHIM_DIR         where the runtime shim is installed (default /usr/local/libexec/dpsim)
set -euo pipefail

log() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts dockerd); try: sudo $0"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deadline=${DPSIM_DOCKER_DEADLINE:-60}
shim_dir=${DPSIM_SHIM_DIR:-/usr/local/libexec/dpsim}
shim_bin=$shim_dir/runc-shim
daemon_json=/etc/docker/daemon.json
docker_log=/var/log/dockerd.log
start=$SECONDS

# Debian's docker.io is the engine; its `docker` client may be shadowed by a
# newer one on PATH, which negotiates the API version and works as well.
packages=(docker.io containerd runc iptables mmdebstrap busybox-static gcc libc6-dev jq ca-certificates e2fsprogs)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/tmp/dpsim-apt-update.log 2>&1 || die "apt-get update failed (log: /tmp/dpsim-apt-update.log)"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/dpsim-apt-install.log 2>&1 ||
		die "apt-get install ${missing[*]} failed (log: /tmp/dpsim-apt-install.log)"
else
	log "packages present"
fi
command -v go >/dev/null || die "go is not on PATH (needed to build the runtime shim and the images)"

# CAP_SYS_RESOURCE is bit 24 of the bounding set.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
need_shim=0
if (((0x$capbnd >> 24) & 1)); then
	log "CAP_SYS_RESOURCE is in the bounding set: no runtime shim needed"
else
	need_shim=1
	log "CAP_SYS_RESOURCE is missing from the bounding set (CapBnd $capbnd): installing the runtime shim"
fi

config_changed=0
if ((need_shim)); then
	mkdir -p "$shim_dir"
	tmp=$(mktemp "$shim_dir/.runc-shim.XXXXXX")
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$tmp" ./images/runcshim) || { rm -f "$tmp"; die "build of images/runcshim failed"; }
	if [[ -x $shim_bin ]] && cmp -s "$tmp" "$shim_bin"; then
		rm -f "$tmp"
	else
		mv -f "$tmp" "$shim_bin"
		config_changed=1
		log "installed $shim_bin"
	fi
	mkdir -p /etc/docker
	[[ -s $daemon_json ]] || echo '{}' >"$daemon_json"
	want=$(jq --arg p "$shim_bin" '.runtimes["dpsim-runc"] = {path: $p} | ."default-runtime" = "dpsim-runc"' "$daemon_json") ||
		die "cannot parse $daemon_json"
	if [[ $(jq -S . "$daemon_json") != $(jq -S . <<<"$want") ]]; then
		printf '%s\n' "$want" >"$daemon_json"
		config_changed=1
		log "registered dpsim-runc as the default runtime in $daemon_json"
	fi
fi

docker_up() { timeout 10 docker info >/dev/null 2>&1; }

dockerd_pid() { pgrep -x dockerd | head -n1 || true; }

if docker_up && ((config_changed)); then
	# dockerd reads runtimes on SIGHUP, but default-runtime only at start.
	pid=$(dockerd_pid)
	if [[ -n $pid ]]; then
		log "restarting dockerd ($pid) to apply $daemon_json"
		kill "$pid"
		for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		kill -0 "$pid" 2>/dev/null && die "dockerd ($pid) did not stop within 30 s"
	else
		die "docker answers but no local dockerd runs; cannot apply $daemon_json"
	fi
fi

if ! docker_up; then
	[[ -z $(dockerd_pid) ]] || die "dockerd runs but does not answer; see $docker_log"
	rm -f /var/run/docker.pid
	log "starting dockerd (log: $docker_log)"
	nohup /usr/sbin/dockerd >>"$docker_log" 2>&1 </dev/null &
	end=$((SECONDS + deadline))
	until docker_up; do
		((SECONDS < end)) || { tail -n 20 "$docker_log" >&2; die "dockerd did not answer within ${deadline}s (log: $docker_log)"; }
		kill -0 $! 2>/dev/null || { tail -n 20 "$docker_log" >&2; die "dockerd exited (log: $docker_log)"; }
		sleep 1
	done
fi
log "docker answers: server $(docker version --format '{{.Server.Version}}'), runtime $(docker info --format '{{.DefaultRuntime}}'), cgroup v$(docker info --format '{{.CgroupVersion}}')"

# Check `docker run --privileged` with a tiny image made from busybox-static.
check_image=dpsim/deps-check:busybox
if ! docker image inspect "$check_image" >/dev/null 2>&1; then
	dir=$(mktemp -d)
	mkdir -p "$dir/bin"
	cp /bin/busybox "$dir/bin/busybox"
	ln -s busybox "$dir/bin/sh"
	tar -C "$dir" -c . | docker import -c 'CMD ["/bin/sh"]' - "$check_image" >/dev/null || { rm -rf "$dir"; die "docker import of the check image failed"; }
	rm -rf "$dir"
fi
out=$(docker run --rm --privileged "$check_image" /bin/busybox grep CapEff /proc/self/status 2>&1) ||
	die "docker run --privileged failed: $out (dockerd log: $docker_log)"
log "docker run --privileged works ($out)"
log "done in $((SECONDS - start)) s"
