// Small DOM and formatting helpers shared by the pages.

// h('tag.class#id', {attributes, on: {event: fn}}, ...children): an element. Children may be
// strings, nodes, arrays or null.
export function h(spec, attrs, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/);
  const element = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') element.classList.add(part.slice(1));
    else element.id = part.slice(1);
  }
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

function setAttributes(element, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) element.addEventListener(event, fn);
    } else if (key === 'text') {
      element.textContent = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// A labelled form control: <label>text <input ...></label>.
export function field(label, control) {
  return h('label.field', {}, h('span', {}, label), control);
}

// "MATERIAL_NDFEB_MAGNET" -> "ndfeb magnet"; "" for unset.
export function enumName(value, prefix) {
  if (!value) return '';
  return value.replace(prefix, '').toLowerCase().replaceAll('_', ' ');
}
export const material = (v) => enumName(v, 'MATERIAL_');
export const stage = (v) => enumName(v, 'STAGE_');
export const processName = (v) => enumName(v, 'PROCESS_');
export const role = (v) => enumName(v, 'ROUTE_ROLE_');
export const outcome = (v) => enumName(v || 'OUTCOME_UNSPECIFIED', 'OUTCOME_');
export const lotStatus = (v) => enumName(v, 'LOT_STATUS_');

export function percent(share) {
  const p = (share || 0) * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(1) : p.toFixed(2)}%`;
}

// Grams (int64 as a string) as grams with thousands separators and tonnes/kg for reading.
export function mass(grams) {
  if (grams === undefined || grams === null || grams === '') return '0 g';
  const g = Number(grams);
  const text = `${BigInt(grams).toLocaleString('en-US')} g`;
  if (g >= 1e6) return `${text} (${(g / 1e6).toLocaleString('en-US')} t)`;
  if (g >= 1e3) return `${text} (${(g / 1e3).toLocaleString('en-US')} kg)`;
  return text;
}

export function date(timestamp) {
  return timestamp ? timestamp.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1 UTC') : '';
}

// An RFC 3339 timestamp for the start (or the end) of a yyyy-mm-dd day in UTC.
export function dayStart(day) {
  return day ? `${day}T00:00:00Z` : undefined;
}
export function dayEnd(day) {
  return day ? `${day}T23:59:59Z` : undefined;
}
export function today() {
  return new Date().toISOString().slice(0, 10);
}

// Links to the pages that show an id.
export function lotLink(id, query) {
  return h('a', {href: `#/lot/${encodeURIComponent(id)}${query ? `?${query}` : ''}`}, id);
}
export function shipmentLink(id) {
  return h('a', {href: `#/shipment/${encodeURIComponent(id)}`}, id);
}
export function subjectLink(subject) {
  const [kind, id] = subject.split('/', 2);
  if (kind === 'lot') return lotLink(id);
  if (kind === 'shipment') return shipmentLink(id);
  return subject;
}

// A table: caption, header names, rows of cells (strings or nodes). Exported as CSV as shown.
export function table(caption, headers, rows, attrs) {
  return h(
      'table', attrs || {}, h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((name) => h('th', {scope: 'col'}, name)))),
      h('tbody', {},
        rows.length ?
            rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell)))) :
            h('tr', {}, h('td.empty', {colspan: headers.length}, 'none'))));
}

// Verdict outcome as a badge: pass / fail / not in force (would fail) / ...
export function verdictBadge(verdict) {
  const name = outcome(verdict.outcome);
  const cls = `badge ${name.replaceAll(' ', '-')}`;
  let text = name;
  if (verdict.outcome === 'OUTCOME_NOT_IN_FORCE') {
    text += verdict.wouldFail ? ', would fail' : ', would pass';
  }
  return h('span', {class: cls}, text);
}

export function errorBox(error) {
  return h('div.error', {role: 'alert'}, h('strong', {}, error.title || 'Error'),
           error.status ? ` (HTTP ${error.status})` : '', error.detail ? `: ${error.detail}` : '',
           !error.title ? String(error.message || error) : '');
}

// Positions: "at_position" control value -> request field ("0" is now).
export function positionFields(at) {
  return at ? {atPosition: String(at)} : {};
}
