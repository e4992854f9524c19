// Compliance check: verdicts of a lot or shipment under chosen rule sets, as of a rule date and
// at a ledger position; and the verdict before and after each change in the subject's history
// (GetHistory), corrections marked.
import {provenance} from '../api.js';
import {errorBox, field, h, lotLink, outcome, positionFields, shipmentLink, table, today, verdictBadge} from '../util.js';
import {RULE_SETS, submitTo, timeControls, verdictTable, viewLine} from './common.js';

export const name = 'check';

function pathLink(path) {
  return h('a', {href: `#/lot/${encodeURIComponent(path[0])}?path=${encodeURIComponent(path.join(','))}`},
           `evidence path (${path.length} steps)`);
}

export async function render([kind, id], query) {
  const chosen = new Set((query.get('rules') || '').split(',').filter(Boolean));
  const form = h('form.controls', {'aria-label': 'Compliance check'},
      field('Subject', h('select', {name: 'kind'},
                         ['lot', 'shipment'].map((k) => h('option', {value: k, selected: (kind || 'lot') === k}, k)))),
      field('Id', h('input', {name: 'id', value: id || '', required: true, size: 28, autocomplete: 'off'})),
      h('fieldset.rules', {}, h('legend', {}, 'Rule sets (none = all)'),
        RULE_SETS.map((r) => h('label', {}, h('input', {type: 'checkbox', name: 'rules', value: r, checked: chosen.has(r)}), r))),
      timeControls(query),
      h('button', {type: 'submit'}, 'Check'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const subjectKind = data.get('kind');
    const subjectId = data.get('id').trim();
    form.elements.kind.disabled = true;
    form.elements.id.disabled = true;
    submitTo(form, `/check/${subjectKind}/${encodeURIComponent(subjectId)}`);
  });
  const node = h('div', {}, h('h1', {}, 'Compliance check'), form);
  if (!id) return {title: 'Compliance check', slug: 'compliance', node};

  const asOf = query.get('asOf') || today();
  const at = query.get('at') || '';
  const subject = kind === 'shipment' ? {shipmentId: id} : {lotId: id};
  const ruleSets = [...chosen];
  const request = {...subject, ruleSets, asOf: `${asOf}T00:00:00Z`, ...positionFields(at)};
  const result = h('section.result', {'aria-labelledby': 'verdicts-h'});
  try {
    const response = await provenance('CheckCompliance', request);
    result.append(
        h('h2#verdicts-h', {}, kind === 'shipment' ? shipmentLink(id) : lotLink(id), ' as of ', asOf,
          at ? ` at position ${at}` : ', now'),
        viewLine(response.view),
        h('p', {class: response.anyFailed ? 'summary fail' : 'summary pass', 'data-any-failed': String(!!response.anyFailed)},
          response.anyFailed ? 'At least one rule fails.' : 'No rule fails.'),
        verdictTable(`Verdicts of ${kind} ${id}`, response.verdicts, pathLink,
                     kind === 'lot' ? (e) => h('a', {href: `#/lot/${encodeURIComponent(id)}?key=${encodeURIComponent(e.key)}${at ? `&at=${at}` : ''}`}, `show ${e.key} on the lineage`) : null));
  } catch (error) {
    result.append(errorBox(error));
  }
  node.append(result, await historySection(subject, id, asOf, ruleSets, at, kind));
  return {title: `Compliance of ${kind} ${id} as of ${asOf}`, slug: `compliance-${id}`, node};
}

// The history: newest first; "before"/"after" links re-check at the position before and after.
async function historySection(subject, id, asOf, ruleSets, at, kind) {
  const section = h('section.history', {'aria-labelledby': 'history-h'}, h('h2#history-h', {}, 'History: the verdict before and after each change'));
  const entries = [];
  let token = '';
  try {
    for (let page = 0; page < 10; page++) {  // at most 10 pages of 200 entries
      const response = await provenance('GetHistory', {...subject, asOf: `${asOf}T00:00:00Z`, ruleSets, maxEntries: 200,
                                                       pageToken: token || undefined, ...positionFields(at)});
      entries.push(...(response.entries || []));
      token = response.nextPageToken || '';
      if (!token) break;
    }
  } catch (error) {
    section.append(errorBox(error));
    return section;
  }
  const link = (position, text) => {
    const query = new URLSearchParams(location.hash.split('?')[1] || '');
    query.set('at', String(position));
    return h('a', {href: `#/check/${kind}/${encodeURIComponent(id)}?${query}`}, text);
  };
  const outcomes = (entry) => (entry && entry.verdicts || []).map((v) => `${v.ruleId}: ${outcome(v.outcome)}${v.outcome === 'OUTCOME_NOT_IN_FORCE' ? (v.wouldFail ? ' (would fail)' : ' (would pass)') : ''}`).join('; ');
  const badges = (entry) => (entry.verdicts || []).map((v) => h('span.verdict-of', {'data-rule': v.ruleId}, v.ruleId, ' ', verdictBadge(v), ' '));
  const changes = [];
  entries.forEach((entry, i) => {
    if (!(entry.changed || []).includes('verdicts')) return;
    const before = entries[i + 1];
    const position = Number(entry.position);
    const correction = entry.eventKind === 'event_retracted' || !!entry.retractedEventId;
    changes.push(h('tr', {class: correction ? 'correction' : '', 'data-position': entry.position},
        h('td', {}, entry.position), h('td', {}, entry.eventId, correction ? h('span.badge.correction', {}, 'correction') : '',
                                       entry.retractedEventId ? ` retracts ${entry.retractedEventId}` : ''),
        h('td', {}, entry.eventKind || ''),
        h('td.before', {}, before ? badges(before) : '(none) ', link(position, 'check before')),
        h('td.after', {}, badges(entry), link(position + 1, 'check after'))));
  });
  section.append(
      h('p.muted', {}, `${entries.length} versions${token ? ' (more not shown)' : ''}. A change at position P is visible from P+1: "check before" answers at P, "check after" at P+1.`),
      h('table.changes', {}, h('caption', {}, `Verdict changes of ${id} as of ${asOf}`),
        h('thead', {}, h('tr', {}, ['position', 'event', 'kind', 'before', 'after'].map((n) => h('th', {scope: 'col'}, n)))),
        h('tbody', {}, changes.length ? changes : h('tr', {}, h('td', {colspan: 5}, 'the verdicts never changed')))),
      h('details', {}, h('summary', {}, 'Every version'),
        table(`History of ${id}`, ['position', 'event', 'kind', 'changed', 'verdicts', 'any failed'],
              entries.map((e) => [e.position, e.eventId || '', e.eventKind || '', (e.changed || []).join(', '),
                                  outcomes(e), e.anyFailed ? 'yes' : 'no']))));
  return section;
}

