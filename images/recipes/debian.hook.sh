#!/bin/sh
# mmdebstrap customize hook for the small Debian base images. $1: the root filesystem.
set -eu
root=$1
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
