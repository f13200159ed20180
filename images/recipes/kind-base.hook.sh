#!/bin/sh
# mmdebstrap customize hook for the kind node base image.
# $1: the root filesystem being built; $2: kind's images/base/files directory
# (from the Go module cache of sigs.k8s.io/kind). It lays out the files and
# performs the steps of kind's base Dockerfile on Debian's packages.
set -eu
root=$1
files=$2

install -d -m 0755 "$root/kind" "$root/kind/bin" "$root/kind/manifests" "$root/LICENSES" \
	"$root/etc/containerd" "$root/etc/default" "$root/etc/sysctl.d" \
	"$root/etc/systemd/system/kubelet.service.d" "$root/etc/kubernetes/manifests"
for f in "$files"/usr/local/bin/*; do install -m 0755 "$f" "$root/usr/local/bin/"; done
for f in "$files"/kind/*; do if [ -f "$f" ]; then install -m 0644 "$f" "$root/kind/"; fi; done
for f in "$files"/kind/bin/*; do install -m 0755 "$f" "$root/kind/bin/"; done
for f in "$files"/LICENSES/*; do install -m 0644 "$f" "$root/LICENSES/"; done
for f in "$files"/etc/*; do if [ -f "$f" ]; then install -m 0644 "$f" "$root/etc/"; fi; done
for d in containerd default sysctl.d systemd/system systemd/system/kubelet.service.d; do
	for f in "$files/etc/$d"/*; do if [ -f "$f" ]; then install -m 0644 "$f" "$root/etc/$d/"; fi; done
done

# Debian ships containerd and ctr in /usr/bin and the CNI plugins in
# /usr/lib/cni; kind's units and config expect them elsewhere.
ln -sf /usr/bin/containerd "$root/usr/local/bin/containerd"
ln -sf /usr/bin/ctr "$root/usr/local/bin/ctr"
ln -sf /usr/bin/containerd-shim-runc-v2 "$root/usr/local/bin/containerd-shim-runc-v2"
install -d -m 0755 "$root/opt/cni"
rm -rf "$root/opt/cni/bin"
ln -s /usr/lib/cni "$root/opt/cni/bin"

# The steps of kind's base Dockerfile.
find "$root/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
rm -f "$root"/lib/systemd/system/multi-user.target.wants/*
rm -f "$root"/etc/systemd/system/*.wants/*
rm -f "$root"/lib/systemd/system/local-fs.target.wants/*
rm -f "$root"/lib/systemd/system/sockets.target.wants/*udev*
rm -f "$root"/lib/systemd/system/sockets.target.wants/*initctl*
rm -f "$root"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "$root/sbin/init"
chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service
chroot "$root" systemctl mask systemd-binfmt.service

# containerd's base runtime spec, as kind's Dockerfile makes it.
chroot "$root" ctr oci spec \
	| jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
	| jq 'del(.process.rlimits)' >"$root/etc/containerd/cri-base.json"

# Keep the image small.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
