// The compliance console in headless Chromium (Debian's chromium, driven by puppeteer-core) on
// a real lodestone-server holding the demo (console_test.sh starts it). Every page is opened and
// its content checked against the JSON API's answers (the same query code as gRPC) and against
// docs/demo.md; screenshots are kept in ARTEFACT_DIR. Every request must stay on the console's
// own origin. Prints "N passed, N failed"; exits 1 on any failure.
//
// usage: node console_test.mjs BASE_URL ARTEFACT_DIR [LODECTL_SHIPMENT_OUTPUT]
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [base, artefacts, lodectlShipment] = process.argv.slice(2);
const origin = new URL(base).origin;
const console_ = `${origin}/console/`;
fs.rmSync(artefacts, {recursive: true, force: true});
fs.mkdirSync(artefacts, {recursive: true});

let passed = 0;
let failed = 0;
function check(name, condition, detail) {
  if (condition) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  }
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
await page.setViewport({width: 1280, height: 900});
const offsite = [];
const errors = [];
page.on('request', (request) => {
  const url = request.url();
  if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) offsite.push(url);
});
page.on('pageerror', (error) => errors.push(error.message));
page.on('console', (message) => {
  if (message.type() === 'error') errors.push(message.text());
});

let readyCount = 0;
// Opens a route and waits until the app has rendered it.
async function open(hash, name) {
  const before = await page.evaluate(() => document.querySelector('main')?.dataset.ready || '').catch(() => '');
  if (page.url().startsWith(console_)) {
    await page.evaluate((h) => {
      if (location.hash === h) window.lodestoneConsole.route();
      else location.hash = h;
    }, hash);
  } else {
    await page.goto(`${console_}${hash}`, {waitUntil: 'load'});
  }
  await page.waitForFunction((b) => {
    const main = document.querySelector('main');
    return main && main.dataset.ready && main.dataset.ready !== b && !main.textContent.startsWith('Loading');
  }, {timeout: 30000}, before);
  readyCount++;
  if (name) await page.screenshot({path: path.join(artefacts, `${name}.png`), fullPage: true});
}
// Waits for the next render after an action (a click that changes the route).
async function afterClick(selector, name) {
  const before = await page.evaluate(() => document.querySelector('main').dataset.ready);
  await page.click(selector);
  await page.waitForFunction((b) => document.querySelector('main').dataset.ready !== b, {timeout: 30000}, before);
  if (name) await page.screenshot({path: path.join(artefacts, `${name}.png`), fullPage: true});
}
const api = (service, method, body) => page.evaluate(async (s, m, b) => {
  const r = await fetch(`/api/${s}/${m}`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(b)});
  return {status: r.status, body: await r.json()};
}, service, method, body);
const text = (selector) => page.$eval(selector, (e) => e.textContent.trim()).catch(() => null);
const texts = (selector) => page.$$eval(selector, (es) => es.map((e) => e.textContent.trim()));

try {
  // --- search: a prefix finds the shipment; its link opens the shipment page.
  await open('#/?q=shp-sb-th', 'search');
  const found = await texts('table.results tbody tr td:nth-child(2)');
  check('search lists the shipments starting with shp-sb-th', found.includes('shp-sb-th-us-2412') && found.includes('shp-sb-th-us-2503'), found);
  await afterClick('table.results a[href="#/shipment/shp-sb-th-us-2412"]');
  check('the search result opens the shipment page', (await text('h1')) === 'Shipment shp-sb-th-us-2412', await text('h1'));

  // --- shipment: declared TH vs traced CN, the transshipment flag, the numbers of the API.
  await open('#/shipment/shp-sb-th-us-2412', 'shipment-shp-sb-th-us-2412');
  const shipment = (await api('provenance', 'GetShipment', {shipmentId: 'shp-sb-th-us-2412'})).body.shipment;
  check('shipment shows declared origin TH', (await text('[data-field=declared]')) === 'TH');
  check('shipment shows traced customs origin CN', (await text('[data-field=traced]')) === 'CN');
  check('the mismatch is marked', await page.$('.compare.mismatch') !== null);
  const flagRules = await texts('table.flags tbody tr td:nth-child(2)');
  check('shipment lists the transshipment flag', flagRules.includes('transshipment-declared-origin'), flagRules);
  check('shipment lists as many flags as GetShipment', flagRules.length === shipment.flags.length, [flagRules.length, shipment.flags.length]);
  const items = await texts('main table caption');
  check('shipment has an items table', items.some((c) => c === 'Items of shp-sb-th-us-2412'), items);
  if (lodectlShipment) {
    const cli = fs.readFileSync(lodectlShipment, 'utf8');
    check('the gRPC answer (lodectl) says the same declared and traced origins',
          /declared origin TH, traced customs origin CN/.test(cli), cli.split('\n')[1]);
    const cliFlags = (cli.match(/^\s+FLAG /gm) || []).length;
    check('the gRPC answer (lodectl) has as many flags as shown', cliFlags === flagRules.length, [cliFlags, flagRules.length]);
  }

  // --- click-through: from the flag's evidence to the lineage, CN highlighted there.
  const evidenceLinks = await page.$$eval('table.flags a.path', (as) => as.map((a) => a.getAttribute('href')));
  check('a flag links its evidence to the lineage', evidenceLinks.some((h) => h.includes('key=CN')), evidenceLinks);
  await afterClick('table.flags a.path[href*="key=CN"]', 'evidence-cn-on-lineage');
  const onNodes = await page.$$eval('svg.dag .node.on', (ns) => ns.map((n) => n.dataset.id));
  check('the evidence opens the item lot with the CN nodes highlighted',
        onNodes.includes('sb-cn-ore-2408') && onNodes.includes('tr-sb-cn-smelt-2410') && !onNodes.includes('tr-sb-th-rebag-2412'), onNodes);

  // --- lot: stage bars, customs origin, route, DAG equal to TraceOrigin, evidence path.
  await open('#/lot/ndfeb-jp-magnet-2509?asOf=2026-06-01', 'lot-ndfeb-jp-magnet-2509');
  const lot = (await api('provenance', 'GetLot', {lotId: 'ndfeb-jp-magnet-2509'})).body.lot;
  check('lot shows customs origin JP', (await text('[data-field=customs-origin]')) === lot.profile.customsOrigin && lot.profile.customsOrigin === 'JP');
  const bars = await page.$$eval('svg.bars .segment', (gs) => gs.map((g) => g.dataset.key));
  check('the mining bar has the CN segment after the correction', bars.includes('CN'), bars);
  const stageRows = await page.$$eval('svg.bars text.axis', (ts) => ts.length);
  check('one bar per stage of the profile', stageRows === lot.profile.stages.length, [stageRows, lot.profile.stages.length]);
  const shownShares = await texts('figure.chart table tbody tr td:nth-child(4)');
  const mining = lot.profile.stages.find((s) => s.stage === 'STAGE_MINING').countries.find((c) => c.key === 'CN');
  check('the CN mining share shown equals the API\'s (31.1%)', shownShares.includes(`${(mining.share * 100).toFixed(1)}%`), shownShares);
  const stops = await page.$$eval('svg.timeline .stop', (s) => s.length);
  check('the route timeline has a stop per route entry', stops === lot.profile.route.length, [stops, lot.profile.route.length]);
  const trace = (await api('provenance', 'TraceOrigin', {lotId: 'ndfeb-jp-magnet-2509'})).body;
  const drawn = await page.$$eval('svg.dag .node', (ns) => ns.map((n) => n.dataset.id));
  check('the DAG draws every TraceOrigin node', drawn.length === trace.nodes.length && trace.nodes.every((n) => drawn.includes(n.id)), [drawn.length, trace.nodes.length]);
  check('TraceOrigin reaches the Xinjiang mine lot (CN-XJ)', trace.nodes.some((n) => n.id === 're-my-ore-2504' && n.subdivision === 'CN-XJ'));
  await page.click('button.path');
  const pathOn = await page.$$eval('svg.dag .node.on', (ns) => ns.map((n) => n.dataset.id));
  check('"highlight the evidence path" marks the path from the magnet to the ore',
        pathOn.includes('ndfeb-jp-magnet-2509') && pathOn.includes('re-my-ore-2504') && pathOn.length === 7, pathOn);
  const onEdges = await page.$$eval('svg.dag path.edge.on', (es) => es.length);
  check('the path\'s edges are highlighted', onEdges === 6, onEdges);
  await page.screenshot({path: path.join(artefacts, 'lot-evidence-path.png'), fullPage: true});
  // Keyboard: focus a node, Enter shows its details.
  await page.$eval('svg.dag .node[data-id="re-my-ore-2504"]', (n) => n.focus());
  await page.keyboard.press('Enter');
  const detail = await text('.node-detail');
  check('Enter on a node shows its details', detail && detail.includes('cn-xj-re-mine') && detail.includes('CN-XJ'), detail);

  // --- lineage paging: 3 nodes a page, "Load more" until complete, same graph.
  await open('#/lot/ndfeb-jp-magnet-2509?nodes=10', null);
  await open('#/lot/ndfeb-jp-magnet-2509?nodes=3', null);
  let pages = 1;
  check('a small page leaves more to load', (await page.$eval('section.lineage button', (b) => !b.hidden)));
  while (await page.$eval('section.lineage button', (b) => !b.hidden) && pages < 20) {
    const count = await page.$$eval('svg.dag .node:not(.missing)', (ns) => ns.length);
    await page.click('section.lineage button');
    await page.waitForFunction((c) => document.querySelectorAll('svg.dag .node:not(.missing)').length > c, {timeout: 15000}, count);
    pages++;
  }
  const paged = await page.$$eval('svg.dag .node', (ns) => ns.map((n) => n.dataset.id).sort());
  check('paging through the graph gives the whole graph', JSON.stringify(paged) === JSON.stringify(trace.nodes.map((n) => n.id).sort()) && pages >= 3,
        {pages, paged: paged.length});
  check('no placeholder is left once complete', (await page.$$('svg.dag .node.missing')).length === 0);

  // --- compliance with time travel (docs/demo.md story 7).
  await open('#/check/lot/ndfeb-jp-magnet-2509?asOf=2026-06-01&rules=uflpa', 'check-uflpa-now');
  const rowOf = async (rule) => page.$$eval('table.verdicts tbody tr', (rows, r) => {
    const row = rows.find((tr) => tr.children[1]?.textContent.trim() === r);
    return row ? row.children[2].textContent.trim() : null;
  }, rule);
  check('uflpa fails now (as of 2026-06-01)', (await rowOf('uflpa-xinjiang-and-listed')) === 'fail', await rowOf('uflpa-xinjiang-and-listed'));
  check('the answer is for the current head', (await page.$eval('p.view', (p) => p.textContent)).startsWith('As the ledger stands now'));
  const correction = await page.$eval('table.changes tr.correction', (tr) => ({
    position: tr.dataset.position, before: tr.querySelector('td.before').textContent, event: tr.children[1].textContent}));
  check('the history marks the correction (retraction of demo-xj-001)', correction.event.includes('demo-xj-retraction-001') &&
        correction.event.includes('retracts demo-xj-001'), correction);
  check('the history says uflpa passed before the correction', /uflpa-xinjiang-and-listed\s*pass/.test(correction.before), correction.before);
  await afterClick('table.changes tr.correction td.before a', 'check-uflpa-before-correction');
  check('"check before" answers at the position of the correction',
        (await page.$eval('p.view', (p) => p.dataset.at)) === correction.position, await text('p.view'));
  check('at the position before the correction uflpa passed', (await rowOf('uflpa-xinjiang-and-listed')) === 'pass', await rowOf('uflpa-xinjiang-and-listed'));
  check('the at-position control shows that position', (await page.$eval('input[name=at]', (i) => i.value)) === correction.position);
  const before = (await api('provenance', 'CheckCompliance', {lotId: 'ndfeb-jp-magnet-2509', asOf: '2026-06-01T00:00:00Z', ruleSets: ['uflpa'], atPosition: correction.position})).body;
  check('the API agrees: pass at that position', before.verdicts[0].outcome === 'OUTCOME_PASS', before.verdicts[0].outcome);
  // The form: clear the position, check again -> fails again.
  await page.$eval('input[name=at]', (i) => { i.value = ''; });
  await afterClick('form.controls button[type=submit]');
  check('clearing the position answers now again: fail', (await rowOf('uflpa-xinjiang-and-listed')) === 'fail');

  // --- flags inbox: the seven flags of docs/demo.md, filters.
  await open('#/flags', 'flags');
  const all = (await api('provenance', 'ListFlags', {maxFlags: 50})).body.flags;
  const rows = await page.$$eval('table.flags tbody tr', (trs) => trs.length);
  check('the inbox shows every flag of ListFlags', rows === all.length && rows >= 6, [rows, all.length]);
  const shown = await texts('table.flags tbody tr td:nth-child(2)');
  check('the inbox holds the flags of docs/demo.md stories 1 and 6',
        ['shp-sb-cn-th-2411', 'shp-sb-th-us-2412', 'shp-sb-th-us-2503', 'shp-ga-cn-de-2503'].every((s) => shown.includes(s)), shown);
  await open('#/flags?ruleSet=transshipment', 'flags-transshipment');
  const subjects = await texts('table.flags tbody tr td:nth-child(2)');
  const transshipment = (await api('provenance', 'ListFlags', {ruleSet: 'transshipment', maxFlags: 50})).body.flags;
  check('filtered by rule set: the transshipment flags of ListFlags', subjects.length === transshipment.length &&
        subjects.includes('shp-sb-th-us-2412') && subjects.includes('shp-sb-th-us-2503') && !shown.every((s) => subjects.includes(s)), subjects);
  await open('#/flags?from=2025-03-01&to=2025-03-31', null);
  const march = await texts('table.flags tbody tr td:nth-child(2)');
  check('filtered by date: March 2025', march.length === 3 && march.includes('shp-ga-cn-de-2503'), march);
  await open('#/flags?size=2', null);
  check('paging: a next page link', await page.$('a[rel=next]') !== null);

  // --- exposure.
  await open('#/exposure?party=de-sn-semicon&from=2024-01-01', 'exposure-de-sn-semicon');
  const day = new Date().toISOString().slice(0, 10);
  const exposure = (await api('provenance', 'GetExposure', {partyId: 'de-sn-semicon', fromTime: '2024-01-01T00:00:00Z',
                                                            toTime: `${day}T23:59:59Z`, asOf: `${day}T00:00:00Z`})).body;
  const facts = await texts('dl.facts dd');
  check('exposure shows the received lots of the API', facts.includes(String(exposure.receivedLots)) && exposure.receivedLots > 0, [facts, exposure]);
  const crma = await texts('table.verdicts tbody tr td:nth-child(2)');
  check('exposure shows the CRMA verdicts of the API', crma.length === (exposure.verdicts || []).length && crma.length > 0, crma);
  check('exposure draws the portfolio per stage', (await page.$$('svg.bars .segment')).length > 0);

  // --- proof: verified in the browser; a tampered proof fails.
  await open('#/proof?event=demo-xj-retraction-001', 'proof-verified');
  check('the proof verifies', (await page.$eval('.verdict', (d) => d.dataset.verified)) === 'true', await text('.verdict'));
  const proven = await page.$$eval('table.proven tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.children[0].textContent, tr.children[1].textContent])));
  check('the proven event names its attester', proven['attested by'] === 'lodestone-admin' && proven['kind'] === 'event_retracted' &&
        proven['event id'] === 'demo-xj-retraction-001', proven);
  const stored = (await api('ledger', 'GetEvent', {eventId: 'demo-xj-retraction-001'})).body;
  check('the position shown is GetEvent\'s', proven.position === String(stored.position), [proven.position, stored.position]);
  const tamper = async (edit, name) => {
    await page.$eval('#proof-json', (t, e) => {
      const proof = JSON.parse(t.value);
      // eslint-disable-next-line no-new-func
      new Function('proof', e)(proof);
      t.value = JSON.stringify(proof);
    }, edit);
    await page.click('#verify-again');
    await page.waitForFunction(() => document.querySelector('.verdict').dataset.verified === 'false', {timeout: 10000}).catch(() => {});
    await page.screenshot({path: path.join(artefacts, `${name}.png`), fullPage: true});
    return page.$eval('.verdict', (d) => ({verified: d.dataset.verified, text: d.textContent}));
  };
  let result = await tamper("const p = atob(proof.path[0]); proof.path[0] = btoa(String.fromCharCode(p.charCodeAt(0) ^ 1) + p.slice(1));", 'proof-tampered-path');
  check('a proof with one flipped bit in its path fails', result.verified === 'false' && result.text.includes('NOT proven'), result.text.slice(0, 200));
  await open('#/proof?event=demo-xj-001', null);
  check('another event verifies', (await page.$eval('.verdict', (d) => d.dataset.verified)) === 'true');
  result = await tamper("const l = atob(proof.leafData); const i = l.indexOf('my-pahang'); proof.leafData = btoa(l.slice(0, i) + 'xj-nonfer' + l.slice(i + 9));", 'proof-tampered-leaf');
  check('a proof whose leaf bytes were edited fails', result.verified === 'false', result.text.slice(0, 200));
  // A saved (older) head: inclusion at that size and consistency to the current head.
  const head = (await api('ledger', 'GetHead', {})).body;
  const oldProof = (await api('ledger', 'GetInclusionProof', {position: '100', treeSize: '110'})).body;
  const oldHead = {size: '110', rootHash: oldProof.rootHash};
  await open(`#/proof?event=demo-xj-001&head=${encodeURIComponent(JSON.stringify(oldHead))}`, 'proof-old-head');
  const checks = await texts('ul.checks li');
  check('against a saved head of size 110: included, and the current head extends it',
        (await page.$eval('.verdict', (d) => d.dataset.verified)) === 'true' && checks.some((c) => c.includes(`current head (${head.size}) extends`)), checks);

  // --- the in-browser verifier against every tree size of the demo: inclusion of the first,
  // middle and last leaf, consistency from every size to the head; a flipped root fails.
  const sweep = await page.evaluate(async (size) => {
    const m = await import('./merkle.js');
    const post = async (method, body) => (await fetch(`/api/ledger/${method}`, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})).json();
    const head = await post('GetHead', {});
    const bad = [];
    let proofs = 0;
    for (let n = 1; n <= size; n++) {
      const c = await post('GetConsistencyProof', {oldSize: String(n), newSize: String(size)});
      const ok = await m.verifyConsistency(n, size, (c.path || []).map(m.fromBase64), m.fromBase64(c.oldRootHash), m.fromBase64(head.rootHash));
      proofs++;
      if (!ok.ok) bad.push(`consistency ${n}->${size}: ${ok.reason}`);
      for (const i of new Set([0, n >> 1, n - 1])) {
        const p = await post('GetInclusionProof', {position: String(i), treeSize: String(n)});
        const root = m.fromBase64(c.oldRootHash);
        const r = await m.verifyInclusion(i, n, m.fromBase64(p.leafData), (p.path || []).map(m.fromBase64), root);
        proofs++;
        if (!r.ok) bad.push(`inclusion ${i}@${n}: ${r.reason}`);
        const flipped = root.slice();
        flipped[0] ^= 1;
        if ((await m.verifyInclusion(i, n, m.fromBase64(p.leafData), (p.path || []).map(m.fromBase64), flipped)).ok) bad.push(`flipped root accepted ${i}@${n}`);
      }
    }
    return {bad, proofs};
  }, Number((await api('ledger', 'GetHead', {})).body.size));
  check(`the browser verifies every inclusion and consistency proof of the demo's tree sizes (${sweep.proofs})`, sweep.bad.length === 0, sweep.bad.slice(0, 5));

  // --- export and print.
  await open('#/shipment/shp-sb-th-us-2412', null);
  const downloads = path.join(artefacts, 'downloads');
  fs.rmSync(downloads, {recursive: true, force: true});
  fs.mkdirSync(downloads, {recursive: true});
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', {behavior: 'allow', downloadPath: downloads});
  await page.click('#export-csv');
  await page.click('#export-json');
  const waitFile = async (name) => {
    for (let i = 0; i < 100; i++) {
      const file = path.join(downloads, name);
      if (fs.existsSync(file) && fs.statSync(file).size > 0) return fs.readFileSync(file, 'utf8');
      await new Promise((r) => setTimeout(r, 100));
    }
    return '';
  };
  const csv = await waitFile('shipment-shp-sb-th-us-2412.csv');
  check('Export CSV writes the tables on screen', csv.includes('# Flags of shp-sb-th-us-2412') && csv.includes('transshipment-declared-origin') &&
        csv.includes('sb-th-bagged-2412-a'), csv.slice(0, 200));
  const json = await waitFile('shipment-shp-sb-th-us-2412.json');
  let exported = null;
  try { exported = JSON.parse(json); } catch { /* checked below */ }
  check('Export JSON writes the API answers shown', exported && exported.calls.some((c) => c.call === 'provenance/GetShipment' &&
        c.response.shipment.tracedCustomsOrigin === 'CN'), json.slice(0, 200));
  await page.emulateMediaType('print');
  const hidden = await page.$eval('header.top', (e) => getComputedStyle(e).display);
  const reportHead = await page.$eval('.report-head', (e) => getComputedStyle(e).display);
  check('the print stylesheet hides the navigation and shows the report head', hidden === 'none' && reportHead === 'block', [hidden, reportHead]);
  await page.pdf({path: path.join(artefacts, 'report-shipment.pdf'), format: 'A4'});
  await page.emulateMediaType('screen');

  // --- bad input: a precise message, not a broken page.
  await open('#/lot/no-such-lot', 'lot-unknown');
  const error = await text('.error');
  check('an unknown lot says not found', error && /404|not found/i.test(error), error);

  // --- accessibility basics: every control has a label; one h1 per page.
  await open('#/check', null);
  const unlabelled = await page.$$eval('main input:not([type=hidden]), main select, main textarea',
                                       (cs) => cs.filter((c) => !c.closest('label')).map((c) => c.name));
  check('every form control has a label', unlabelled.length === 0, unlabelled);
  check('one h1', (await page.$$('main h1')).length === 1);
} catch (error) {
  check(`the test ran to the end (${readyCount} pages opened)`, false, error.stack);
  await page.screenshot({path: path.join(artefacts, 'failure.png'), fullPage: true}).catch(() => {});
}

check('no request left the console\'s origin', offsite.length === 0, offsite);
const realErrors = errors.filter((e) => !/status of 404/.test(e));
check('no script error on any page', realErrors.length === 0, realErrors);
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
