/**
 * The dashboard page, shipped as a string: one HTML document with its CSS and script
 * inline, no build step, no CDN, nothing fetched but `/events` (SSE) from the same origin.
 * The script writes text with `textContent` only (names and messages come from the
 * runtime, so they are never parsed as HTML), and the page is served with a CSP that
 * allows exactly this script (by hash) and same-origin connections.
 *
 * DOM contract the browser test relies on: every actor is an element with
 * `data-path`, `data-kind` (`supervisor` | `connection` | `actor`) and `data-state`.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: dark; --bg:#0f1419; --panel:#171d24; --line:#2a333d; --text:#d6dde4; --dim:#7d8a97;
  --ready:#3fb950; --probing:#39c5cf; --suspect:#d29922; --dead:#f85149; --dialing:#58a6ff; --restarting:#bc8cff; --closed:#6e7681; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg); color: var(--text); }
header { display: flex; gap: 16px; align-items: baseline; padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 15px; margin: 0; }
#status { color: var(--dim); } #status[data-live="true"] { color: var(--ready); }
main { display: grid; grid-template-columns: minmax(380px, 1fr) minmax(380px, 1fr); gap: 12px; padding: 12px 16px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
section h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 8px; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 16px; } ul.tree { padding-left: 0; }
.node { display: flex; gap: 8px; align-items: center; padding: 2px 0; white-space: nowrap; }
.dot { width: 9px; height: 9px; border-radius: 50%; flex: none; background: var(--closed); }
.state { min-width: 74px; } .dim { color: var(--dim); } .reason { color: var(--suspect); overflow: hidden; text-overflow: ellipsis; }
[data-state="ready"] > .node .dot, [data-state="running"] > .node .dot, [data-state="active"] > .node .dot { background: var(--ready); }
[data-state="probing"] > .node .dot { background: var(--probing); }
[data-state="suspect"] > .node .dot { background: var(--suspect); }
[data-state="dead"] > .node .dot, [data-state="failed"] > .node .dot, [data-state="failing"] > .node .dot, [data-state="error"] > .node .dot { background: var(--dead); }
[data-state="dialing"] > .node .dot { background: var(--dialing); }
[data-state="restarting"] > .node .dot { background: var(--restarting); }
[data-state="suspect"] > .node .state { color: var(--suspect); } [data-state="dead"] > .node .state { color: var(--dead); }
svg.spark { width: 120px; height: 18px; flex: none; } svg.spark polyline { fill: none; stroke: var(--probing); stroke-width: 1.2; }
svg#rtt { width: 100%; height: 170px; display: block; } svg#rtt polyline { fill: none; stroke-width: 1.5; }
svg#rtt text { fill: var(--dim); font-size: 10px; } svg#rtt line { stroke: var(--line); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 4px; color: var(--dim); }
.pool { margin-bottom: 10px; } .pool h3 { font-size: 13px; margin: 0 0 4px; }
.gauge { display: grid; grid-template-columns: 70px 1fr 60px; gap: 8px; align-items: center; margin: 2px 0; }
.bar { height: 8px; background: var(--bg); border-radius: 4px; overflow: hidden; } .bar > div { height: 100%; background: var(--dialing); }
.counters { color: var(--dim); margin-top: 4px; }
table { width: 100%; border-collapse: collapse; } td { padding: 1px 6px 1px 0; vertical-align: top; white-space: nowrap; }
#log { max-height: 320px; overflow: auto; } #log td:last-child { white-space: normal; }
.next { margin-top: 12px; }
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs) => { const e = document.createElementNS(SVG, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
const COLOURS = ['#58a6ff', '#3fb950', '#d29922', '#bc8cff', '#39c5cf', '#f778ba', '#ffa657', '#a5d6ff', '#7ee787', '#e3b341'];
const MAX_SAMPLES = 120, MAX_LOG = 200, MAX_RESTARTS = 50;
const nodes = new Map();      // path -> { li, state, reason, rtt, spark, restarts }
const rtt = new Map();        // path -> [[at, ms]]
const reasons = new Map();    // path -> last exit reason

function short(path) { return path.replace(/^root\\//, ''); }
function time(at) { return new Date(at).toISOString().slice(11, 23); }

function nodeView(node) {
  let v = nodes.get(node.path);
  if (!v) {
    const li = el('li'); li.dataset.path = node.path; li.dataset.kind = node.kind;
    const row = el('div', 'node');
    const dot = el('span', 'dot'), id = el('span', '', node.id), state = el('span', 'state');
    const restarts = el('span', 'dim'), detail = el('span', 'dim'), reason = el('span', 'reason');
    row.append(dot, id, state, restarts, detail);
    let spark = null;
    if (node.kind === 'connection') { spark = svg('svg', { class: 'spark', viewBox: '0 0 120 18', preserveAspectRatio: 'none' }); spark.append(svg('polyline', {})); row.append(spark); }
    row.append(reason);
    const ul = el('ul'); li.append(row, ul);
    v = { li, ul, state, restarts, detail, reason, spark };
    nodes.set(node.path, v);
  }
  return v;
}

function setState(path, state) {
  const v = nodes.get(path);
  if (!v || v.li.dataset.state === state) return;
  v.li.dataset.state = state;
  v.state.textContent = state;
}

function renderTree(node, parentUl, seen) {
  const v = nodeView(node);
  seen.add(node.path);
  setState(node.path, node.state);
  v.restarts.textContent = node.restarts > 0 ? '↻' + node.restarts : '';
  const parts = [];
  if (node.endpoint) parts.push(node.endpoint);
  if (node.rttMs !== undefined) parts.push(node.rttMs.toFixed(2) + ' ms');
  v.detail.textContent = parts.join('  ');
  v.reason.textContent = reasons.get(node.path) ?? '';
  if (v.li.parentNode !== parentUl) parentUl.append(v.li);
  let prev = null;
  for (const child of node.children ?? []) {
    const cv = renderTree(child, v.ul, seen);
    // Keep start order: move a node only when it is out of place.
    const want = prev ? prev.li.nextSibling : v.ul.firstChild;
    if (want !== cv.li) v.ul.insertBefore(cv.li, want);
    prev = cv;
  }
  if (v.spark) drawSpark(v.spark, rtt.get(node.path) ?? []);
  return v;
}

function prune(seen) {
  for (const [path, v] of nodes) if (!seen.has(path)) { v.li.remove(); nodes.delete(path); }
  for (const path of rtt.keys()) if (!seen.has(path)) rtt.delete(path);
}

function record(tree, at) {
  const visit = (n) => {
    if (n.kind === 'connection' && n.rttMs !== undefined) {
      let s = rtt.get(n.path); if (!s) rtt.set(n.path, s = []);
      if (!s.length || s[s.length - 1][0] !== at) s.push([at, n.rttMs]);
      if (s.length > MAX_SAMPLES) s.shift();
    }
    for (const c of n.children ?? []) visit(c);
  };
  visit(tree);
}

function points(samples, x0, width, height, tMin, tMax, yMax) {
  const span = Math.max(1, tMax - tMin);
  return samples.map(([t, ms]) => (x0 + (t - tMin) / span * width).toFixed(1) + ',' + (height - ms / yMax * (height - 2) - 1).toFixed(1)).join(' ');
}

function drawSpark(spark, samples) {
  const line = spark.firstChild;
  if (samples.length < 2) { line.setAttribute('points', ''); return; }
  const yMax = Math.max(...samples.map((s) => s[1])) || 1;
  line.setAttribute('points', points(samples, 0, 120, 18, samples[0][0], samples[samples.length - 1][0], yMax));
}

function drawChart(at) {
  const chart = $('rtt'), legend = $('legend');
  const width = chart.clientWidth || 600, height = 170, left = 44;
  chart.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  chart.replaceChildren(); legend.replaceChildren();
  const series = [...rtt.entries()].filter(([, s]) => s.length > 0);
  if (!series.length) { const t = svg('text', { x: left, y: 20 }); t.textContent = 'no RTT samples yet'; chart.append(t); return; }
  // The last minute, or less while there is less: a fresh page fills the width at once.
  const earliest = Math.min(...series.map(([, s]) => s[0][0]));
  const tMax = at, tMin = Math.max(tMax - 60000, earliest);
  const yMax = Math.max(0.01, ...series.flatMap(([, s]) => s.map((x) => x[1]))) * 1.15;
  for (const f of [0, 0.5, 1]) {
    const y = (height - 12) - f * (height - 22);
    chart.append(svg('line', { x1: left, x2: width, y1: y, y2: y }));
    const t = svg('text', { x: 2, y: y + 3 }); t.textContent = (f * yMax).toFixed(2) + 'ms'; chart.append(t);
  }
  series.forEach(([path, s], i) => {
    const colour = COLOURS[i % COLOURS.length];
    const visible = s.filter((x) => x[0] >= tMin);
    const line = svg('polyline', { stroke: colour, points: points(visible, left, width - left, height - 12, tMin, tMax, yMax) });
    chart.append(line);
    const key = el('span', '', '■ ' + short(path)); key.style.color = colour; legend.append(key);
  });
}

function renderPools(pools) {
  const box = $('pools');
  box.replaceChildren();
  if (!pools.length) { box.append(el('div', 'dim', 'no pool')); return; }
  for (const p of pools) {
    const s = p.stats, card = el('div', 'pool');
    card.dataset.pool = p.id;
    card.append(el('h3', '', p.id + '  (min ' + s.min + ', max ' + s.max + ')'));
    for (const k of ['open', 'leased', 'idle', 'pending', 'waiting']) {
      const row = el('div', 'gauge'), bar = el('div', 'bar'), fill = el('div');
      const ceiling = k === 'waiting' ? Math.max(s.waiting, s.max) : s.max;
      fill.style.width = Math.min(100, ceiling ? s[k] / ceiling * 100 : 0) + '%';
      bar.append(fill);
      const value = el('span', '', String(s[k])); value.dataset.gauge = k;
      row.append(el('span', 'dim', k), bar, value);
      card.append(row);
    }
    const closed = Object.entries(s.closed).filter(([, n]) => n > 0).map(([r, n]) => r + ' ' + n).join(', ') || 'none';
    card.append(el('div', 'counters', 'acquired ' + s.acquired + ' · waited ' + s.waitCount + ' (' + Math.round(s.waitDurationMs) + ' ms) · timeouts ' + s.timeouts + ' · closed: ' + closed));
    box.append(card);
  }
}

function describe(e) {
  switch (e.type) {
    case 'state': return short(e.path) + '  ' + e.from + ' → ' + e.to + (e.reason ? '  (' + e.reason + ')' : '');
    case 'restart': return short(e.path) + '  restart #' + e.attempt + ' in ' + e.delayMs + ' ms after ' + e.reason + (e.trigger ? ' (sibling ' + e.trigger + ')' : '');
    case 'child-exit': return short(e.path) + '  exited: ' + e.reason + (e.error ? ' — ' + (e.error.code ?? e.error.name) + ': ' + e.error.message : '');
    case 'escalation': return short(e.path) + '  gave up after ' + e.restarts + ' restarts of ' + e.child;
    case 'pool': {
      const p = e.event, what = Object.entries(p).filter(([k]) => k !== 'type' && k !== 'at' && k !== 'error').map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(' ');
      return short(e.path) + '  ' + p.type + ' ' + what + (p.error ? ' — ' + (p.error.code ?? p.error.name) + ': ' + p.error.message : '');
    }
    case 'dropped': return e.count + ' events not shown (too many at once)';
    default: return e.type + (e.error ? ' — ' + e.error.message : '');
  }
}

function logEvent(e) {
  const row = el('tr');
  row.dataset.type = e.type;
  row.append(el('td', 'dim', e.at !== undefined ? time(e.at) : ''), el('td', '', e.type === 'pool' ? 'pool:' + e.event.type : e.type), el('td', '', describe(e)));
  if (e.type === 'state') row.dataset.to = e.to;
  const log = $('log-body');
  log.prepend(row);
  while (log.rows.length > MAX_LOG) log.deleteRow(log.rows.length - 1);
  if (e.type === 'restart') {
    const r = el('tr');
    r.append(el('td', 'dim', time(e.at)), el('td', '', short(e.path)), el('td', '', '#' + e.attempt), el('td', '', e.delayMs + ' ms'), el('td', 'reason', e.reason));
    const body = $('restarts-body'); body.prepend(r);
    while (body.rows.length > MAX_RESTARTS) body.deleteRow(body.rows.length - 1);
  }
}

function applyEvent(e) {
  if (e.type === 'state') {
    setState(e.path, e.to);
    if (e.to === 'dead' || e.to === 'restarting' || e.to === 'closed') { if (e.reason) reasons.set(e.path, e.reason); }
  } else if (e.type === 'restart') {
    reasons.set(e.path, e.reason);
  }
  const v = nodes.get(e.path);
  if (v && reasons.has(e.path)) v.reason.textContent = reasons.get(e.path);
  logEvent(e);
}

function applySnapshot(s) {
  record(s.tree, s.at);
  const seen = new Set();
  renderTree(s.tree, $('tree'), seen);
  prune(seen);
  renderPools(s.pools);
  drawChart(s.at);
  $('updated').textContent = 'updated ' + time(s.at);
}

function connect() {
  const source = new EventSource('events');
  const status = $('status');
  source.onopen = () => { status.textContent = 'live'; status.dataset.live = 'true'; };
  source.onerror = () => { status.textContent = 'reconnecting…'; status.dataset.live = 'false'; };
  source.addEventListener('hello', (m) => {
    const h = JSON.parse(m.data);
    rtt.clear();
    for (const [path, samples] of Object.entries(h.rtt)) rtt.set(path, samples.slice(-MAX_SAMPLES));
    $('log-body').replaceChildren(); $('restarts-body').replaceChildren();
    for (const e of h.events) applyEvent(e);
    applySnapshot(h.snapshot);
  });
  source.addEventListener('snapshot', (m) => applySnapshot(JSON.parse(m.data)));
  source.addEventListener('events', (m) => { for (const e of JSON.parse(m.data)) applyEvent(e); });
}
connect();
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wirewarden dashboard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>wirewarden</h1><span id="status">connecting…</span><span id="updated" class="dim"></span></header>
<main>
<section id="tree-section"><h2>Supervision tree</h2><ul class="tree" id="tree"></ul></section>
<section><h2>RTT per connection (up to 60 s)</h2><svg id="rtt" role="img" aria-label="RTT per connection"></svg><div class="legend" id="legend"></div>
<h2 class="next">Pools</h2><div id="pools"></div></section>
<section><h2>Restarts</h2><table><tbody id="restarts-body"></tbody></table></section>
<section><h2>Events</h2><div id="log"><table><tbody id="log-body"></tbody></table></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The page's HTML. */
export const DASHBOARD_PAGE: string = HTML;

/** The CSP the page is served with: its own inline script (by hash) and style, same-origin SSE, nothing else. */
export const DASHBOARD_CSP: string = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  // Styles set from the script (bar widths, legend colours) are style attributes: allowed inline.
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
