// Checks the Grafana dashboard: well-formed panels (unique ids, grid positions, a query per
// panel on the ${datasource} variable), every metric it queries is one Lodestone (or etcd,
// the kubelet) exports or plans to, and the figures the operators asked for are all on it.
// Writes every query, with Grafana's variables replaced, as a Prometheus rule file so that
// promtool can check the PromQL.
//   usage: node check_dashboard.mjs DASHBOARD.json RULES_OUT.yaml
import fs from "node:fs";

const [dashboardPath, rulesOut] = process.argv.slice(2);
const dash = JSON.parse(fs.readFileSync(dashboardPath, "utf8"));
const failures = [];
const fail = (msg) => failures.push(msg);

// The metric contract (services' metrics, emitted or planned) and the foreign metrics used.
const known = new Set([
  "lodestone_ledger_appends_total", "lodestone_ledger_events_total", "lodestone_ledger_rejections_total",
  "lodestone_ledger_append_latency_seconds", "lodestone_ledger_append_batch_events",
  "lodestone_ledger_commit_group_requests", "lodestone_ledger_commit_duration_seconds",
  "lodestone_ledger_syncs_total", "lodestone_ledger_committed_events_total", "lodestone_ledger_subscribers",
  "lodestone_ledger_log_size_events", "lodestone_ledger_commit_queue_depth",
  "lodestone_ledger_commit_queue_capacity", "lodestone_rocksdb_sst_bytes", "lodestone_rocksdb_memtable_bytes",
  "lodestone_rocksdb_block_cache_bytes",
  "lodestone_provenance_applied_position", "lodestone_provenance_lag_positions", "lodestone_provenance_lag_seconds",
  "lodestone_provenance_events_applied_total", "lodestone_provenance_query_latency_seconds",
  "lodestone_provenance_flags_raised_total", "lodestone_replication_role",
  "lodestone_replication_leader_changes_total", "lodestone_replication_fencing_rejections_total",
  "lodestone_replication_lag_batches", "lodestone_replication_etcd_txn_seconds",
  "etcd_mvcc_db_total_size_in_bytes", "etcd_server_quota_backend_bytes", "up",
]);
const histograms = [...known].filter((m) => /_seconds$|_batch_events$|_group_requests$/.test(m));
// What the dashboard must show (the list).
const required = [
  "lodestone_ledger_appends_total", "lodestone_ledger_append_latency_seconds", "lodestone_ledger_rejections_total",
  "lodestone_provenance_lag_seconds", "lodestone_provenance_lag_positions", "lodestone_replication_lag_batches",
  "lodestone_replication_leader_changes_total", "lodestone_provenance_query_latency_seconds",
  "lodestone_rocksdb_sst_bytes", "lodestone_rocksdb_memtable_bytes", "lodestone_rocksdb_block_cache_bytes",
];

const metricOf = (name) => {
  for (const h of histograms) if ([`${h}_bucket`, `${h}_count`, `${h}_sum`].includes(name)) return h;
  return name;
};
const promqlWords = new Set(["sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate",
  "histogram_quantile", "label_values", "and", "or", "unless", "on", "ignoring", "group_left", "group_right",
  "offset", "bool", "topk", "bottomk", "quantile", "delta", "deriv", "predict_linear", "abs", "clamp_min",
  "clamp_max", "time", "vector", "scalar", "le", "absent"]);

if (!dash.uid || !dash.title) fail("dashboard has no uid or title");
if (!(dash.templating?.list ?? []).some((v) => v.name === "datasource" && v.type === "datasource")) {
  fail("no datasource variable");
}
const ids = new Set();
const exprs = [];
const used = new Set();
const walk = (panels) => {
  for (const p of panels) {
    if (ids.has(p.id)) fail(`panel id ${p.id} is used twice`);
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || [g.x, g.y, g.w, g.h].some((n) => !Number.isInteger(n)) || g.x + g.w > 24) fail(`panel ${p.title}: bad gridPos`);
    if (p.type === "row") {
      walk(p.panels ?? []);
      continue;
    }
    if (!p.title) fail(`panel ${p.id} has no title`);
    if (p.datasource?.uid !== "${datasource}") fail(`panel ${p.title}: datasource is not \${datasource}`);
    if (!p.targets?.length) fail(`panel ${p.title}: no query`);
    for (const t of p.targets ?? []) {
      if (!t.expr) fail(`panel ${p.title}: target ${t.refId} has no expr`);
      exprs.push({ panel: p.title, expr: t.expr });
    }
  }
};
walk(dash.panels ?? []);

for (const { panel, expr } of exprs) {
  // Identifiers outside strings and outside {...} matchers.
  const bare = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, "{}").replace(/\[[^\]]*\]/g, "[]");
  for (const word of bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
    if (promqlWords.has(word) || /^(pod|namespace|outcome|reason|method|rule|role|instance|job)$/.test(word)) continue;
    const m = metricOf(word);
    if (!known.has(m)) fail(`panel ${panel}: unknown metric ${word}`);
    used.add(m);
  }
}
for (const m of required) if (!used.has(m)) fail(`the dashboard does not show ${m}`);

// Grafana's variables replaced by what Prometheus would see.
const rules = {
  groups: [{
    name: "dashboard-queries",
    rules: exprs.map(({ expr }, i) => ({
      record: `dashboard:query_${i}`,
      expr: expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h")
        .replaceAll("$namespace", ".*").replaceAll("$pod", ".*"),
    })),
  }],
};
fs.writeFileSync(rulesOut, JSON.stringify(rules, null, 2) + "\n");

if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(1);
}
console.log(`ok: ${ids.size} panels, ${exprs.length} queries over ${used.size} metrics`);
