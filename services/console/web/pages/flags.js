// The flags inbox: ListFlags with filters (rule set, country, material, dispatch dates), a page
// at a time.
import {provenance} from '../api.js';
import {date, dayEnd, dayStart, field, h, material, positionFields, subjectLink, table} from '../util.js';
import {RULE_SETS, submitTo, timeControls, viewLine} from './common.js';

export const name = 'flags';

const MATERIALS = ['ANTIMONY_ORE', 'ANTIMONY_OXIDE', 'ANTIMONY_METAL', 'RARE_EARTH_ORE', 'RARE_EARTH_COMPOUND',
                   'RARE_EARTH_METAL', 'NDFEB_ALLOY', 'NDFEB_MAGNET', 'GALLIUM', 'GERMANIUM', 'GERMANIUM_OXIDE',
                   'TUNGSTEN', 'TANTALUM', 'GRAPHITE'];

export async function render(_, query) {
  const q = (k) => query.get(k) || '';
  const size = Math.min(Math.max(Number(q('size')) || 50, 1), 500);
  const form = h('form.controls', {'aria-label': 'Filters'},
      field('Rule set', h('select', {name: 'ruleSet'}, h('option', {value: ''}, 'any'),
                          RULE_SETS.map((r) => h('option', {value: r, selected: q('ruleSet') === r}, r)))),
      field('Country (ISO 3166-1)', h('input', {name: 'country', value: q('country'), size: 4, maxlength: 2, pattern: '[A-Za-z]{2}'})),
      field('Material', h('select', {name: 'material'}, h('option', {value: ''}, 'any'),
                          MATERIALS.map((m) => h('option', {value: `MATERIAL_${m}`, selected: q('material') === `MATERIAL_${m}`}, material(`MATERIAL_${m}`))))),
      field('From', h('input', {type: 'date', name: 'from', value: q('from')})),
      field('To', h('input', {type: 'date', name: 'to', value: q('to')})),
      field('Per page', h('input', {type: 'number', name: 'size', min: 1, max: 500, value: String(size)})),
      timeControls(query, {asOf: false}),
      h('button', {type: 'submit'}, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, '/flags');
  });
  const request = {ruleSet: q('ruleSet') || undefined, country: q('country').toUpperCase() || undefined,
                   material: q('material') || undefined, fromTime: dayStart(q('from')), toTime: dayEnd(q('to')),
                   maxFlags: size, pageToken: q('page') || undefined, ...positionFields(q('at'))};
  const response = await provenance('ListFlags', request);
  const flags = response.flags || [];
  const pager = h('p.pager', {});
  if (q('page')) {
    const first = new URLSearchParams(query);
    first.delete('page');
    pager.append(h('a', {href: `#/flags?${first}`}, 'First page'), ' ');
  }
  if (response.nextPageToken) {
    const next = new URLSearchParams(query);
    next.set('page', response.nextPageToken);
    pager.append(h('a', {href: `#/flags?${next}`, rel: 'next'}, 'Next page'));
  }
  const node = h('div', {}, h('h1', {}, 'Flags inbox'), form, viewLine(response.view),
      table(`Flags${q('ruleSet') ? ` of ${q('ruleSet')}` : ''}${q('country') ? ` involving ${q('country').toUpperCase()}` : ''} (${flags.length})`,
            ['time', 'subject', 'rule set', 'rule', 'summary', 'countries', 'material', 'position'],
            flags.map((f) => [date(f.time), subjectLink(f.subject), f.ruleSet, f.ruleId, f.summary || '', (f.countries || []).join(' '),
                              material(f.material), f.position || '0']), {class: 'flags'}),
      pager);
  return {title: 'Flags inbox', slug: 'flags', node};
}
