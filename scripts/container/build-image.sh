#!/bin/sh
# Builds Cairn's image in one command (docs/deploy.md): the base image if it
# is missing (base-image.sh), then the Containerfile with the labels'
# version (package.json), revision (git) and source (the git remote).
#
# Usage (as root, from anywhere): scripts/container/build-image.sh [TAG]   (default localhost/cairn:VERSION, also tagged :latest)
# BASE=IMAGE builds on another Debian 12 image (e.g. docker.io/debian:bookworm-slim where a registry is reachable).
set -eu

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
base="${BASE:-localhost/debian-min}"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"
[ -n "$version" ] || { echo "build-image.sh: cannot read the version from package.json" >&2; exit 1; }
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
# A worktree with uncommitted changes builds something no revision names: say so in the label.
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then revision="$revision-dirty"; fi
source="$(git remote get-url origin 2>/dev/null || echo unknown)"
tag="${1:-localhost/cairn:$version}"

# Extra CA certificates for the build stage's npm (a TLS-inspecting proxy), as a build secret: not kept in the image.
ca="${BUILD_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}"
secret=""
if [ -n "$ca" ]; then
  [ -r "$ca" ] || { echo "build-image.sh: cannot read the CA file $ca (BUILD_CA_FILE or NODE_EXTRA_CA_CERTS)" >&2; exit 1; }
  secret="--secret id=build-ca,src=$ca"
fi

if [ "$base" = localhost/debian-min ]; then "$root/scripts/container/base-image.sh" "$base"; fi
# The console's static files, built here with the checkout's own vite (npm ci ran in it) and copied into the image.
"$root/node_modules/.bin/node" "$root/scripts/build-console.ts"
echo "building $tag (version $version, revision $revision) on $base"
# The labels go on the command line too: podman 4.3's builder reuses a cached LABEL step even when the build
# arguments in it changed, which would ship the previous build's revision. --label is applied at commit.
# shellcheck disable=SC2086 # $secret is empty or two words
podman build --format docker --network host $secret \
  --build-arg BASE="$base" --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source" \
  --label org.opencontainers.image.version="$version" --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.source="$source" \
  -t "$tag" -t "${tag%:*}:latest" -f Containerfile .
podman image inspect --format 'built {{.Id}}: {{.Size}} bytes' "$tag"
