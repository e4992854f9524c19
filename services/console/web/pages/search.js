// Search: ids of lots, shipments, parties, facilities and licences starting with a prefix.
import {search} from '../api.js';
import {field, h, lotLink, shipmentLink, table} from '../util.js';
import {submitTo} from './common.js';

export const name = 'search';

const KINDS = ['lot', 'shipment', 'party', 'facility', 'licence'];

function open(result) {
  const id = result.id;
  switch (result.kind) {
    case 'lot': return [lotLink(id), h('a', {href: `#/check/lot/${encodeURIComponent(id)}`}, 'check')];
    case 'shipment': return [shipmentLink(id), h('a', {href: `#/check/shipment/${encodeURIComponent(id)}`}, 'check')];
    case 'party': return [id, h('a', {href: `#/exposure?party=${encodeURIComponent(id)}`}, 'exposure')];
    default: return [id, ''];
  }
}

export async function render(_, query) {
  const q = query.get('q') || '';
  const kind = query.get('kind') || '';
  const input = h('input', {type: 'search', name: 'q', value: q, size: 32, autocomplete: 'off', autofocus: true,
                            placeholder: 'e.g. shp-sb, ndfeb-jp, cn-'});
  const form = h('form.controls.search', {role: 'search', 'aria-label': 'Search ids'},
      field('Id starts with', input),
      field('Kind', h('select', {name: 'kind'}, h('option', {value: ''}, 'all'),
                      KINDS.map((k) => h('option', {value: k, selected: kind === k}, k)))),
      h('button', {type: 'submit'}, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, '/');
  });
  const node = h('div', {}, h('h1', {}, 'Search'),
                 h('p.muted', {}, 'Find a lot, shipment, party, facility or licence by the start of its id.'), form);
  if (!q && !kind) return {title: 'Search', slug: 'search', node};
  const response = await search(q, 50);
  const results = (response.results || []).filter((r) => !kind || r.kind === kind);
  node.append(table(`Ids starting with "${q}"${kind ? ` (${kind})` : ''}: ${results.length}${(response.results || []).length >= 50 ? ' (the first 50)' : ''}`,
                    ['kind', 'id', ''], results.map((r) => [r.kind, ...open(r)]), {class: 'results'}));
  return {title: `Search ${q}`, slug: 'search', node};
}
