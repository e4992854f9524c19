// The lineage graph of a lot (TraceOrigin), laid out as a DAG by dagre (vendor/), upstream on
// the left. Pages of max_nodes nodes are fetched on demand ("Load more"); nodes an edge names
// but no page has brought yet are drawn as dashed placeholders. Nodes on an evidence path are
// highlighted.
import dagre from './vendor/dagre.esm.js';
import {provenance} from './api.js';
import {colour} from './charts.js';
import {errorBox, h, lotLink, mass, material, positionFields, processName, s, table} from './util.js';

const NODE_WIDTH = 170;
const NODE_HEIGHT = 46;

function label(node) {
  if (!node) return ['(not loaded yet)', ''];
  switch (node.kind) {
    case 'KIND_TRANSFORMATION':
      return [node.id, `${processName(node.process)} · ${node.country || ''}`];
    case 'KIND_UNTRACKED_INPUT':
      return [`untracked ${material(node.material)}`, `declared ${node.country || '??'} · ${mass(node.massG).split(' (')[0]}`];
    default:
      return [node.id, `${material(node.material)} · ${node.subdivision || node.country || ''}`];
  }
}

// Draws `graph` ({nodes: Map, edges: []}) with `highlight` ({ids, keys}: node ids, and the
// countries or regions whose nodes are highlighted) marked; returns the <svg>.
export function drawGraph(graph, highlight, onSelect) {
  const ids = new Set(highlight.ids || []);
  const keys = new Set(highlight.keys || []);
  const highlighted = new Set();
  for (const [id, node] of graph.nodes) {
    if (ids.has(id) || keys.has(node.country) || keys.has(node.subdivision)) highlighted.add(id);
  }
  for (const id of ids) highlighted.add(id);
  const g = new dagre.graphlib.Graph();
  // network-simplex ranks best but costs about twice tight-tree's time on 1,000 nodes.
  const ranker = graph.nodes.size > 300 ? 'tight-tree' : 'network-simplex';
  g.setGraph({rankdir: 'LR', nodesep: 14, ranksep: 46, marginx: 8, marginy: 8, ranker});
  g.setDefaultEdgeLabel(() => ({}));
  const all = new Set(graph.nodes.keys());
  for (const edge of graph.edges) all.add(edge.fromId).add(edge.toId);
  for (const id of all) g.setNode(id, {width: NODE_WIDTH, height: NODE_HEIGHT});
  for (const edge of graph.edges) g.setEdge(edge.fromId, edge.toId, {massG: edge.massG});
  dagre.layout(g);
  const {width, height} = g.graph();
  const svg = s('svg', {class: 'dag', viewBox: `0 0 ${width} ${height}`, width, height, role: 'group',
                        'aria-label': `lineage graph, ${graph.nodes.size} nodes`});
  svg.append(s('defs', {}, s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'},
                             s('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#777'}))));
  for (const e of g.edges()) {
    const points = g.edge(e).points;
    const on = highlighted.has(e.v) && highlighted.has(e.w);
    svg.append(s('path', {
      class: on ? 'edge on' : 'edge', 'marker-end': 'url(#arrow)',
      d: points.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' '),
    }, s('title', {}, `${e.v} → ${e.w}: ${mass(g.edge(e).massG)}`)));
  }
  for (const id of g.nodes()) {
    const box = g.node(id);
    const node = graph.nodes.get(id);
    const [title, sub] = label(node);
    const kind = node ? node.kind.replace('KIND_', '').toLowerCase() : 'missing';
    const classes = ['node', kind];
    if (highlighted.has(id)) classes.push('on');
    if (node && node.retracted) classes.push('retracted');
    const group = s('g', {
      class: classes.join(' '), tabindex: 0, role: 'button', 'data-id': id,
      'aria-label': `${title}, ${sub}${highlighted.has(id) ? ', on the evidence path' : ''}`,
      transform: `translate(${box.x - NODE_WIDTH / 2} ${box.y - NODE_HEIGHT / 2})`,
    });
    group.append(
        s('rect', {width: NODE_WIDTH, height: NODE_HEIGHT, rx: kind === 'transformation' ? 14 : 3}),
        s('rect', {class: 'stripe', width: 6, height: NODE_HEIGHT, fill: colour(node && node.country)}),
        s('text', {x: 12, y: 18, class: 'title'}, title.length > 24 ? `${title.slice(0, 23)}…` : title),
        s('text', {x: 12, y: 35, class: 'sub'}, sub.length > 28 ? `${sub.slice(0, 27)}…` : sub),
        s('title', {}, `${title}\n${sub}`));
    const select = () => onSelect && onSelect(id, node);
    group.addEventListener('click', select);
    group.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select();
      }
    });
    svg.append(group);
  }
  return svg;
}

// The lineage section of a lot page: fetches the first page, draws, offers the next pages.
export function lineageSection(lotId, at, pageSize, getHighlight) {
  const graph = {nodes: new Map(), edges: [], responses: []};
  let token = '';
  const status = h('p.muted', {'aria-live': 'polite'});
  const canvas = h('div.scroll.dag-box');
  const detail = h('div.node-detail', {'aria-live': 'polite'});
  const more = h('button', {type: 'button', hidden: true}, 'Load more of the graph');
  const listing = h('details', {}, h('summary', {}, 'The nodes as a table'));
  const redraw = () => {
    const svg = drawGraph(graph, getHighlight(), (id, node) => {
      detail.replaceChildren(node ? h('p', {}, h('strong', {}, id), ' ', nodeText(node), ' ',
                                          node.kind === 'KIND_LOT' ? lotLink(id, at ? `at=${at}` : '') : '') :
                                    h('p', {}, `${id}: not loaded yet; load more of the graph`));
    });
    canvas.replaceChildren(svg);
    listing.replaceChildren(h('summary', {}, 'The nodes as a table'), table(
        'Lineage nodes', ['depth', 'kind', 'id', 'material / process', 'facility', 'country', 'subdivision', 'mass', 'retracted'],
        [...graph.nodes.values()].map((n) => [String(n.depth || 0), n.kind.replace('KIND_', '').toLowerCase(), n.id,
          material(n.material) || processName(n.process), n.facilityId || '', n.country || '', n.subdivision || '',
          n.massG ? mass(n.massG) : '', n.retracted ? 'yes' : ''])));
  };
  const load = async () => {
    more.disabled = true;
    try {
      const response = await provenance('TraceOrigin', {lotId, maxNodes: pageSize, pageToken: token || undefined, ...positionFields(at)});
      graph.responses.push(response);
      for (const node of response.nodes || []) graph.nodes.set(node.id, node);
      graph.edges.push(...(response.edges || []));
      token = response.nextPageToken || '';
      more.hidden = !token;
      const missing = new Set();
      for (const e of graph.edges) for (const id of [e.fromId, e.toId]) if (!graph.nodes.has(id)) missing.add(id);
      status.textContent = `${graph.nodes.size} nodes, ${graph.edges.length} edges loaded` +
          (token ? `; more pages (${missing.size} nodes referenced but not loaded yet, dashed)` : '; the graph is complete') +
          (response.truncatedByDepth ? '; cut at the maximum depth' : '') + '.';
      redraw();
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
    more.disabled = false;
  };
  more.addEventListener('click', load);
  const section = h('section.lineage', {'aria-labelledby': 'lineage-h'},
                    h('h2#lineage-h', {}, 'Lineage'),
                    h('p.muted', {}, 'Upstream on the left. Highlighted: the evidence path, or the nodes in the country or region, of the evidence you select. ',
                      'Press Enter on a node for its details.'),
                    status, canvas, more, detail, listing);
  section.redraw = redraw;
  section.ready = load();
  section.graph = graph;
  return section;
}

function nodeText(node) {
  const parts = [node.kind.replace('KIND_', '').toLowerCase()];
  if (node.material) parts.push(material(node.material));
  if (node.process) parts.push(processName(node.process));
  if (node.facilityId) parts.push(`at ${node.facilityId}`);
  if (node.country) parts.push(`(${[node.country, node.subdivision].filter(Boolean).join(', ')})`);
  if (node.massG) parts.push(mass(node.massG));
  if (node.retracted) parts.push('RETRACTED');
  parts.push(`depth ${node.depth || 0}`);
  return parts.join(' ');
}

