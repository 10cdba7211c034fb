// The page itself: plain HTML, CSS and browser JavaScript (ES2017, no framework, no build step),
// kept here as strings so the compiled `meshless` serves it without files beside it. The script
// opens /events (EventSource reconnects by itself) and re-renders every panel from each state;
// it builds DOM nodes with textContent, never innerHTML, so resource names cannot inject markup.
// Relative URLs throughout, so the page also works behind a proxy under a path prefix.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meshless dashboard</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header>
  <h1>Meshless</h1>
  <div id="summary" class="summary"></div>
  <div id="live" class="live off" title="server-sent events from the dashboard process">connecting…</div>
</header>
<main>
  <div class="col">
    <section id="nodes-panel" class="panel">
      <h2>Nodes and agents <span id="nodes-count" class="count"></span>
        <input id="filter" type="search" placeholder="filter nodes" aria-label="filter nodes" title="shows the nodes whose name, address or block contains this">
        <label class="count" title="agents not in sync, unreachable or lagging"><input id="problems" type="checkbox"> problems only</label></h2>
      <table id="nodes"><thead><tr><th>node</th><th>role</th><th>address</th><th>blocks</th><th>agent</th><th class="num">revision</th><th class="num">lag</th><th class="num">resources</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="ipam-panel" class="panel">
      <h2>IPAM pools</h2>
      <div id="pools"></div>
    </section>
  </div>
  <div class="col">
    <section id="reflectors-panel" class="panel">
      <h2>Route reflectors <span id="sessions-count" class="count"></span></h2>
      <div id="reflectors"></div>
    </section>
    <section id="sync-panel" class="panel">
      <h2>Sync servers</h2>
      <table id="sync"><thead><tr><th>server</th><th class="num">streams</th><th>balance (agents)</th><th class="num">revision</th><th class="num">fan-out p50</th><th class="num">p99</th><th class="num">refused</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="changes-panel" class="panel">
      <h2>Recent changes <span id="datastore" class="count"></span></h2>
      <ol id="changes"></ol>
    </section>
  </div>
</main>
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  --bg: #f5f6f8; --panel: #fff; --ink: #1d2330; --muted: #6b7280; --line: #e5e7eb;
  --ok: #15803d; --ok-bg: #dcfce7; --warn: #b45309; --warn-bg: #fef3c7; --bad: #b91c1c; --bad-bg: #fee2e2;
  --accent: #2563eb;
}
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: #111827; color: #f9fafb; position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 16px; margin: 0; letter-spacing: .02em; }
.summary { display: flex; gap: 14px; flex-wrap: wrap; flex: 1; }
.summary span b { font-variant-numeric: tabular-nums; }
.live { padding: 2px 8px; border-radius: 10px; font-size: 12px; }
.live.on { background: var(--ok); }
.live.off { background: var(--bad); }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; padding: 12px 16px; align-items: start; }
.col { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 0; overflow: auto; }
h2 input[type=search] { margin-left: 12px; font: inherit; text-transform: none; padding: 1px 6px; border: 1px solid var(--line); border-radius: 4px; width: 190px; }
h2 label { margin-left: 8px; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 2px 0 8px; }
h3 { font-size: 13px; margin: 8px 0 4px; }
.count { text-transform: none; letter-spacing: 0; font-weight: normal; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fresh td { animation: flash 2s ease-out; }
@keyframes flash { from { background: #dbeafe; } to { background: transparent; } }
.pill { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; }
.pill.ok { color: var(--ok); background: var(--ok-bg); }
.pill.warn { color: var(--warn); background: var(--warn-bg); }
.pill.bad { color: var(--bad); background: var(--bad-bg); }
.pill.muted { color: var(--muted); background: var(--line); }
.err { color: var(--bad); font-size: 12px; white-space: normal; }
.muted { color: var(--muted); }
.bar { position: relative; height: 14px; background: var(--line); border-radius: 3px; overflow: hidden; min-width: 80px; }
.bar > i { position: absolute; inset: 0 auto 0 0; background: var(--accent); }
.bar.warn > i { background: var(--warn); }
.bar.bad > i { background: var(--bad); }
.pool { margin-bottom: 8px; }
.pool .line { display: flex; justify-content: space-between; gap: 8px; }
#changes { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
#changes li { padding: 2px 0; border-bottom: 1px solid var(--line); display: flex; gap: 8px; }
#changes .rev { color: var(--muted); min-width: 56px; text-align: right; }
#changes .put { color: var(--ok); }
#changes .delete { color: var(--bad); }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } }
`;

export const PAGE_JS = `(function () {
  'use strict';
  var last = null;
  var seenNodes = null;

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (attrs[k] === undefined || attrs[k] === null) continue;
      if (k === 'text') el.textContent = attrs[k];
      else if (k === 'cls') el.className = attrs[k];
      else el.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return el;
  }
  function pill(text, kind, title) { return h('span', { cls: 'pill ' + kind, text: text, title: title }); }
  function td(content, cls) { return h('td', { cls: cls }, [content === undefined || content === null ? '' : (typeof content === 'object' ? content : String(content))]); }
  function fill(el, nodes) { while (el.firstChild) el.removeChild(el.firstChild); nodes.forEach(function (n) { el.appendChild(n); }); }
  function num(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
  function seconds(s) {
    if (s === null || s === undefined) return '–';
    if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + ' ms';
    return s.toFixed(2) + ' s';
  }
  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), mm = Math.floor(s % 3600 / 60), ss = s % 60;
    if (d) return d + 'd ' + hh + 'h';
    if (hh) return hh + 'h ' + mm + 'm';
    if (mm) return mm + 'm ' + ss + 's';
    return ss + 's';
  }
  function bar(used, total, title, neutral) {
    var pct = total > 0 ? Math.min(100, used / total * 100) : 0;
    var b = h('div', { cls: 'bar' + (neutral ? '' : pct >= 90 ? ' bad' : pct >= 75 ? ' warn' : ''), title: title });
    var i = h('i'); i.style.width = pct.toFixed(1) + '%'; b.appendChild(i);
    return b;
  }

  function renderSummary(s) {
    var agents = s.nodes.filter(function (n) { return n.agent; });
    var inSync = agents.filter(function (n) { return n.agent.inSync; }).length;
    var sessions = [], up = 0;
    s.reflectors.forEach(function (r) { r.peers.forEach(function (p) { sessions.push(p); if (p.state === 'Established') up++; }); });
    var items = [
      ['revision', num(s.datastore.revision)],
      ['nodes', num(s.nodes.length)],
      ['agents in sync', inSync + '/' + agents.length],
      ['sync streams', num(s.syncServers.reduce(function (a, x) { return a + x.streams; }, 0))],
      ['BGP sessions up', up + '/' + sessions.length]
    ];
    fill(document.getElementById('summary'), items.map(function (it) { return h('span', { id: 'sum-' + it[0].replace(/ /g, '-') }, [it[0] + ' ', h('b', { text: it[1] })]); }));
  }

  function agentCell(a) {
    if (!a) return pill('no agent metrics', 'muted');
    if (a.error) return pill('unreachable', 'bad', a.error);
    return a.inSync ? pill('in sync', 'ok') : pill('syncing', 'warn');
  }

  // Rows drawn at most; the filter narrows a large cluster down.
  var MAX_ROWS = 500;
  function matches(n, text, problems) {
    if (problems && !(n.agent && (!n.agent.inSync || n.agent.error || n.agent.lag > 0))) return false;
    if (!text) return true;
    return (n.name + ' ' + n.address + ' ' + n.blocks.join(' ')).toLowerCase().indexOf(text) >= 0;
  }

  function renderNodes(s) {
    var fresh = seenNodes;
    seenNodes = {};
    s.nodes.forEach(function (n) { seenNodes[n.name] = true; });
    var text = document.getElementById('filter').value.trim().toLowerCase();
    var problems = document.getElementById('problems').checked;
    var shown = s.nodes.filter(function (n) { return matches(n, text, problems); });
    var rows = shown.slice(0, MAX_ROWS).map(function (n) {
      var a = n.agent;
      var lag = a && a.lag !== null ? a.lag : null;
      var tr = h('tr', { 'data-node': n.name, cls: fresh && !fresh[n.name] ? 'fresh' : null }, [
        td(n.name),
        td(n.role === 'reflector' ? pill('reflector', 'muted') : 'node'),
        td(n.address || '–'),
        td(n.blocks.length ? n.blocks.join(' ') : '–', 'muted'),
        td(agentCell(a)),
        td(a ? num(a.revision) : '–', 'num'),
        td(lag === null ? '–' : (lag > 0 ? pill(String(lag), lag > 100 ? 'bad' : 'warn') : '0'), 'num'),
        td(a ? num(a.entries) : '–', 'num')
      ]);
      return tr;
    });
    if (shown.length > MAX_ROWS) rows.push(h('tr', null, [h('td', { colspan: '8', cls: 'muted', text: (shown.length - MAX_ROWS) + ' more: filter to narrow' })]));
    fill(document.querySelector('#nodes tbody'), rows);
    document.getElementById('nodes-count').textContent = '(' + (shown.length === s.nodes.length ? s.nodes.length : shown.length + ' of ' + s.nodes.length) + ')';
  }

  function stateKind(p) { return p.state === 'Established' ? 'ok' : (/shutdown/i.test(p.info) ? 'muted' : 'bad'); }

  function renderReflectors(s) {
    var now = Date.now(), total = 0, up = 0;
    var blocks = s.reflectors.map(function (r) {
      var head = h('h3', null, [r.admin + ' ', r.error ? pill('unreachable', 'bad', r.error) : h('span', { cls: 'muted', text: 'router id ' + r.routerId + ' · AS ' + r.asNumber + ' · cluster ' + r.clusterId + ' · ' + num(r.prefixes) + ' prefixes' + (r.restarting ? ' · restarting' : '') })]);
      if (r.error) return h('div', { cls: 'reflector', 'data-admin': r.admin }, [head, h('div', { cls: 'err', text: r.error })]);
      var rows = r.peers.map(function (p) {
        total++; if (p.state === 'Established') up++;
        return h('tr', { 'data-peer': p.address }, [
          h('td', { text: p.address, title: p.description || null }),
          td(p.type + ' ' + p.asNumber, 'muted'),
          td(pill(p.state, stateKind(p), p.info || null)),
          td(p.establishedAtMs ? duration(now - p.establishedAtMs) : (p.info || '–'), p.establishedAtMs ? 'num uptime' : 'err'),
          td(num(p.prefixesAccepted), 'num'),
          td(num(p.prefixesSent), 'num'),
          td(num(p.flaps), 'num')
        ]);
      });
      var table = h('table', { cls: 'sessions' }, [
        h('thead', null, [h('tr', null, [h('th', { text: 'peer' }), h('th', { text: 'type, AS' }), h('th', { text: 'state' }), h('th', { cls: 'num', text: 'uptime' }), h('th', { cls: 'num', text: 'prefixes in' }), h('th', { cls: 'num', text: 'out' }), h('th', { cls: 'num', text: 'flaps' })])]),
        h('tbody', null, rows)
      ]);
      return h('div', { cls: 'reflector', 'data-admin': r.admin }, [head, table]);
    });
    if (!blocks.length) blocks = [h('p', { cls: 'muted', text: 'No reflector admin API configured (--rr).' })];
    fill(document.getElementById('reflectors'), blocks);
    document.getElementById('sessions-count').textContent = '(' + up + '/' + total + ' sessions up)';
  }

  function renderSync(s) {
    var agents = s.syncServers.reduce(function (a, x) { return a + x.agents; }, 0);
    var rows = s.syncServers.map(function (x) {
      if (x.error && !x.streams) return h('tr', { 'data-sync': x.name }, [td(x.name), h('td', { colspan: '6', cls: 'err', text: x.error })]);
      return h('tr', { 'data-sync': x.name }, [
        td(x.name),
        td(num(x.streams), 'num'),
        td(bar(x.agents, agents, x.agents + ' of ' + agents + ' agents, ' + x.reflectors + ' reflectors', true)),
        td(num(x.revision), 'num'),
        h('td', { cls: 'num', text: seconds(x.fanoutP50), title: x.fanoutWindow === 'recent' ? x.fanoutBatches + ' change batches recently' : 'since the server started' }),
        h('td', { cls: 'num', text: seconds(x.fanoutP99), title: x.fanoutWindow === 'recent' ? x.fanoutBatches + ' change batches recently' : 'since the server started' }),
        td(x.rejected ? pill(num(x.rejected), 'warn') : '0', 'num')
      ]);
    });
    if (!rows.length) rows = [h('tr', null, [h('td', { colspan: '7', cls: 'muted', text: 'No sync server metrics configured (--metrics).' })])];
    fill(document.querySelector('#sync tbody'), rows);
  }

  function renderPools(s) {
    var items = s.pools.map(function (p) {
      var pct = p.addressesTotal ? p.addressesInUse / p.addressesTotal * 100 : 0;
      var bpct = p.blocksTotal ? p.blocksAllocated / p.blocksTotal * 100 : 0;
      return h('div', { cls: 'pool', 'data-pool': p.name }, [
        h('div', { cls: 'line' }, [h('b', { text: p.name }), h('span', { cls: 'muted', text: p.cidr + ' · /' + p.blockSize + ' blocks' + (p.disabled ? ' · disabled' : '') })]),
        h('div', { cls: 'line' }, [h('span', { text: 'blocks ' + num(p.blocksAllocated) + ' / ' + num(p.blocksTotal) }), h('span', { text: bpct.toFixed(1) + '%' })]),
        bar(p.blocksAllocated, p.blocksTotal, 'blocks allocated'),
        h('div', { cls: 'line' }, [h('span', { text: 'addresses in use ' + num(p.addressesInUse) + ' / ' + num(p.addressesTotal) }), h('span', { text: pct.toFixed(1) + '%' })])
      ]);
    });
    if (!items.length) items = [h('p', { cls: 'muted', text: 'No IP pools.' })];
    fill(document.getElementById('pools'), items);
  }

  function renderChanges(s) {
    var d = s.datastore;
    var kinds = Object.keys(d.kinds).map(function (k) { return k + ' ' + d.kinds[k]; }).join(' · ');
    document.getElementById('datastore').textContent = '(' + d.address + (d.watching ? '' : ' · not watching') + (d.errors ? ' · ' + d.errors + ' errors' : '') + ')';
    document.getElementById('datastore').title = kinds;
    var items = s.changes.map(function (c) {
      var t = new Date(c.at);
      return h('li', null, [
        h('span', { cls: 'muted', text: t.toLocaleTimeString() }),
        h('span', { cls: 'rev', text: '#' + c.revision }),
        h('span', { cls: c.type, text: c.type === 'put' ? '+' : '−' }),
        h('span', { text: c.kind + '/' + (c.namespace ? c.namespace + '/' : '') + c.name })
      ]);
    });
    if (d.error) items.unshift(h('li', { cls: 'err', text: d.error }));
    if (!items.length) items = [h('li', { cls: 'muted', text: 'Waiting for changes (try meshless apply -f examples/).' })];
    fill(document.getElementById('changes'), items);
  }

  function render(s) {
    last = s;
    renderSummary(s);
    renderNodes(s);
    renderReflectors(s);
    renderSync(s);
    renderPools(s);
    renderChanges(s);
  }

  function setLive(on) {
    var el = document.getElementById('live');
    el.className = 'live ' + (on ? 'on' : 'off');
    el.textContent = on ? 'live' : 'reconnecting…';
  }

  ['filter', 'problems'].forEach(function (id) {
    document.getElementById(id).addEventListener('input', function () { if (last) renderNodes(last); });
  });

  var events = new EventSource('events');
  events.addEventListener('state', function (e) { setLive(true); render(JSON.parse(e.data)); });
  events.onerror = function () { setLive(false); };
  // Session uptimes move every second even when nothing else does.
  setInterval(function () { if (last) renderReflectors(last); }, 1000);
})();
`;
