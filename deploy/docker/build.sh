#!/bin/sh
# Build static regiond and meshctl binaries on the host and the scratch image around them.
#   deploy/docker/build.sh [image]        default image: geomesh/regiond:dev ($IMAGE)
# Run from anywhere; needs go and docker. Nothing is pulled: the image is FROM scratch.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
image=${1:-${IMAGE:-geomesh/regiond:dev}}
out="$root/deploy/docker/build"
GO=${GO:-go}

mkdir -p "$out/data"
cd "$root"
for cmd in regiond meshctl; do
	CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$out/$cmd" "./cmd/$cmd"
done
docker build -q -f deploy/Dockerfile -t "$image" \
	--label org.opencontainers.image.source=geomesh \
	--label "org.opencontainers.image.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	deploy/docker >/dev/null
echo "$image"
