#!/usr/bin/env bash
# Builds the images of the Lodestone programs with ops/images/Dockerfile (docker or podman).
#   ops/images/build.sh [PROGRAM...]     default: every program
# Environment: REGISTRY (prefix, e.g. registry.example.com/minerals), TAG (default: the chart's
# appVersion), ENGINE (docker or podman; default: whichever is installed), PUSH=1 to push.
# Image names match the chart's defaults: lodestone/ledger, lodestone/server,
# lodestone/provenance, lodestone/lodectl, lodestone/loadgen.
set -euo pipefail
cd "$(dirname "$0")/../.."
engine=${ENGINE:-$(command -v docker >/dev/null && echo docker || echo podman)}
tag=${TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/lodestone/Chart.yaml)}
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(lodestone-ledger lodestone-server lodestone-provenance lodectl lodestone-loadgen)
for program in "${programs[@]}"; do
  image="${REGISTRY:+$REGISTRY/}lodestone/${program#lodestone-}:$tag"
  echo "== $program -> $image"
  DOCKER_BUILDKIT=1 "$engine" build -f ops/images/Dockerfile --build-arg PROGRAM="$program" \
    --target "$program" -t "$image" .
  if [ "${PUSH:-0}" = 1 ]; then "$engine" push "$image"; fi
done
