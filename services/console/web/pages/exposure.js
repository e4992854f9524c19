// Exposure: what a party received in a period, the portfolio's origin per stage (mass-weighted)
// and the EU CRMA concentration verdicts (GetExposure).
import {provenance} from '../api.js';
import {shareTable, stageBars} from '../charts.js';
import {dayEnd, dayStart, errorBox, field, h, mass, positionFields, today} from '../util.js';
import {fact, submitTo, timeControls, verdictTable, viewLine} from './common.js';

export const name = 'exposure';

export async function render(_, query) {
  const q = (k) => query.get(k) || '';
  const form = h('form.controls', {'aria-label': 'Exposure'},
      field('Party id', h('input', {name: 'party', value: q('party'), required: true, size: 24, autocomplete: 'off'})),
      field('Received from (empty: the beginning)', h('input', {type: 'date', name: 'from', value: q('from')})),
      field('Received until', h('input', {type: 'date', name: 'to', value: q('to') || today()})),
      timeControls(query),
      h('button', {type: 'submit'}, 'Show exposure'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, '/exposure');
  });
  const node = h('div', {}, h('h1', {}, 'Exposure'),
                 h('p.muted', {}, 'Everything a party received in a period: where its material comes from, stage by stage.'), form);
  if (!q('party')) return {title: 'Exposure', slug: 'exposure', node};
  try {
    const response = await provenance('GetExposure', {
      partyId: q('party'), fromTime: dayStart(q('from') || '1970-01-01'), toTime: dayEnd(q('to') || today()),
      asOf: dayStart(q('asOf') || today()), ...positionFields(q('at'))});
    const portfolio = response.portfolio || {};
    node.append(viewLine(response.view),
        h('dl.facts', {}, fact('received', mass(response.receivedMassG)), fact('lots received', String(response.receivedLots || 0)),
          response.truncated ? fact('note', 'more receipts than one answer reads: partial') : null),
        h('section', {'aria-labelledby': 'pf-h'}, h('h2#pf-h', {}, 'Portfolio origin per stage'),
          stageBars(portfolio, `Portfolio of ${q('party')} per stage`)),
        h('section.pair', {'aria-labelledby': 'pr-h'}, h('h2#pr-h', {}, 'Regions and parties upstream'),
          shareTable(`Regions in the portfolio of ${q('party')}`, 'region', portfolio.regions),
          shareTable(`Parties in the portfolio of ${q('party')}`, 'party', portfolio.parties)),
        h('section', {'aria-labelledby': 'pv-h'}, h('h2#pv-h', {}, 'Concentration verdicts'),
          verdictTable(`Portfolio verdicts of ${q('party')}`, response.verdicts, () => '')));
  } catch (error) {
    node.append(errorBox(error));
  }
  return {title: `Exposure of ${q('party')}`, slug: `exposure-${q('party')}`, node};
}
