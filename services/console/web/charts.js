// The SVG drawings: origin profile per stage as stacked bars, the route as a timeline.
import {h, percent, role, s, stage, table} from './util.js';

// A stable colour for a country, region (by its country) or party key; unknown ("??") is grey.
// Countries the demo's stories involve get distinct fixed colours; others a hashed hue.
const FIXED = {CN: '#c62828', US: '#1565c0', JP: '#6a1b9a', MY: '#2e7d32', VN: '#ef6c00', TH: '#00838f', MX: '#8d6e63',
               BO: '#9e9d24', AU: '#f9a825', MM: '#ad1457', DE: '#37474f', TR: '#5d4037', KR: '#283593', IN: '#558b2f'};
export function colour(key) {
  if (!key || key === '??') return '#9e9e9e';
  const country = key.length > 2 && key[2] === '-' ? key.slice(0, 2) : key;
  if (FIXED[country]) return FIXED[country];
  let hash = 2166136261;
  for (const c of key) hash = Math.imul(hash ^ c.charCodeAt(0), 16777619) >>> 0;
  return `hsl(${Math.round((hash % 1000) * 137.508) % 360} 60% 40%)`;
}

// Stacked bars, one per stage; the bar's full width is the lot's mass, the uncovered part
// (mass that never went through the stage) is hatched. With a table of the same numbers.
export function stageBars(profile, caption) {
  const stages = (profile && profile.stages) || [];
  const width = 640;
  const left = 110;
  const barWidth = width - left - 10;
  const rowHeight = 30;
  const height = stages.length * rowHeight + 10;
  const svg = s('svg', {
    class: 'bars', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${caption}: share of the lot's mass per stage and country`,
  });
  svg.append(s('defs', {}, s('pattern', {
    id: 'uncovered', width: 6, height: 6, patternUnits: 'userSpaceOnUse',
    patternTransform: 'rotate(45)',
  }, s('rect', {width: 6, height: 6, fill: '#f3f3f3'}), s('line', {x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#ccc', 'stroke-width': 2}))));
  stages.forEach((entry, row) => {
    const y = 5 + row * rowHeight;
    svg.append(s('text', {x: left - 8, y: y + 15, 'text-anchor': 'end', class: 'axis'}, stage(entry.stage)));
    svg.append(s('rect', {x: left, y, width: barWidth, height: 20, fill: 'url(#uncovered)'},
                 s('title', {}, `${stage(entry.stage)}: ${percent(1 - (entry.coverage || 0))} of the mass did not go through this stage`)));
    let x = left;
    for (const share of entry.countries || []) {
      const w = (share.share || 0) * barWidth;
      const g = s('g', {class: 'segment', 'data-key': share.key});
      g.append(s('rect', {x, y, width: Math.max(w, 0.5), height: 20, fill: colour(share.key)},
                 s('title', {}, `${stage(entry.stage)} in ${share.key}: ${percent(share.share)}`)));
      if (w > 48) {
        g.append(s('text', {x: x + 4, y: y + 15, class: 'inbar'}, `${share.key} ${percent(share.share)}`));
      }
      svg.append(g);
      x += w;
    }
  });
  const rows = [];
  for (const entry of stages) {
    for (const share of entry.countries || []) {
      rows.push([stage(entry.stage), percent(entry.coverage), share.key, percent(share.share)]);
    }
  }
  return h('figure.chart', {}, svg,
           h('figcaption', {}, caption, '. Hatched: mass that did not go through the stage; ?? = unknown origin.'),
           h('details', {}, h('summary', {}, 'The numbers'),
             table(`${caption} (numbers)`, ['stage', 'coverage', 'country', 'share of mass'], rows)));
}

// The route as a timeline from mining to the last holder: one stop per entry, in order.
// Route entries are unordered; they are drawn mined first, then processed in the order of the
// stages (from the profile), then where the material was stored or transited.
export function orderRoute(route, profile) {
  const stageOf = (country) => {
    const index = ((profile && profile.stages) || []).findIndex(
        (st) => st.stage !== 'STAGE_MINING' && (st.countries || []).some((c) => c.key === country));
    return index < 0 ? 50 : index;
  };
  const rank = (entry) => ({ROUTE_ROLE_MINED: 0, ROUTE_ROLE_PROCESSED: 100 + stageOf(entry.country)})[entry.role] ?? 1000;
  return (route || []).map((entry, i) => [rank(entry), i, entry]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

export function routeTimeline(route, caption, profile) {
  route = orderRoute(route, profile);
  const step = 120;
  const width = Math.max(route.length * step + 20, 200);
  const svg = s('svg', {class: 'timeline', viewBox: `0 0 ${width} 90`, width, height: 90, role: 'img',
                        'aria-label': `${caption}: ${route.map((r) => `${r.country} ${role(r.role)}`).join(', then ')}`});
  svg.append(s('line', {x1: 30, y1: 35, x2: Math.max(30, (route.length - 1) * step + 30), y2: 35, class: 'track'}));
  route.forEach((entry, i) => {
    const x = 30 + i * step;
    svg.append(s('g', {class: 'stop'},
                 s('circle', {cx: x, cy: 35, r: 12, fill: colour(entry.country)}, s('title', {}, `${entry.country}: ${role(entry.role)}, ${percent(entry.share)} of the mass`)),
                 s('text', {x, y: 15, 'text-anchor': 'middle', class: 'country'}, entry.country),
                 s('text', {x, y: 64, 'text-anchor': 'middle'}, role(entry.role)),
                 s('text', {x, y: 80, 'text-anchor': 'middle', class: 'muted'}, percent(entry.share))));
  });
  return h('figure.chart', {}, h('div.scroll', {}, svg), h('figcaption', {}, caption, ': mined, then processed stage by stage, then where it was stored or transited.'),
           table(`${caption} (stops)`, ['#', 'country', 'role', 'share of mass'],
                 route.map((r, i) => [String(i + 1), r.country, role(r.role), percent(r.share)]), {class: 'compact'}));
}

// A list of shares (regions, parties, mining origin) as a table.
export function shareTable(caption, keyName, shares) {
  return table(caption, [keyName, 'share'], (shares || []).map((x) => [x.key, percent(x.share)]), {class: 'compact'});
}
