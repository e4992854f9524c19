// The console: a one-page application with hash routes (#/lot/ID?at=P ...). Each page module
// exports render(params, query) returning {title, node}; the API responses it used are kept
// for "Export JSON", the tables it shows for "Export CSV".
import * as api from './api.js';
import {download, tablesToCsv} from './export.js';
import {errorBox, h} from './util.js';
import * as compliance from './pages/compliance.js';
import * as exposure from './pages/exposure.js';
import * as flags from './pages/flags.js';
import * as lot from './pages/lot.js';
import * as proof from './pages/proof.js';
import * as search from './pages/search.js';
import * as shipment from './pages/shipment.js';

const routes = [
  [/^\/?$/, search],
  [/^\/lot\/(.+)$/, lot],
  [/^\/shipment\/(.+)$/, shipment],
  [/^\/check(?:\/(lot|shipment)\/(.+))?$/, compliance],
  [/^\/flags$/, flags],
  [/^\/exposure$/, exposure],
  [/^\/proof$/, proof],
];

const main = document.getElementById('main');
let current = {title: 'Lodestone', slug: 'console'};
let generation = 0;

async function route() {
  const mine = ++generation;
  const [path, queryText] = (location.hash.replace(/^#/, '') || '/').split('?');
  const query = new URLSearchParams(queryText || '');
  const info = await api.info().catch(() => ({service: 'unknown', ledger: false}));
  document.querySelectorAll('[data-needs-ledger]').forEach((e) => { e.hidden = !info.ledger; });
  for (const link of document.querySelectorAll('nav a')) {
    const target = link.getAttribute('href').slice(1);
    link.toggleAttribute('aria-current', target === '/' ? path === '/' : path.startsWith(target));
  }
  api.log.length = 0;
  for (const [pattern, page] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    main.replaceChildren(h('p.muted', {}, 'Loading…'));
    document.body.dataset.page = page.name;
    try {
      const rendered = await page.render(match.slice(1).map((x) => x && decodeURIComponent(x)), query, info);
      if (mine !== generation) return;
      current = rendered;
      document.title = `${rendered.title} · Lodestone`;
      main.replaceChildren(rendered.node);
    } catch (error) {
      if (mine !== generation) return;
      current = {title: 'Error', slug: 'error'};
      main.replaceChildren(errorBox(error));
    }
    document.getElementById('report-title').textContent = current.title;
    document.getElementById('report-meta').textContent =
        `· printed ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from ${info.service}`;
    main.dataset.ready = String(mine);
    if (document.activeElement === document.body || !main.contains(document.activeElement)) {
      main.focus({preventScroll: true});
    }
    return;
  }
  main.replaceChildren(h('p', {}, 'No such page. ', h('a', {href: '#/'}, 'Search')));
  main.dataset.ready = String(mine);
}

async function showService() {
  try {
    const info = await api.info();
    document.getElementById('service').textContent = info.ledger ?
        `${info.service}: ledger head ${info.headSize || '?'} events` : `${info.service} (provenance only: no proof page)`;
  } catch (error) {
    document.getElementById('service').replaceChildren(errorBox(error));
  }
}

document.getElementById('export-json').addEventListener('click', () => {
  download(`${current.slug || 'console'}.json`, 'application/json',
           JSON.stringify({page: current.title, url: location.href, exported: new Date().toISOString(), calls: api.log}, null, 2));
});
document.getElementById('export-csv').addEventListener('click', () => {
  download(`${current.slug || 'console'}.csv`, 'text/csv', tablesToCsv(main));
});
document.getElementById('print').addEventListener('click', () => window.print());
window.addEventListener('beforeprint', () => {
  const meta = document.getElementById('report-meta');
  meta.textContent = meta.textContent.replace(/printed [^ ]+ [^ ]+ UTC/, `printed ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
});

window.addEventListener('hashchange', route);
showService();
route();
// For the browser test and for scripts: re-render the current route.
window.lodestoneConsole = {route};
