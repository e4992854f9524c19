// A lot: origin profile per stage (stacked bars), customs origin, route (timeline), regions and
// parties, value shares, the lineage DAG with evidence paths highlighted, what was made from it.
import {provenance} from '../api.js';
import {routeTimeline, shareTable, stageBars} from '../charts.js';
import {lineageSection} from '../lineage.js';
import {h, lotLink, lotStatus, mass, material, percent, positionFields, shipmentLink, table, today} from '../util.js';
import {fact, submitTo, timeControls, verdictTable, viewLine} from './common.js';

export const name = 'lot';

export async function render([id], query) {
  const at = query.get('at') || '';
  const asOf = query.get('asOf') || today();
  const pageSize = Math.min(Math.max(Number(query.get('nodes')) || 200, 1), 1000);
  let highlight = {ids: (query.get('path') || '').split(',').filter(Boolean), keys: (query.get('key') || '').split(',').filter(Boolean)};
  const form = h('form.controls', {'aria-label': 'Position'}, timeControls(query),
                 h('input', {type: 'hidden', name: 'path', value: query.get('path') || ''}),
                 h('input', {type: 'hidden', name: 'key', value: query.get('key') || ''}),
                 h('button', {type: 'submit'}, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, `/lot/${encodeURIComponent(id)}`);
  });
  const [{lot, view}, check, downstream] = await Promise.all([
    provenance('GetLot', {lotId: id, ...positionFields(at)}),
    provenance('CheckCompliance', {lotId: id, asOf: `${asOf}T00:00:00Z`, ...positionFields(at)}).catch(() => null),
    provenance('TraceDownstream', {lotId: id, maxNodes: 200, ...positionFields(at)}).catch(() => null),
  ]);
  const profile = lot.profile || {};
  const lineage = lineageSection(id, at, pageSize, () => highlight);
  const show = (newHighlight) => {
    highlight = newHighlight;
    lineage.redraw();
    lineage.scrollIntoView({block: 'nearest'});
    lineage.querySelector('.node.on')?.focus({preventScroll: true});
  };
  const pathButton = (p) => h('button.path', {type: 'button', on: {click: () => show({ids: p, keys: []})}}, `highlight the evidence path (${p.length} steps)`);
  const keyButton = (e) => h('button.path', {type: 'button', on: {click: () => show({ids: [], keys: [e.key]})}}, `highlight ${e.key} in the lineage`);
  const value = profile.value;
  await lineage.ready;
  const node = h('div', {},
      h('h1', {}, 'Lot ', h('span.id', {}, id)),
      form, viewLine(view),
      h('div.compare', {},
        h('div.origin', {}, h('span.label', {}, 'customs origin'), h('span.big', {'data-field': 'customs-origin'}, profile.customsOrigin || '??')),
        h('dl.facts', {},
          fact('material', material(lot.material)), fact('HS code', lot.hsCode || ''),
          fact('mass', mass(lot.massG)), fact('remaining', mass(lot.remainingG)),
          fact('status', lotStatus(lot.status)),
          fact('at facility', `${lot.facilityId || ''} (${lot.facilityCountry || '??'})`),
          fact('custodian', lot.custodianPartyId || ''),
          lot.shipmentId ? fact('in transit on', shipmentLink(lot.shipmentId)) : null,
          fact('created by', `${lot.createdByEventId || ''} at position ${lot.createdPosition || '0'}`))),
      h('section', {'aria-labelledby': 'stages-h'}, h('h2#stages-h', {}, 'Origin profile per stage'),
        stageBars(profile, `Origin of ${id} per stage`)),
      h('section', {'aria-labelledby': 'route-h'}, h('h2#route-h', {}, 'Route'), routeTimeline(profile.route, `Route of ${id}`, profile)),
      h('section.pair', {'aria-labelledby': 'rp-h'}, h('h2#rp-h', {}, 'Regions and parties'),
        shareTable(`Regions of ${id}`, 'region', profile.regions), shareTable(`Parties of ${id}`, 'party', profile.parties)),
      value ? h('section', {'aria-labelledby': 'value-h'}, h('h2#value-h', {}, 'Value'),
                value.available ?
                    [h('p', {}, `${(Number(value.totalMinor || 0) / 100).toLocaleString('en-US')} ${value.currency || ''} for ${mass(value.massG)}`),
                     shareTable(`Value of ${id} by mining country`, 'country', value.byMiningCountry)] :
                    h('p.muted', {}, `No value basis: ${value.gap || 'some upstream part has no value'} (mass shares apply).`)) : null,
      h('section', {'aria-labelledby': 'lv-h'}, h('h2#lv-h', {}, `Verdicts as of ${asOf}`),
        check ? verdictTable(`Verdicts of lot ${id} as of ${asOf}`, check.verdicts, pathButton, keyButton) : h('p.muted', {}, 'not available'),
        h('p', {}, h('a', {href: `#/check/lot/${encodeURIComponent(id)}?asOf=${asOf}`}, 'Check other rule dates and positions, with history'))),
      lineage,
      h('section', {'aria-labelledby': 'down-h'}, h('h2#down-h', {}, 'Made from it, and shipped'),
        downstream ? [
          table(`Lots made from ${id}`, ['lot', 'share from this lot', 'material', 'facility', 'status'],
                (downstream.lots || []).map((l) => [lotLink(l.lotId), percent(l.share), material(l.material), l.facilityId || '', lotStatus(l.status)])),
          table(`Shipments carrying ${id}`, ['shipment', 'lot', 'share', 'to facility'],
                (downstream.shipments || []).map((s) => [shipmentLink(s.shipmentId), s.lotId, percent(s.share), s.toFacilityId || ''])),
          downstream.truncated ? h('p.muted', {}, 'Only the first 200 are shown.') : null] : h('p.muted', {}, 'not available')));
  return {title: `Lot ${id}`, slug: `lot-${id}`, node};
}
