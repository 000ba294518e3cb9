#!/bin/sh
# Builds the base image every stage of the Containerfile starts from,
# localhost/debian-min, from Debian's packages: machines without an image
# registry (see docs/deploy.md) can still build Cairn's image. Where a
# registry is reachable, `podman pull docker.io/debian:bookworm-slim` and
# `--build-arg BASE=docker.io/debian:bookworm-slim` do the same job.
#
# Usage (as root): scripts/container/base-image.sh [IMAGE]   (default localhost/debian-min)
# Does nothing when IMAGE exists already; FORCE=1 rebuilds it.
set -eu

image="${1:-localhost/debian-min}"
suite="${SUITE:-bookworm}"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$image"; then
  echo "base image $image exists (FORCE=1 rebuilds it)"
  exit 0
fi
for tool in debootstrap podman tar; do
  command -v "$tool" >/dev/null 2>&1 || { echo "base-image.sh: $tool is missing (Debian: apt-get install -y podman runc debootstrap)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "base-image.sh: debootstrap needs root" >&2; exit 1; }

rootfs="$(mktemp -d /var/tmp/cairn-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap --variant=minbase $suite into $rootfs (a few minutes)"
debootstrap --variant=minbase "$suite" "$rootfs" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# Package lists and caches are rebuilt by `apt-get update` in the stages that install packages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image"
echo "imported $image"
