// Validates the objects that `helm template` rendered:
//  1. each object against the Kubernetes API schema of its kind (kubernetes-models; the
//     prometheus-operator models for ServiceMonitor and PrometheusRule); an unknown kind fails;
//  2. no unknown fields anywhere (the same models' TypeScript types, checked by tsc: the
//     API schemas themselves let unknown fields through, the API server drops or refuses them);
//  3. policy: every container has readiness and liveness probes (Lodestone's are native gRPC
//     probes; run-to-completion Job and CronJob pods none), cpu and memory requests and
//     limits, and runs as non-root with no privilege escalation, a read-only root filesystem
//     and every capability dropped; a CronJob forbids overlapping runs and bounds its Jobs'
//     time (activeDeadlineSeconds), retries (backoffLimit) and history;
//  4. references: Services, PDBs, NetworkPolicies and the ServiceMonitor select pods that exist
//     and name ports they have; volumes name ConfigMaps and Secrets that are rendered (or
//     listed as external); StatefulSets name a headless Service; the HPA names its target; a
//     CronJob's lodectl calls name a rendered Service or StatefulSet pod, and every
//     NetworkPolicy guarding it admits the CronJob's pods to the gRPC port;
//  5. the expectations of the value set (object counts by kind, text that must or must not
//     appear; with "clientLabel", every gRPC port admits only pods labelled so, here and in
//     namespaces labelled so, never any source);
//  6. cert-manager Certificates: a Lodestone program's carries exactly one identity URI SAN
//     (urn:lodestone:node:<id>), an etcd member's none, each Secret they write is mounted; a
//     party's carries exactly one urn:lodestone:party:<id>, client auth only, mounted by none.
// Usage (from a directory under the npm packages' node_modules, see check_chart.sh):
//   node validate_manifests.mjs RENDERED.yaml [EXPECT.json]
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const YAML = require("yaml");
const ts = require("typescript");

const [renderedPath, expectPath] = process.argv.slice(2);
if (!renderedPath) {
  console.error("usage: validate_manifests.mjs RENDERED.yaml [EXPECT.json]");
  process.exit(2);
}
const text = fs.readFileSync(renderedPath, "utf8");
const expect = expectPath ? JSON.parse(fs.readFileSync(expectPath, "utf8")) : {};
const failures = [];
const fail = (obj, msg) => failures.push(`${obj ? `${obj.kind}/${obj.metadata?.name}: ` : ""}${msg}`);

// Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml): 0440 is octal, yes/no are booleans.
const objects = [];
for (const doc of YAML.parseAllDocuments(text, { version: "1.1" })) {
  if (doc.errors.length) {
    failures.push(`YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  const obj = doc.toJS();
  if (obj !== null && obj !== undefined) objects.push(obj);
}
if (objects.length === 0) failures.push("no objects rendered");

// --- 1. API schemas -------------------------------------------------------------------------
function modelModule(obj) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${obj.kind}`;
  if (group === "cert-manager.io") return `@kubernetes-models/cert-manager/${group}/${version}/${obj.kind}`;
  return group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
}
const typed = [];
const seen = new Set();
for (const obj of objects) {
  if (typeof obj !== "object" || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
    fail(null, `object without apiVersion, kind or metadata.name: ${JSON.stringify(obj).slice(0, 120)}`);
    continue;
  }
  const key = `${obj.apiVersion}/${obj.kind}/${obj.metadata.namespace ?? ""}/${obj.metadata.name}`;
  if (seen.has(key)) fail(obj, "rendered twice");
  seen.add(key);
  const spec = modelModule(obj);
  let mod;
  try {
    mod = await import(spec);
  } catch (e) {
    fail(obj, `no API schema for ${obj.apiVersion} ${obj.kind} (${e.code ?? e.message})`);
    continue;
  }
  const Model = mod[obj.kind];
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(obj, `API schema: ${e.message}`);
  }
  typed.push({ obj, spec, type: `I${obj.kind}` });
}

// --- 2. Unknown fields: every object as a typed object literal, checked by tsc ----------------
{
  const dir = fs.mkdtempSync(path.join(path.dirname(new URL(import.meta.url).pathname), "tsc-"));
  const file = path.join(dir, "objects.mts");
  const lines = [];
  const specs = [...new Set(typed.map((t) => t.spec))];
  specs.forEach((spec, i) => {
    const kind = spec.split("/").pop();
    lines.push(`import type { I${kind} as T${i} } from "${spec}";`);
  });
  const lineOf = [];
  typed.forEach((t, i) => {
    lineOf[lines.length] = t.obj;
    lines.push(`export const o${i}: T${specs.indexOf(t.spec)} = ${JSON.stringify(t.obj)};`);
  });
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  });
  // Type errors. tsc reports one error per object literal, so unknown fields (excess property
  // errors 2353/2561) are found below instead, by walking every nested literal.
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.code === 2353 || d.code === 2561) continue;
    const msg = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file && d.file.fileName === file) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      fail(lineOf[line] ?? null, `field check: ${msg}`);
    } else {
      fail(null, `field check: ${msg}`);
    }
  }
  // Unknown fields: each object literal's keys against the properties of its contextual type
  // (types with an index signature, such as labels or ConfigMap data, take any key).
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const pathOf = (node) => {
    const parts = [];
    for (let n = node; n && !ts.isVariableDeclaration(n); n = n.parent) {
      if (ts.isPropertyAssignment(n)) parts.unshift(n.name.text);
      else if (ts.isArrayLiteralExpression(n.parent ?? {}) && n.parent.elements) parts.unshift(`[${n.parent.elements.indexOf(n)}]`);
    }
    return parts.join(".").replace(/\.\[/g, "[");
  };
  const visit = (node) => {
    if (ts.isObjectLiteralExpression(node)) {
      const contextual = checker.getContextualType(node);
      if (contextual) {
        const type = checker.getNonNullableType(contextual);
        const members = type.isUnion() ? type.types : [type];
        const open = members.some((t) => checker.getIndexInfosOfType(t).length > 0 || (t.flags & ts.TypeFlags.Any));
        if (!open) {
          const known = new Set(members.flatMap((t) => checker.getPropertiesOfType(t).map((p) => p.name)));
          for (const prop of node.properties) {
            if (ts.isPropertyAssignment(prop) && !known.has(prop.name.text)) {
              const { line } = source.getLineAndCharacterOfPosition(prop.getStart());
              const at = pathOf(prop);
              fail(lineOf[line] ?? null, `unknown field ${at} (not in ${checker.typeToString(type)})`);
            }
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  fs.rmSync(dir, { recursive: true, force: true });
}

// --- 3. Policy: probes, resources, security -------------------------------------------------
const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"].includes(o.kind));
// Run-to-completion pods (Jobs, CronJobs' Jobs) have no readiness, liveness or Service.
const runsToCompletion = (w) => w.kind === "Job" || w.kind === "CronJob";
const podTemplate = (w) => (w.kind === "CronJob" ? w.spec?.jobTemplate?.spec?.template : w.spec?.template);
const podOf = (w) => podTemplate(w)?.spec ?? {};
const podLabels = (w) => podTemplate(w)?.metadata?.labels ?? {};
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const matchesExpr = (exprs, labels) =>
  (exprs ?? []).every((e) =>
    e.operator === "In" ? e.values.includes(labels[e.key]) :
    e.operator === "NotIn" ? !e.values.includes(labels[e.key]) :
    e.operator === "Exists" ? e.key in labels : !(e.key in labels));
const podsMatching = (sel) =>
  workloads.filter((w) => matches(sel?.matchLabels ?? sel, podLabels(w)) && matchesExpr(sel?.matchExpressions, podLabels(w)));
const containerPorts = (w) => podOf(w).containers?.flatMap((c) => c.ports ?? []) ?? [];
const hasPort = (w, port) =>
  containerPorts(w).some((p) => (typeof port === "number" ? p.containerPort === port : p.name === port));

const hasQty = (r, k) => r?.[k] !== undefined && r[k] !== null && r[k] !== "";
for (const w of workloads) {
  const pod = podOf(w);
  const psc = pod.securityContext ?? {};
  if (pod.automountServiceAccountToken !== false) fail(w, "automountServiceAccountToken is not false");
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) fail(w, "uses the host's namespaces");
  const all = [...(pod.initContainers ?? []).map((c) => [c, true]), ...(pod.containers ?? []).map((c) => [c, false])];
  if (!pod.containers?.length) fail(w, "no containers");
  for (const [c, init] of all) {
    const where = `container ${c.name}`;
    if (!init && !runsToCompletion(w)) {
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        if (!c[probe]) fail(w, `${where} has no ${probe}`);
      }
      if (/\/lodestone-/.test(c.command?.[0] ?? "")) {
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
          const p = c[probe];
          if (p && !p.grpc) fail(w, `${where}: ${probe} is not a native gRPC probe`);
          if (p?.grpc && !hasPort(w, p.grpc.port)) fail(w, `${where}: ${probe} port ${p.grpc.port} is not a container port`);
        }
      }
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (port !== undefined && !hasPort(w, port)) fail(w, `${where}: ${probe} port ${port} is not a container port`);
      }
    }
    for (const side of ["requests", "limits"]) {
      for (const res of ["cpu", "memory"]) {
        if (!hasQty(c.resources?.[side], res)) fail(w, `${where} has no ${res} ${side}`);
      }
    }
    const sc = c.securityContext ?? {};
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    const uid = sc.runAsUser ?? psc.runAsUser;
    if (nonRoot !== true) fail(w, `${where} does not set runAsNonRoot`);
    if (uid === undefined || uid === 0) fail(w, `${where} does not run as a non-zero uid`);
    if (sc.allowPrivilegeEscalation !== false) fail(w, `${where} allows privilege escalation`);
    if (sc.readOnlyRootFilesystem !== true) fail(w, `${where} has a writable root filesystem`);
    if (sc.privileged === true) fail(w, `${where} is privileged`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(w, `${where} does not drop ALL capabilities`);
    if (sc.capabilities?.add?.length) fail(w, `${where} adds capabilities`);
    if (!c.image || /:latest$/.test(c.image) || !/[:@]/.test(c.image)) fail(w, `${where}: image ${c.image} has no pinned tag`);
    // Every writable path must be a volume (read-only root filesystem).
    const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
    const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((v) => v.metadata.name));
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name) && !claims.has(m.name)) fail(w, `${where} mounts unknown volume ${m.name}`);
    }
  }
}

// --- 4. References between objects ----------------------------------------------------------
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const names = (kind) => new Set(byKind(kind).map((o) => o.metadata.name));
const externalSecrets = new Set(expect.externalSecrets ?? []);
// Secrets that cert-manager writes for a rendered Certificate count as rendered.
for (const c of objects.filter((o) => o.kind === "Certificate")) externalSecrets.add(c.spec?.secretName);
for (const svc of byKind("Service")) {
  const pods = podsMatching({ matchLabels: svc.spec.selector });
  if (!pods.length) fail(svc, "selects no pods");
  for (const p of svc.spec.ports ?? []) {
    const target = p.targetPort ?? p.port;
    for (const w of pods) if (!hasPort(w, target)) fail(svc, `port ${p.name}: ${w.kind}/${w.metadata.name} has no port ${target}`);
  }
}
for (const w of byKind("StatefulSet")) {
  const svc = byKind("Service").find((s) => s.metadata.name === w.spec.serviceName);
  if (!svc) fail(w, `serviceName ${w.spec.serviceName} is not rendered`);
  else if (svc.spec.clusterIP !== "None") fail(w, `serviceName ${w.spec.serviceName} is not headless`);
  if (w.metadata.name.length > 52) fail(w, "name longer than 52 characters (pod names of a StatefulSet)");
  if (!w.spec.volumeClaimTemplates?.length) fail(w, "has no volumeClaimTemplates");
}
// A CronJob: one run at a time, bounded in time and retries, with bounded history.
for (const cj of byKind("CronJob")) {
  const job = cj.spec.jobTemplate?.spec ?? {};
  if (cj.spec.concurrencyPolicy !== "Forbid") fail(cj, "concurrencyPolicy is not Forbid (runs could overlap)");
  if (!(job.activeDeadlineSeconds > 0)) fail(cj, "its Jobs have no activeDeadlineSeconds");
  if (job.backoffLimit === undefined) fail(cj, "its Jobs have no backoffLimit");
  for (const k of ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"]) if (cj.spec[k] === undefined) fail(cj, `has no ${k}`);
  if (!["Never", "OnFailure"].includes(podOf(cj).restartPolicy)) fail(cj, "its pods' restartPolicy is not Never or OnFailure");
}
// A CronJob's lodectl calls reach the pods they name (a Service, or a StatefulSet pod by its
// stable name) through every NetworkPolicy guarding them: a gRPC rule admits the CronJob's pods.
for (const cj of byKind("CronJob")) {
  const spec = podOf(cj);
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    if (!/\/lodectl$/.test(c.command?.[0] ?? "")) continue;
    const host = ((c.args ?? []).find((a) => a.startsWith("--server=")) ?? "").slice(9).split(":")[0];
    const first = host.split(".")[0];
    const svc = byKind("Service").find((s) => s.metadata.name === first && s.spec.clusterIP !== "None");
    const sts = byKind("StatefulSet").find((s) => new RegExp(`^${s.metadata.name}-[0-9]+$`).test(first) &&
      host.startsWith(`${first}.${s.spec.serviceName}.`));
    const targets = svc ? podsMatching({ matchLabels: svc.spec.selector }) : sts ? [sts] : [];
    if (!targets.length) { fail(cj, `container ${c.name}: --server=${host} names no rendered Service or StatefulSet pod`); continue; }
    for (const np of byKind("NetworkPolicy").filter((np) => podsMatching(np.spec.podSelector).some((w) => targets.includes(w)))) {
      const admits = (np.spec.ingress ?? []).some((r) => (r.ports ?? []).some((p) => p.port === "grpc") &&
        (!r.from?.length || r.from.some((peer) => peer.podSelector && !peer.namespaceSelector && matches(peer.podSelector.matchLabels, podLabels(cj)))));
      if (!admits) fail(np, `does not admit CronJob/${cj.metadata.name}'s pods (container ${c.name}) to the gRPC port`);
    }
  }
}
for (const w of workloads) {
  if (w.spec.selector && !matches(w.spec.selector.matchLabels, podLabels(w))) fail(w, "selector does not match its pod labels");
  for (const v of podOf(w).volumes ?? []) {
    if (v.configMap && !names("ConfigMap").has(v.configMap.name)) fail(w, `volume ${v.name}: ConfigMap ${v.configMap.name} is not rendered`);
    if (v.secret && !names("Secret").has(v.secret.secretName) && !externalSecrets.has(v.secret.secretName)) {
      fail(w, `volume ${v.name}: Secret ${v.secret.secretName} is neither rendered nor expected to exist`);
    }
  }
}
for (const pdb of byKind("PodDisruptionBudget")) {
  if (!podsMatching(pdb.spec.selector).length) fail(pdb, "selects no pods");
}
for (const hpa of byKind("HorizontalPodAutoscaler")) {
  const t = hpa.spec.scaleTargetRef;
  if (!objects.some((o) => o.kind === t.kind && o.metadata.name === t.name)) fail(hpa, `target ${t.kind}/${t.name} is not rendered`);
  const target = objects.find((o) => o.kind === t.kind && o.metadata.name === t.name);
  if (target?.spec?.replicas !== undefined) fail(hpa, `target ${t.name} sets replicas (it would fight the autoscaler)`);
}
for (const np of byKind("NetworkPolicy")) {
  const pods = podsMatching(np.spec.podSelector);
  if (!pods.length) fail(np, "selects no pods");
  for (const rule of np.spec.ingress ?? []) {
    for (const p of rule.ports ?? []) for (const w of pods) if (!hasPort(w, p.port)) fail(np, `${w.metadata.name} has no port ${p.port}`);
    for (const peer of rule.from ?? []) {
      const byClientLabel = expect.clientLabel && peer.podSelector?.matchLabels?.[expect.clientLabel] === "true";
      if (peer.podSelector && !peer.namespaceSelector && !byClientLabel && !podsMatching(peer.podSelector).length && !expect.externalPeers) {
        fail(np, `peer ${JSON.stringify(peer.podSelector)} selects no pods of the release`);
      }
    }
  }
}
for (const sm of byKind("ServiceMonitor")) {
  const svcs = byKind("Service").filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}) &&
    matchesExpr(sm.spec.selector.matchExpressions, s.metadata.labels ?? {}));
  for (const ep of sm.spec.endpoints) {
    const scraped = svcs.filter((s) => s.spec.ports.some((p) => p.name === ep.port));
    if (!scraped.length) fail(sm, `no Service has a port named ${ep.port}`);
    const components = new Set(scraped.map((s) => s.metadata.labels["app.kubernetes.io/component"]));
    if (components.size !== scraped.length) fail(sm, "scrapes a component through more than one Service");
    for (const w of workloads.filter((w) => !runsToCompletion(w))) {
      if (!scraped.some((s) => matches(s.spec.selector, podLabels(w)))) fail(sm, `does not scrape ${w.kind}/${w.metadata.name}`);
    }
  }
}
for (const cm of byKind("ConfigMap")) {
  for (const [key, value] of Object.entries(cm.data ?? {})) {
    if (!key.endsWith(".flags")) continue;
    for (const line of value.split("\n")) {
      if (line.trim() && !line.startsWith("#") && !/^--[a-z0-9_]+=\S*$/.test(line)) fail(cm, `${key}: not a flag line: "${line}"`);
    }
  }
}
for (const o of objects) {
  const n = o.metadata.name;
  if (n.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)) fail(o, "name is not a DNS label");
  const labels = o.metadata.labels ?? {};
  for (const l of ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"]) {
    if (!labels[l]) fail(o, `has no ${l} label`);
  }
}

// Template whitespace: a line of blanks betrays an include whose output was empty.
text.split("\n").forEach((line, i) => {
  if (/^\s+$/.test(line)) fail(null, `rendered line ${i + 1} holds only blanks (template trimming)`);
});

// --- 5. Expectations of the value set -------------------------------------------------------
const counts = {};
for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
for (const [kind, n] of Object.entries(expect.kinds ?? {})) {
  if ((counts[kind] ?? 0) !== n) fail(null, `expected ${n} ${kind}, rendered ${counts[kind] ?? 0}`);
}
if (expect.kinds) {
  for (const kind of Object.keys(counts)) if (!(kind in expect.kinds)) fail(null, `unexpected kind ${kind} (${counts[kind]})`);
}
for (const s of expect.contains ?? []) if (!text.includes(s)) fail(null, `rendered text lacks "${s}"`);
for (const s of expect.lacks ?? []) if (text.includes(s)) fail(null, `rendered text has "${s}"`);

// Only labelled clients: every policy of a Lodestone program has, on its gRPC port, the two
// label peers, and no rule on that port admits any source (no or an empty `from`).
if (expect.clientLabel) {
  const label = expect.clientLabel;
  const lodestone = byKind("NetworkPolicy").filter((np) =>
    podsMatching(np.spec.podSelector).some((w) => podOf(w).containers.some((c) => /\/lodestone-/.test(c.command?.[0] ?? ""))));
  if (!lodestone.length) fail(null, "no NetworkPolicy guards a Lodestone program");
  for (const np of lodestone) {
    const grpcRules = (np.spec.ingress ?? []).filter((r) => (r.ports ?? []).some((p) => p.port === "grpc"));
    for (const r of grpcRules) if (!r.from?.length) fail(np, "a rule admits any source to the gRPC port");
    const peers = grpcRules.flatMap((r) => r.from ?? []);
    const labelled = (sel) => sel?.matchLabels?.[label] === "true";
    if (!peers.some((p) => labelled(p.podSelector) && !p.namespaceSelector)) fail(np, `no peer selects pods labelled ${label}=true`);
    if (!peers.some((p) => labelled(p.podSelector) && labelled(p.namespaceSelector))) fail(np, `no peer selects labelled pods of namespaces labelled ${label}=true`);
  }
}

// --- 6. cert-manager Certificates ----------------------------------------------------------
const mountedSecrets = new Set(workloads.flatMap((w) => (podOf(w).volumes ?? []).map((v) => v.secret?.secretName).filter(Boolean)));
// Secrets mounted by pods running a Lodestone program (not lodectl: a client may hold a party's).
const programs = workloads.filter((w) => (podOf(w).containers ?? []).some((c) => /\/lodestone-/.test(c.command?.[0] ?? "")));
const programSecrets = new Set(programs.flatMap((w) => (podOf(w).volumes ?? []).map((v) => v.secret?.secretName).filter(Boolean)));
for (const c of byKind("Certificate")) {
  const uris = c.spec.uris ?? [];
  const usages = c.spec.usages ?? [];
  const identities = uris.filter((u) => /^urn:lodestone:/i.test(u));
  const component = c.metadata.labels?.["app.kubernetes.io/component"];
  const kind = component === "party" ? "party" : "node";
  if (component === "etcd") {
    if (identities.length) fail(c, `an etcd certificate carries a Lodestone identity (${identities.join(", ")})`);
  } else if (identities.length !== 1 || !new RegExp(`^urn:lodestone:${kind}:[A-Za-z0-9._:/-]{1,128}$`).test(identities[0])) {
    fail(c, `must carry exactly one identity URI SAN urn:lodestone:${kind}:<id>, has ${JSON.stringify(uris)}`);
  }
  if (!c.spec.issuerRef?.name) fail(c, "has no issuerRef.name");
  if (component === "party") {
    // A party's certificate is a client's: it never serves, and no Lodestone pod holds it.
    if (!usages.includes("client auth") || usages.includes("server auth")) fail(c, `usages must be client auth only, are ${JSON.stringify(usages)}`);
    if (programSecrets.has(c.spec.secretName)) fail(c, `a Lodestone pod mounts the party Secret ${c.spec.secretName}`);
    continue;
  }
  for (const u of ["server auth", "client auth"]) if (!usages.includes(u)) fail(c, `usages lack "${u}"`);
  if (!mountedSecrets.has(c.spec.secretName)) fail(c, `no pod mounts its Secret ${c.spec.secretName}`);
}

// The rendered PrometheusRules, for promtool (check_chart.sh).
if (process.env.RULES_OUT) {
  const groups = byKind("PrometheusRule").flatMap((r) => r.spec.groups ?? []);
  if (groups.length) fs.writeFileSync(process.env.RULES_OUT, JSON.stringify({ groups }, null, 2) + "\n");
}

const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  console.error(`${failures.length} problem(s) in ${objects.length} objects (${summary})`);
  process.exit(1);
}
const containers = workloads.reduce((n, w) => n + (podOf(w).containers?.length ?? 0), 0);
console.log(`ok: ${objects.length} objects (${summary}); ${containers} containers with probes, requests, limits, non-root`);
