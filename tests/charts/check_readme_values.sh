#!/usr/bin/env bash
# The chart README documents every value: each leaf of values.yaml (a scalar, a list or an empty
# map; resources, security contexts, labels and annotations as a whole) appears in README.md as `path`, and every
# `path` row of the README's values table exists in values.yaml.
#   usage: check_readme_values.sh TOOLS_DIR CHART_DIR
set -euo pipefail
tools=${1:?} chart=$(cd "${2:?}" && pwd)
[ -d "$tools/chart-node/node_modules" ] || { echo "npm packages missing: run the chart_tools test first" >&2; exit 1; }
cd "$tools/chart-node"
node --input-type=module -e '
  import fs from "node:fs";
  import YAML from "yaml";
  const chart = process.argv[1];
  const values = YAML.parse(fs.readFileSync(`${chart}/values.yaml`, "utf8"));
  const readme = fs.readFileSync(`${chart}/README.md`, "utf8");
  const whole = new Set(["resources", "podSecurityContext", "containerSecurityContext", "labels", "annotations"]);
  const leaves = [];
  const walk = (node, path) => {
    const isMap = node && typeof node === "object" && !Array.isArray(node);
    if (!isMap || Object.keys(node).length === 0 || whole.has(path[path.length - 1])) { leaves.push(path.join(".")); return; }
    for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(values, []);
  const documented = new Set([...readme.matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1]));
  const missing = leaves.filter((p) => !documented.has(p));
  const stale = [...documented].filter((p) => !leaves.includes(p));
  for (const p of missing) console.error(`FAIL value ${p} is not in the README values table`);
  for (const p of stale) console.error(`FAIL README documents ${p}, which values.yaml does not have`);
  if (missing.length || stale.length) process.exit(1);
  console.log(`ok: all ${leaves.length} values documented`);
' "$chart"
