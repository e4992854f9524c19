// A shipment: declared versus traced origin, its flags with the evidence of the verdicts that
// raised them (links to the evidence path on the lot's lineage graph), its items.
import {provenance} from '../api.js';
import {routeTimeline, shareTable} from '../charts.js';
import {date, errorBox, h, lotLink, mass, material, positionFields, table, today} from '../util.js';
import {evidenceList, fact, submitTo, timeControls, verdictTable, viewLine} from './common.js';

export const name = 'shipment';

function pathLink(path) {
  return h('a.path', {href: `#/lot/${encodeURIComponent(path[0])}?path=${encodeURIComponent(path.join(','))}`},
           `show the evidence path on ${path[0]}`);
}

export async function render([id], query) {
  const at = query.get('at') || '';
  const asOf = query.get('asOf') || today();
  const form = h('form.controls', {'aria-label': 'Position'}, timeControls(query), h('button', {type: 'submit'}, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, `/shipment/${encodeURIComponent(id)}`);
  });
  const {shipment, view} = await provenance('GetShipment', {shipmentId: id, ...positionFields(at)});
  let check = null;
  try {
    check = await provenance('CheckCompliance', {shipmentId: id, asOf: `${asOf}T00:00:00Z`, ...positionFields(at)});
  } catch (error) {
    check = {error};
  }
  const verdicts = (check && check.verdicts) || [];
  const declared = shipment.declaredOrigin || '??';
  const traced = shipment.tracedCustomsOrigin || '??';
  const mismatch = declared !== traced;
  const flags = shipment.flags || [];
  // Evidence naming a place: its nodes on the lineage of the items (the first item's graph).
  const firstLot = ((shipment.items || [])[0] || {}).lotId;
  const keyLink = firstLot ? (e) => h('a.path', {href: `#/lot/${encodeURIComponent(firstLot)}?key=${encodeURIComponent(e.key)}${at ? `&at=${at}` : ''}`},
                                      `show ${e.key} on the lineage of ${firstLot}`) : null;
  const flagRows = flags.map((f) => {
    const verdict = verdicts.find((v) => v.ruleSet === f.ruleSet && v.ruleId === f.ruleId);
    return [f.ruleSet, f.ruleId, f.summary || '', (f.countries || []).join(' '), date(f.time), f.position || '0',
            verdict ? evidenceList(verdict.evidence, pathLink, keyLink) : ''];
  });
  const node = h('div', {},
      h('h1', {}, 'Shipment ', h('span.id', {}, id)),
      form, viewLine(view),
      h('div.compare', {class: mismatch ? 'compare mismatch' : 'compare', role: 'group', 'aria-label': 'Declared versus traced origin'},
        h('div.origin.declared', {}, h('span.label', {}, 'declared origin'), h('span.big', {'data-field': 'declared'}, declared)),
        h('div.vs', {'aria-hidden': 'true'}, mismatch ? '≠' : '='),
        h('div.origin.traced', {}, h('span.label', {}, 'traced customs origin'), h('span.big', {'data-field': 'traced'}, traced)),
        h('p.note', {}, mismatch ? `Declared ${declared}, but the chain's last substantial transformation was in ${traced}.` :
                                   'The declared origin matches the traced customs origin.')),
      h('dl.facts', {},
        fact('from', `${shipment.fromFacilityId || ''} (${shipment.fromCountry || '??'})`),
        fact('to', `${shipment.toFacilityId || ''} (${shipment.toCountry || '??'})`),
        fact('status', shipment.status || ''),
        fact('dispatched', date(shipment.dispatchedTime)), fact('arrived', date(shipment.arrivedTime) || '—'),
        fact('declared HS code', shipment.declaredHsCode || ''),
        fact('export licence', shipment.exportLicenceId || 'none'),
        fact('customs entry', shipment.customsEntry || '')),
      h('section', {'aria-labelledby': 'flags-h'}, h('h2#flags-h', {}, `Flags (${flags.length})`),
        table(`Flags of ${id}`, ['rule set', 'rule', 'summary', 'countries', 'time', 'position', 'evidence'], flagRows, {class: 'flags'})),
      h('section', {'aria-labelledby': 'items-h'}, h('h2#items-h', {}, 'Items'),
        table(`Items of ${id}`, ['lot', 'material', 'HS code', 'mass', 'traced customs origin'],
              (shipment.items || []).map((i) => [lotLink(i.lotId, at ? `at=${at}` : ''), material(i.material), i.hsCode || '', mass(i.massG), i.tracedCustomsOrigin || '??']))),
      h('section', {'aria-labelledby': 'mining-h'}, h('h2#mining-h', {}, 'Where the material was mined'),
        shareTable(`Mining origin of ${id} (mass-weighted over the items)`, 'country', shipment.miningOrigin)),
      h('section', {'aria-labelledby': 'route-h'}, h('h2#route-h', {}, 'Route'), routeTimeline(shipment.route, `Route of ${id}`, (shipment.items || [])[0]?.profile)),
      h('section', {'aria-labelledby': 'sv-h'}, h('h2#sv-h', {}, `Verdicts as of ${asOf}`),
        check.error ? errorBox(check.error) : verdictTable(`Verdicts of shipment ${id} as of ${asOf}`, verdicts, pathLink, keyLink),
        h('p', {}, h('a', {href: `#/check/shipment/${encodeURIComponent(id)}?asOf=${asOf}`}, 'History of the verdicts'))));
  return {title: `Shipment ${id}`, slug: `shipment-${id}`, node};
}

