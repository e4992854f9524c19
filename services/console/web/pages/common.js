// Pieces several pages share: the position/as-of form, the verdict table, the view line.
import {field, h, percent, stage, table, today, verdictBadge} from '../util.js';

export const RULE_SETS = ['dfars', 'china-re-0.1pct', 'eu-crma', 'uflpa', 'transshipment', 'china-export-licensing'];

// Navigates to `base` with the query built from the form's named controls (empty ones left out).
export function submitTo(form, base) {
  const query = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (value === '') continue;
    if (query.has(key)) query.set(key, `${query.get(key)},${value}`);
    else query.set(key, value);
  }
  const text = query.toString();
  const hash = `#${base}${text ? `?${text}` : ''}`;
  if (location.hash === hash) window.lodestoneConsole.route();
  else location.hash = hash;
}

// The as-of date and at-position controls ("what did we know then").
export function timeControls(query, {asOf = true} = {}) {
  return [
    asOf ? field('Rule date (as of)', h('input', {type: 'date', name: 'asOf', value: query.get('asOf') || today(), required: true})) : null,
    field('At ledger position (empty = now)',
          h('input', {type: 'number', name: 'at', min: 1, step: 1, inputmode: 'numeric', value: query.get('at') || '',
                      'aria-describedby': 'at-help'})),
    h('small#at-help.muted', {}, 'Answer as the ledger stood after its first N events.'),
  ];
}

// "Answer as the ledger stood at position N of M" line.
export function viewLine(view) {
  if (!view) return null;
  const at = view.atPosition || '0';
  const applied = view.appliedPosition || '0';
  return h('p.view', {'data-at': at},
           at === applied ? `As the ledger stands now: ${applied} events applied.` :
                            `As the ledger stood after its first ${at} events (now ${applied}).`);
}

// Evidence items; `pathLink(path)` renders a lineage path, `keyLink(evidence)` (optional) one
// for evidence that names a country or region but no path (its nodes are highlighted instead).
export function evidenceList(evidence, pathLink, keyLink) {
  if (!evidence || !evidence.length) return '';
  return h('ul.evidence', {}, evidence.map((e) => h('li', {},
      [e.stage ? `${stage(e.stage)}: ` : '', h('strong', {}, e.key || ''), e.share !== undefined ? ` ${percent(e.share)}` : '',
       e.note ? ` — ${e.note}` : '',
       e.lineagePath && e.lineagePath.length ? [' ', pathLink(e.lineagePath)] :
           keyLink && PLACE.test(e.key || '') ? [' ', keyLink(e)] : ''])));
}

// A country (ISO 3166-1) or region (ISO 3166-2) key.
export const PLACE = /^[A-Z]{2}(-[A-Z0-9]{1,3})?$/;

export function verdictTable(caption, verdicts, pathLink, keyLink) {
  return table(caption, ['rule set', 'rule', 'outcome', 'basis', 'summary', 'evidence'],
               (verdicts || []).map((v) => [v.ruleSet, v.ruleId, verdictBadge(v), v.basis || '', v.summary || '',
                                            evidenceList(v.evidence, pathLink, keyLink)]),
               {class: 'verdicts'});
}


// One term of a <dl>.
export function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}
