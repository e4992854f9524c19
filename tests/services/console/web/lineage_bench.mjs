// Figure (printed, not asserted): drawing a 1,000-node lineage graph in headless Chromium with the
// console's own code (lineage.js: dagre layout + SVG), from the data in memory to the SVG in the
// page, p50 and max of 5 runs. The graph is synthetic: a magnet lot made from 4 inputs per
// transformation, 6 levels deep, cut at 1,000 nodes (the server's part, TraceOrigin, is timed by
// the Console API figure). usage: node lineage_bench.mjs CONSOLE_URL
import puppeteer from 'puppeteer-core';

const [url] = process.argv.slice(2);
const browser = await puppeteer.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox']});
const page = await browser.newPage();
await page.goto(url, {waitUntil: 'load'});
const times = await page.evaluate(async () => {
  const {drawGraph} = await import('./lineage.js');
  const nodes = new Map();
  const edges = [];
  const queue = [['lot-0', 0]];
  nodes.set('lot-0', {kind: 'KIND_LOT', id: 'lot-0', depth: 0, country: 'JP', material: 'MATERIAL_NDFEB_MAGNET', massG: '1000'});
  while (queue.length && nodes.size < 1000) {
    const [lot, depth] = queue.shift();
    const tr = `tr-${nodes.size}`;
    nodes.set(tr, {kind: 'KIND_TRANSFORMATION', id: tr, depth: depth + 1, country: 'CN', process: 'PROCESS_REFINING'});
    edges.push({fromId: tr, toId: lot, massG: '1000'});
    for (let i = 0; i < 4 && nodes.size < 1000; i++) {
      const input = `lot-${nodes.size}`;
      nodes.set(input, {kind: 'KIND_LOT', id: input, depth: depth + 2, country: ['CN', 'MY', 'AU', 'US'][i], material: 'MATERIAL_RARE_EARTH_ORE', massG: '250'});
      edges.push({fromId: input, toId: tr, massG: '250'});
      if (depth + 2 < 12) queue.push([input, depth + 2]);
    }
  }
  const out = [];
  for (let run = 0; run < 5; run++) {
    const start = performance.now();
    const svg = drawGraph({nodes, edges}, {ids: ['lot-0'], keys: ['CN']});
    document.querySelector('main').replaceChildren(svg);
    svg.getBBox();  // forces layout of the SVG
    await new Promise((r) => requestAnimationFrame(() => r()));
    out.push(performance.now() - start);
  }
  return {out, nodes: nodes.size, edges: edges.length};
});
times.out.sort((a, b) => a - b);
console.log(`console: ${times.nodes}-node lineage graph (${times.edges} edges) drawn in the browser: p50 ${times.out[2].toFixed(0)} ms, max ${times.out[4].toFixed(0)} ms (5 runs)`);
await browser.close();
