/* tocsin's on-call page. Plain JavaScript, no build step. Every piece of data from the server is
 * put in the page with textContent or as an attribute value, never parsed as HTML: labels come
 * from outside. */
'use strict';

(function () {
  // The page lives at <prefix>/; API paths hang off the same directory. origin + pathname keeps
  // credentials typed into the address bar out of fetch() URLs.
  const BASE = location.origin + location.pathname.replace(/[^/]*$/, '');
  const GROUPS_PER_PAGE = 20;
  const ALERTS_PER_GROUP = 10;
  const MORE_STEP = 50;
  const SEVERITIES = ['critical', 'error', 'warning', 'info'];
  const NAME_KEY = 'tocsin.name';

  const S = {
    view: 'alerts',
    params: new URLSearchParams(),
    user: null, // the basic-auth user, when there is one
    groups: [], // filtered groups: {labels, receiver, alerts, key, worst}
    byFp: new Map(),
    acks: new Map(), // fingerprint -> ack
    shown: new Map(), // group key -> alerts shown
    page: 0,
    silences: [],
    histCursor: null,
    receivers: [],
    live: false,
    lost: false,
  };

  /* ---- small helpers ---- */

  function $(id) { return document.getElementById(id); }

  // Elements from data: attributes via setAttribute, text via text nodes.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else if (k.startsWith('data-')) el.setAttribute(k, String(v));
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.appendChild(typeof kid === 'string' || typeof kid === 'number'
        ? document.createTextNode(String(kid)) : kid);
    }
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function safeHref(u) { return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null; }

  async function api(method, path, body) {
    const headers = { 'X-Tocsin-Request': '1', Accept: 'application/json' };
    const opt = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(BASE + path, opt);
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!r.ok) {
      const msg = data && (data.message || data.error) ? (data.message || data.error) : text;
      throw new Error(r.status + ': ' + (msg || r.statusText));
    }
    return data;
  }

  function toast(msg, bad) {
    const t = $('toast');
    t.textContent = msg;
    t.className = bad ? 'bad' : 'ok';
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
  }

  function banner(msg, kind) {
    const b = $('banner');
    clearTimeout(banner.timer);
    if (!msg) { b.hidden = true; return; }
    b.textContent = msg;
    b.className = kind;
    b.hidden = false;
    if (kind === 'ok') banner.timer = setTimeout(() => { b.hidden = true; }, 5000);
  }

  function ago(iso) {
    const t = Date.parse(iso);
    if (!t) return '';
    let s = Math.round((Date.now() - t) / 1000);
    const future = s < 0;
    s = Math.abs(s);
    let out;
    if (s < 60) out = s + 's';
    else if (s < 3600) out = Math.floor(s / 60) + 'm';
    else if (s < 86400) out = Math.floor(s / 3600) + 'h' + (Math.floor(s / 60) % 60) + 'm';
    else out = Math.floor(s / 86400) + 'd' + (Math.floor(s / 3600) % 24) + 'h';
    return future ? 'in ' + out : out + ' ago';
  }

  function when(iso) {
    const t = Date.parse(iso);
    return t ? new Date(t).toLocaleString() : '';
  }

  function sevOf(labels) {
    const s = (labels && labels.severity || '').toLowerCase();
    if (s === 'critical' || s === 'page' || s === 'fatal') return 'critical';
    if (s === 'error' || s === 'high' || s === 'major') return 'error';
    if (s === 'warning' || s === 'warn' || s === 'medium' || s === 'minor') return 'warning';
    if (s === 'info' || s === 'low' || s === 'none') return 'info';
    return 'other';
  }
  function sevRank(s) { const i = SEVERITIES.indexOf(s); return i < 0 ? SEVERITIES.length : i; }

  /* ---- matchers, as amtool writes them ---- */

  // Splits `a="b", c=~"d,e"` (braces optional) into matcher strings, commas in quotes kept.
  function splitMatchers(text) {
    let s = (text || '').trim();
    if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
    const out = [];
    let cur = '', q = false;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (q && c === '\\' && i + 1 < s.length) { cur += c + s[++i]; continue; }
      if (c === '"') q = !q;
      if (c === ',' && !q) { if (cur.trim()) out.push(cur.trim()); cur = ''; continue; }
      cur += c;
    }
    if (cur.trim()) out.push(cur.trim());
    return out;
  }

  function unquote(s) {
    s = s.trim();
    if (s.length >= 2 && s[0] === '"' && s[s.length - 1] === '"') {
      try { return JSON.parse(s); } catch (e) { return s.slice(1, -1); }
    }
    return s;
  }

  // One matcher string -> {name, op, value}, or null.
  function parseMatcher(m) {
    const r = /^\s*("(?:[^"\\]|\\.)*"|[^=!~\s"]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(m);
    if (!r) return null;
    return { name: unquote(r[1]), op: r[2], value: unquote(r[3]) };
  }

  function quoteName(n) { return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n) ? n : JSON.stringify(n); }
  function formatMatcher(m) { return quoteName(m.name) + m.op + JSON.stringify(m.value); }

  function regexEscape(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

  /* ---- the URL holds the view and its filters ---- */

  function readHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    S.params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
    const parts = path.split('/');
    S.view = ['alerts', 'silences', 'history', 'status', 'alert'].includes(parts[0]) ? parts[0] : 'alerts';
    S.viewArg = parts[1] || '';
  }

  function setHash(view, params) {
    const q = params.toString();
    const h2 = '#/' + view + (q ? '?' + q : '');
    if (location.hash !== h2) location.hash = h2;
    else route();
  }

  function route() {
    readHash();
    const v = S.view === 'alert' ? 'history' : S.view;
    for (const sec of document.querySelectorAll('main > section')) sec.hidden = sec.id !== 'view-' + v;
    for (const a of document.querySelectorAll('header nav a')) {
      if (a.dataset.view === v) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (v === 'alerts') { fillAlertFilter(); loadAlerts(); }
    else if (v === 'silences') loadSilences();
    else if (v === 'history') loadHistory(false);
    else if (v === 'status') loadStatus();
  }

  /* ---- alerts ---- */

  function fillAlertFilter() {
    const p = S.params;
    $('f-filter').value = p.getAll('filter').join(', ');
    $('f-q').value = p.get('q') || '';
    const states = (p.get('state') || '').split(',').filter(Boolean);
    for (const cb of document.querySelectorAll('#alert-filter input[name=state]')) cb.checked = states.includes(cb.value);
    S.page = Math.max(0, parseInt(p.get('page') || '1', 10) - 1) || 0;
    fillReceiverSelect();
  }

  function fillReceiverSelect() {
    const sel = $('f-receiver');
    const want = S.params.get('receiver') || '';
    const names = S.receivers.slice();
    if (want && !names.includes(want)) names.push(want);
    clear(sel).appendChild(h('option', { value: '' }, 'any'));
    for (const n of names) sel.appendChild(h('option', { value: n }, n));
    sel.value = want;
  }

  function alertFilterFromForm() {
    const p = new URLSearchParams();
    for (const m of splitMatchers($('f-filter').value)) p.append('filter', m);
    const rcv = $('f-receiver').value;
    if (rcv) p.set('receiver', rcv);
    const text = $('f-q').value.trim();
    if (text) p.set('q', text);
    const st = [...document.querySelectorAll('#alert-filter input[name=state]:checked')].map((c) => c.value);
    if (st.length) p.set('state', st.join(','));
    return p;
  }

  function stateOf(a) {
    const st = a.status || {};
    if (st.silencedBy && st.silencedBy.length) return 'silenced';
    if (st.inhibitedBy && st.inhibitedBy.length) return 'inhibited';
    if (S.acks.has(a.fingerprint)) return 'acknowledged';
    return 'active';
  }

  // Free text, as the on-call view's q: any label or annotation value, case-insensitive.
  function matchesText(a, text) {
    for (const v of Object.values(a.labels || {})) if (String(v).toLowerCase().includes(text)) return true;
    for (const v of Object.values(a.annotations || {})) if (String(v).toLowerCase().includes(text)) return true;
    return false;
  }

  let loadSeq = 0;
  async function loadAlerts() {
    const seq = ++loadSeq;
    const t0 = performance.now();
    const q = new URLSearchParams();
    for (const m of S.params.getAll('filter')) q.append('filter', m);
    const rcv = S.params.get('receiver');
    if (rcv) q.set('receiver', regexEscape(rcv));
    let groups, acks;
    try {
      [groups, acks] = await Promise.all([
        api('GET', 'api/v2/alerts/groups?' + q.toString()),
        api('GET', 'api/tocsin/v1/acks'),
      ]);
    } catch (e) {
      if (seq !== loadSeq) return;
      $('alert-count').textContent = 'Cannot load alerts: ' + e.message;
      $('alert-count').dataset.total = '';
      clear($('groups'));
      return;
    }
    if (seq !== loadSeq) return; // a newer load is under way
    S.acks = new Map();
    for (const ack of acks || []) for (const fp of ack.fingerprints || []) S.acks.set(fp, ack);
    const states = (S.params.get('state') || '').split(',').filter(Boolean);
    const text = (S.params.get('q') || '').toLowerCase();
    S.byFp = new Map();
    S.groups = [];
    for (const g of groups || []) {
      const alerts = [];
      for (const a of g.alerts || []) {
        a.state = stateOf(a);
        a.sev = sevOf(a.labels);
        if (states.length && !states.includes(a.state)) continue;
        if (text && !matchesText(a, text)) continue;
        alerts.push(a);
        S.byFp.set(a.fingerprint, a);
      }
      if (!alerts.length) continue;
      alerts.sort((x, y) => sevRank(x.sev) - sevRank(y.sev) || (x.startsAt < y.startsAt ? 1 : -1));
      const recv = g.receiver && g.receiver.name || '';
      S.groups.push({
        labels: g.labels || {}, receiver: recv, alerts,
        key: recv + '\u0000' + JSON.stringify(g.labels || {}),
        worst: sevRank(alerts[0].sev),
      });
    }
    S.groups.sort((x, y) => x.worst - y.worst || y.alerts.length - x.alerts.length ||
      (x.key < y.key ? -1 : 1));
    renderAlerts();
    S.loadMs = performance.now() - t0;
    document.body.dataset.renderMs = String(Math.round(S.loadMs));
  }

  function renderAlerts() {
    const total = S.byFp.size;
    const cnt = $('alert-count');
    cnt.textContent = total + (total === 1 ? ' alert' : ' alerts') + ' in ' + S.groups.length +
      (S.groups.length === 1 ? ' group' : ' groups');
    cnt.dataset.total = String(total);
    const bySev = {};
    for (const a of S.byFp.values()) bySev[a.sev] = (bySev[a.sev] || 0) + 1;
    const sc = clear($('sev-counts'));
    for (const s of SEVERITIES.concat(['other'])) {
      if (bySev[s]) sc.appendChild(h('span', { class: 'badge sev-' + s, 'data-sev': s }, s + ' ' + bySev[s]));
    }
    const pages = Math.max(1, Math.ceil(S.groups.length / GROUPS_PER_PAGE));
    if (S.page >= pages) S.page = pages - 1;
    const box = clear($('groups'));
    if (!S.groups.length) box.appendChild(h('p', { class: 'empty' }, 'Nothing matches: all quiet.'));
    const frag = document.createDocumentFragment();
    const start = S.page * GROUPS_PER_PAGE;
    S.groups.slice(start, start + GROUPS_PER_PAGE).forEach((g, i) => frag.appendChild(renderGroup(g, start + i)));
    box.appendChild(frag);
    renderPager(pages);
  }

  function labelChips(labels, skip) {
    const out = [];
    for (const k of Object.keys(labels).sort()) {
      if (skip && skip.has(k)) continue;
      out.push(h('span', { class: 'chip', title: k + '=' + labels[k] }, h('span', { class: 'k' }, k), '=', labels[k]));
    }
    return out;
  }

  function renderGroup(g, gi) {
    const n = S.shown.get(g.key) || ALERTS_PER_GROUP;
    const counts = {};
    for (const a of g.alerts) counts[a.sev] = (counts[a.sev] || 0) + 1;
    const el = h('section', { class: 'group sev-edge-' + (SEVERITIES[g.worst] || 'other'), 'data-group': gi },
      h('header', null,
        h('div', { class: 'glabels' }, Object.keys(g.labels).length ? labelChips(g.labels) : h('span', { class: 'muted' }, '(one group for all)')),
        h('div', { class: 'gmeta' },
          h('span', { class: 'receiver', title: 'receiver' }, '→ ' + g.receiver),
          h('span', { class: 'gcount' }, g.alerts.length + (g.alerts.length === 1 ? ' alert' : ' alerts')),
          SEVERITIES.concat(['other']).filter((s) => counts[s]).map((s) => h('span', { class: 'badge sev-' + s }, String(counts[s]))),
          h('button', { type: 'button', class: 'small', 'data-act': 'ack-group' }, 'Ack group'),
          h('button', { type: 'button', class: 'small secondary', 'data-act': 'resolve-group' }, 'Resolve'),
          h('button', { type: 'button', class: 'small secondary', 'data-act': 'silence-group' }, 'Silence'))));
    const skip = new Set(Object.keys(g.labels));
    const list = h('ul', { class: 'alerts' });
    for (const a of g.alerts.slice(0, n)) list.appendChild(renderAlert(a, skip));
    el.appendChild(list);
    if (g.alerts.length > n) {
      el.appendChild(h('button', { type: 'button', class: 'linkish more', 'data-act': 'more' },
        'Show ' + Math.min(MORE_STEP, g.alerts.length - n) + ' more (' + (g.alerts.length - n) + ' not shown)'));
    }
    return el;
  }

  function renderAlert(a, skip) {
    const ack = S.acks.get(a.fingerprint);
    const ann = a.annotations || {};
    const summary = ann.summary || ann.description || ann.message || '';
    const gen = safeHref(a.generatorURL);
    return h('li', { class: 'alert sev-' + a.sev + ' st-' + a.state, 'data-fp': a.fingerprint },
      h('div', { class: 'aline' },
        h('span', { class: 'badge sev-' + a.sev }, a.labels.severity || 'none'),
        h('strong', { class: 'aname' }, a.labels.alertname || '(no alertname)'),
        h('span', { class: 'state st-' + a.state }, a.state),
        h('span', { class: 'muted', title: when(a.startsAt) }, ago(a.startsAt))),
      summary ? h('div', { class: 'summary-text' }, summary) : null,
      h('div', { class: 'chips' }, labelChips(a.labels, new Set([...skip, 'alertname', 'severity']))),
      ack ? h('div', { class: 'ackinfo' }, 'acknowledged by ', h('strong', null, ack.by),
        ack.comment ? ': ' + ack.comment : '', ' (' + ago(ack.createdAt) + ')',
        ack.expiresAt ? ', ends ' + ago(ack.expiresAt) : '') : null,
      muteInfo(a),
      h('div', { class: 'actions' },
        ack ? h('button', { type: 'button', class: 'small secondary', 'data-act': 'unack' }, 'Un-ack')
          : h('button', { type: 'button', class: 'small', 'data-act': 'ack' }, 'Ack'),
        h('button', { type: 'button', class: 'small secondary', 'data-act': 'resolve' }, 'Resolve'),
        h('button', { type: 'button', class: 'small secondary', 'data-act': 'silence' }, 'Silence'),
        h('a', { class: 'small', href: '#/alert/' + a.fingerprint }, 'Timeline'),
        gen ? h('a', { class: 'small', href: gen, rel: 'noopener noreferrer', target: '_blank' }, 'Source') : null));
  }

  function muteInfo(a) {
    const st = a.status || {};
    if (st.silencedBy && st.silencedBy.length) {
      return h('div', { class: 'muted' }, 'silenced by ', st.silencedBy.map((id, i) =>
        [i ? ', ' : '', h('a', { href: '#/silences' }, id.slice(0, 8))]));
    }
    if (st.inhibitedBy && st.inhibitedBy.length) {
      return h('div', { class: 'muted' }, 'inhibited by ', st.inhibitedBy.map((fp, i) =>
        [i ? ', ' : '', h('a', { href: '#/alert/' + encodeURIComponent(fp) }, fp)]));
    }
    return null;
  }

  function renderPager(pages) {
    const nav = clear($('group-pager'));
    if (pages <= 1) return;
    const go = (p) => {
      const q = new URLSearchParams(S.params);
      if (p) q.set('page', String(p + 1)); else q.delete('page');
      setHash('alerts', q);
    };
    nav.appendChild(h('button', { type: 'button', class: 'small secondary', disabled: S.page === 0, onclick: () => go(S.page - 1) }, '‹ Previous'));
    nav.appendChild(h('span', { class: 'muted' }, ' page ' + (S.page + 1) + ' of ' + pages + ' '));
    nav.appendChild(h('button', { type: 'button', class: 'small secondary', disabled: S.page + 1 >= pages, onclick: () => go(S.page + 1) }, 'Next ›'));
  }

  function groupsClick(ev) {
    const btn = ev.target.closest('[data-act]');
    if (!btn) return;
    const act = btn.dataset.act;
    const gEl = btn.closest('[data-group]');
    const g = gEl ? S.groups[+gEl.dataset.group] : null;
    const li = btn.closest('[data-fp]');
    const a = li ? S.byFp.get(li.dataset.fp) : null;
    if (act === 'more' && g) {
      S.shown.set(g.key, (S.shown.get(g.key) || ALERTS_PER_GROUP) + MORE_STEP);
      gEl.replaceWith(renderGroup(g, +gEl.dataset.group));
    } else if (act === 'ack' && a) openAct('ack', [a], 'alert ' + (a.labels.alertname || a.fingerprint));
    else if (act === 'unack' && a) openAct('unack', [a], 'alert ' + (a.labels.alertname || a.fingerprint));
    else if (act === 'resolve' && a) openAct('resolve', [a], 'alert ' + (a.labels.alertname || a.fingerprint));
    else if (act === 'silence' && a) openSilence(null, Object.entries(a.labels).map(([name, value]) => ({ name, op: '=', value })));
    else if (act === 'ack-group' && g) openAct('ack', g.alerts, 'the group of ' + g.alerts.length);
    else if (act === 'resolve-group' && g) openAct('resolve', g.alerts, 'the group of ' + g.alerts.length);
    else if (act === 'silence-group' && g) openSilence(null, Object.entries(g.labels).map(([name, value]) => ({ name, op: '=', value })));
  }

  /* ---- the name acks are made with ---- */

  function myName() { return S.user || localStorage.getItem(NAME_KEY) || ''; }

  function showName() {
    const b = $('whoami');
    if (S.user) { b.textContent = 'signed in as ' + S.user; b.disabled = true; }
    else b.textContent = 'name: ' + (myName() || 'not set');
  }

  async function loadWhoami() {
    try {
      const r = await api('GET', 'api/tocsin/v1/whoami');
      S.user = r && typeof r.user === 'string' && r.user ? r.user : null;
    } catch (e) {
      S.user = null;
    }
    showName();
  }

  function openName() {
    $('name-input').value = myName();
    $('name-dialog').showModal();
  }

  /* ---- ack, un-ack, resolve ---- */

  let act = null;
  function openAct(kind, alerts, what) {
    const firing = alerts.filter((a) => a);
    act = { kind, alerts: firing };
    const title = { ack: 'Acknowledge', unack: 'Un-acknowledge', resolve: 'Resolve by hand' }[kind];
    $('act-title').textContent = title;
    $('act-ok').textContent = title;
    let note = '';
    if (kind === 'unack') {
      const ids = new Set(firing.map((a) => S.acks.get(a.fingerprint)).filter(Boolean).map((k) => k.id));
      let covered = 0;
      for (const k of S.acks.values()) if (ids.has(k.id)) covered++;
      if (covered > firing.length) note = ' The ack covers ' + covered + ' alerts; it ends for all of them.';
    }
    $('act-target').textContent = title + ' ' + what + (firing.length > 1 ? ' (' + firing.length + ' alerts)' : '') + '.' + note;
    const by = $('act-by');
    by.value = myName();
    by.readOnly = !!S.user;
    $('act-form').comment.value = '';
    $('act-form').silenceFor.value = '';
    $('act-form').expires.value = '';
    $('act-silence-row').hidden = kind !== 'resolve';
    $('act-expires-row').hidden = kind !== 'ack';
    $('act-error').textContent = '';
    $('act-dialog').showModal();
    (by.value ? $('act-form').comment : by).focus();
  }

  async function submitAct(ev) {
    ev.preventDefault();
    if (!act) return;
    const f = $('act-form');
    const by = f.by.value.trim();
    const comment = f.comment.value;
    if (!by) { $('act-error').textContent = 'A name is needed.'; return; }
    if (!S.user) { localStorage.setItem(NAME_KEY, by); showName(); }
    const fps = [...new Set(act.alerts.map((a) => a.fingerprint))].slice(0, 10000);
    try {
      if (act.kind === 'ack') {
        const body = { fingerprints: fps, by, comment };
        if (f.expires.value.trim()) {
          const d = parseDuration(f.expires.value);
          if (d === null) { $('act-error').textContent = 'Ack ends after: use 30m, 4h, 1d ...'; return; }
          body.expiresAt = new Date(Date.now() + d).toISOString();
        }
        const r = await api('POST', 'api/tocsin/v1/acks', body);
        toast('Acknowledged ' + (r.fingerprints || fps).length + ' alert(s) as ' + by);
      } else if (act.kind === 'resolve') {
        const body = { fingerprints: fps, by, comment };
        if (f.silenceFor.value.trim()) body.silenceFor = f.silenceFor.value.trim();
        await api('POST', 'api/tocsin/v1/resolves', body);
        toast('Resolved ' + fps.length + ' alert(s)');
      } else {
        const ids = new Set();
        for (const a of act.alerts) { const k = S.acks.get(a.fingerprint); if (k) ids.add(k.id); }
        const qs = '?by=' + encodeURIComponent(by) + '&comment=' + encodeURIComponent(comment);
        for (const id of ids) await api('DELETE', 'api/tocsin/v1/acks/' + encodeURIComponent(id) + qs);
        toast('Removed ' + ids.size + ' ack(s)');
      }
      $('act-dialog').close();
      act = null;
      refreshSoon(0);
    } catch (e) {
      $('act-error').textContent = e.message;
    }
  }

  function shownAlerts() { return [...S.byFp.values()]; }

  /* ---- silences ---- */

  let sil = null; // {id} while the editor is open
  function toLocalInput(d) {
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function parseDuration(s) {
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
    const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
    let total = 0, used = 0, m;
    s = (s || '').trim();
    while ((m = re.exec(s))) { total += parseFloat(m[1]) * unit[m[2]]; used += m[0].length; }
    return used === s.length && total > 0 ? total : null;
  }

  function matcherRow(m) {
    const row = h('div', { class: 'mrow' },
      h('input', { class: 'm-name', 'aria-label': 'label name', value: m.name, spellcheck: 'false' }),
      (() => {
        const sel = h('select', { class: 'm-op', 'aria-label': 'operator' }, ['=', '!=', '=~', '!~'].map((o) => h('option', { value: o }, o)));
        sel.value = m.op;
        return sel;
      })(),
      h('input', { class: 'm-value', 'aria-label': 'value', value: m.value, spellcheck: 'false' }),
      h('button', { type: 'button', class: 'small secondary', 'aria-label': 'remove matcher', onclick: () => { row.remove(); previewSoon(); } }, '×'));
    return row;
  }

  function editorMatchers() {
    return [...document.querySelectorAll('#sil-matchers .mrow')].map((r) => ({
      name: r.querySelector('.m-name').value.trim(), op: r.querySelector('.m-op').value, value: r.querySelector('.m-value').value,
    })).filter((m) => m.name);
  }

  function openSilence(s, matchers) {
    sil = { id: s ? s.id : null };
    $('sil-title').textContent = s ? 'Edit silence' : 'New silence';
    $('sil-ok').textContent = s ? 'Update' : 'Create';
    const box = clear($('sil-matchers'));
    for (const m of matchers) box.appendChild(matcherRow(m));
    if (!matchers.length) box.appendChild(matcherRow({ name: '', op: '=', value: '' }));
    const start = s ? new Date(s.startsAt) : new Date();
    const end = s ? new Date(s.endsAt) : new Date(start.getTime() + 2 * 36e5);
    $('sil-start').value = toLocalInput(start < new Date() && !s ? new Date() : start);
    $('sil-end').value = toLocalInput(end);
    $('sil-duration').value = s ? '' : '2h';
    $('sil-by').value = s ? s.createdBy : myName();
    $('sil-by').readOnly = !!S.user && !s;
    $('sil-comment').value = s ? s.comment : '';
    $('sil-error').textContent = '';
    $('sil-dialog').showModal();
    $('sil-comment').focus();
    preview();
  }

  let previewTimer = null;
  function previewSoon() { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 300); }

  let previewSeq = 0;
  async function preview() {
    const seq = ++previewSeq;
    const ms = editorMatchers();
    const out = $('sil-preview');
    const list = clear($('sil-preview-list'));
    if (!ms.length) { out.textContent = 'add a matcher'; return; }
    const q = new URLSearchParams();
    for (const m of ms) q.append('filter', formatMatcher(m));
    try {
      const alerts = await api('GET', 'api/v2/alerts?' + q.toString());
      if (seq !== previewSeq) return;
      out.textContent = 'matches ' + alerts.length + (alerts.length === 1 ? ' alert now' : ' alerts now');
      out.dataset.count = String(alerts.length);
      for (const a of alerts.slice(0, 10)) list.appendChild(h('li', null, labelChips(a.labels)));
      if (alerts.length > 10) list.appendChild(h('li', { class: 'muted' }, '… and ' + (alerts.length - 10) + ' more'));
    } catch (e) {
      if (seq === previewSeq) out.textContent = e.message;
    }
  }

  async function submitSilence(ev) {
    ev.preventDefault();
    const ms = editorMatchers();
    const err = $('sil-error');
    if (!ms.length) { err.textContent = 'At least one matcher is needed.'; return; }
    const start = new Date($('sil-start').value || Date.now());
    let end = $('sil-end').value ? new Date($('sil-end').value) : null;
    const d = parseDuration($('sil-duration').value);
    if ($('sil-duration').value.trim() && d === null) { err.textContent = 'Duration: use 1h30m, 2d ...'; return; }
    if (d !== null) end = new Date(start.getTime() + d);
    if (!end || end <= start) { err.textContent = 'The end must come after the start.'; return; }
    const by = $('sil-by').value.trim();
    if (!by) { err.textContent = 'A name is needed.'; return; }
    if (!S.user) { localStorage.setItem(NAME_KEY, by); showName(); }
    const body = {
      matchers: ms.map((m) => ({ name: m.name, value: m.value, isRegex: m.op.includes('~'), isEqual: !m.op.startsWith('!') })),
      startsAt: start.toISOString(), endsAt: end.toISOString(), createdBy: by, comment: $('sil-comment').value,
    };
    if (sil && sil.id) body.id = sil.id;
    try {
      const r = await api('POST', 'api/v2/silences', body);
      $('sil-dialog').close();
      toast((sil && sil.id ? 'Updated' : 'Created') + ' silence ' + (r && r.silenceID || ''));
      sil = null;
      refreshSoon(0);
    } catch (e) {
      err.textContent = e.message;
    }
  }

  async function loadSilences() {
    const box = $('silences');
    let list;
    try { list = await api('GET', 'api/v2/silences'); } catch (e) { clear(box).appendChild(h('p', { class: 'error' }, e.message)); return; }
    const want = $('sil-state').value.split(',').filter(Boolean);
    const order = { active: 0, pending: 1, expired: 2 };
    list = (list || []).filter((s) => !want.length || want.includes(s.status.state));
    list.sort((a, b) => order[a.status.state] - order[b.status.state] || (a.endsAt < b.endsAt ? -1 : 1));
    S.silences = list;
    clear(box);
    if (!list.length) { box.appendChild(h('p', { class: 'empty' }, 'No silences.')); return; }
    const table = h('table', { class: 'list' }, h('thead', null, h('tr', null, ['Matchers', 'State', 'Starts', 'Ends', 'By', 'Comment', ''].map((t) => h('th', null, t)))));
    const tb = h('tbody');
    list.slice(0, 500).forEach((s, i) => {
      tb.appendChild(h('tr', { 'data-silence': s.id },
        h('td', null, s.matchers.map((m) => h('span', { class: 'chip' }, formatMatcher({ name: m.name, value: m.value, op: silOp(m) })))),
        h('td', null, h('span', { class: 'state sil-' + s.status.state }, s.status.state)),
        h('td', { title: when(s.startsAt) }, ago(s.startsAt)),
        h('td', { title: when(s.endsAt) }, ago(s.endsAt)),
        h('td', null, s.createdBy),
        h('td', null, s.comment),
        h('td', null, h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small secondary', 'data-sact': 'edit', 'data-i': i }, s.status.state === 'expired' ? 'Recreate' : 'Edit'),
          s.status.state !== 'expired' ? h('button', { type: 'button', class: 'small secondary', 'data-sact': 'expire', 'data-i': i }, 'Expire') : null))));
    });
    table.appendChild(tb);
    box.appendChild(table);
    if (list.length > 500) box.appendChild(h('p', { class: 'muted' }, (list.length - 500) + ' more not shown'));
  }

  function silOp(m) {
    if (m.isRegex) return m.isEqual === false ? '!~' : '=~';
    return m.isEqual === false ? '!=' : '=';
  }

  async function silencesClick(ev) {
    const b = ev.target.closest('[data-sact]');
    if (!b) return;
    const s = S.silences[+b.dataset.i];
    if (!s) return;
    const ms = s.matchers.map((m) => ({ name: m.name, value: m.value, op: silOp(m) }));
    if (b.dataset.sact === 'edit') {
      openSilence(s.status.state === 'expired' ? null : s, ms);
    } else if (b.dataset.sact === 'expire') {
      try {
        await api('DELETE', 'api/v2/silence/' + encodeURIComponent(s.id));
        toast('Expired silence ' + s.id);
        loadSilences();
      } catch (e) { toast(e.message, true); }
    }
  }

  /* ---- history ---- */

  async function loadHistory(more) {
    const tb = $('hist-table').tBodies[0];
    const form = $('hist-filter');
    const one = S.view === 'alert' ? S.viewArg : '';
    form.hidden = !!one;
    $('hist-title').textContent = one ? 'Timeline of alert ' + one : 'History';
    if (!more) {
      clear(tb);
      clear($('hist-alert'));
      S.histCursor = null;
      form.filter.value = S.params.getAll('filter').join(', ');
      form.kind.value = S.params.get('kind') || '';
      form.receiver.value = S.params.get('receiver') || '';
    }
    let path;
    if (one) {
      path = 'api/tocsin/v1/alerts/' + encodeURIComponent(one) + '/history';
    } else {
      const q = new URLSearchParams();
      for (const m of S.params.getAll('filter')) q.append('filter', m);
      for (const k of ['kind', 'receiver']) if (S.params.get(k)) q.set(k, S.params.get(k));
      q.set('limit', '100');
      if (more && S.histCursor) q.set('cursor', S.histCursor);
      path = 'api/tocsin/v1/history?' + q.toString();
    }
    let r;
    try { r = await api('GET', path); } catch (e) { tb.appendChild(h('tr', null, h('td', { colspan: '5', class: 'error' }, e.message))); return; }
    const evs = (r && r.events) || [];
    if (one) {
      const a = S.byFp.get(one);
      const labels = a ? a.labels : (evs.flatMap((e) => e.alerts || []).find((x) => x.fingerprint === one) || {}).labels;
      if (labels) $('hist-alert').appendChild(h('div', { class: 'chips' }, labelChips(labels)));
    }
    for (const e of evs) tb.appendChild(historyRow(e));
    if (!evs.length && !more) tb.appendChild(h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'Nothing recorded.')));
    S.histCursor = r && r.nextCursor || null;
    $('hist-more').hidden = !S.histCursor || !!one;
  }

  function historyRow(e) {
    const who = [e.by, e.receiver, e.integration].filter(Boolean).join(' · ');
    const alerts = e.alerts || [];
    const first = alerts[0];
    const details = [e.outcome, e.reason, e.comment, e.error, e.step ? 'escalation step ' + e.step : ''].filter(Boolean).join(' — ');
    return h('tr', { class: 'k-' + e.kind },
      h('td', { title: e.time }, when(e.time)),
      h('td', null, h('span', { class: 'state' }, e.kind)),
      h('td', null, who),
      h('td', null, first ? h('a', { href: '#/alert/' + first.fingerprint }, (first.labels && first.labels.alertname) || first.fingerprint) : '',
        (e.alertsTotal || alerts.length) > 1 ? ' +' + ((e.alertsTotal || alerts.length) - 1) : ''),
      h('td', null, details));
  }

  /* ---- status ---- */

  async function loadStatus() {
    const info = clear($('status-info'));
    try {
      const [st, rcv, routes] = await Promise.all([
        api('GET', 'api/v2/status'), api('GET', 'api/v2/receivers'), api('GET', 'api/tocsin/v1/routes')]);
      const v = st.versionInfo || {};
      const rows = [['Version', v.version], ['Revision', v.revision], ['Branch', v.branch], ['Built', v.buildDate],
        ['Up since', when(st.uptime)], ['Cluster', st.cluster && st.cluster.status], ['Name', st.cluster && st.cluster.name]];
      for (const [k, val] of rows) if (val) { info.appendChild(h('dt', null, k)); info.appendChild(h('dd', null, val)); }
      const peers = clear($('status-peers'));
      const ps = (st.cluster && st.cluster.peers) || [];
      if (!ps.length) peers.appendChild(h('p', { class: 'muted' }, 'Not clustered: this replica alone.'));
      else peers.appendChild(h('ul', null, ps.map((p) => h('li', null, (p.name || '') + (p.address ? ' — ' + p.address : '')))));
      const rl = clear($('status-receivers'));
      for (const r of rcv || []) rl.appendChild(h('li', { class: 'chip' }, r.name));
      $('status-config').textContent = st.config && st.config.original || '';
      const tree = clear($('route-tree'));
      tree.appendChild(h('ul', { class: 'tree' }, routeNode(routes.route)));
    } catch (e) {
      info.appendChild(h('dd', { class: 'error' }, e.message));
    }
  }

  function routeNode(r) {
    const bits = [h('span', { class: 'rmatch' }, r.matchers.length ? r.matchers.join(', ') : 'default route'),
      h('span', { class: 'receiver' }, '→ ' + r.receiver)];
    const meta = ['group by ' + (r.groupBy.length ? r.groupBy.join(', ') : 'nothing'),
      'wait ' + r.groupWait, 'interval ' + r.groupInterval, 'repeat ' + r.repeatInterval];
    if (r.continue) meta.push('continue');
    if (r.escalation.length) meta.push('escalates ' + r.escalation.map((s) => s.after + '→' + s.receiver).join(', '));
    if (r.muteTimeIntervals.length) meta.push('muted ' + r.muteTimeIntervals.join(', '));
    if (r.activeTimeIntervals.length) meta.push('active ' + r.activeTimeIntervals.join(', '));
    return h('li', { 'data-route': r.idx },
      h('div', { class: 'rnode' }, bits, h('span', { class: 'muted' }, meta.join(' · '))),
      r.routes.length ? h('ul', null, r.routes.map(routeNode)) : null);
  }

  async function routeTest(ev) {
    ev.preventDefault();
    const labels = {};
    const out = $('route-result');
    for (const s of splitMatchers($('route-test').labels.value)) {
      const m = parseMatcher(s);
      if (!m || m.op !== '=') { out.textContent = 'Write labels as name="value": ' + s; return; }
      labels[m.name] = m.value;
    }
    for (const li of document.querySelectorAll('#route-tree li.hit')) li.classList.remove('hit');
    try {
      const r = await api('POST', 'api/tocsin/v1/routes/test', { labels });
      out.textContent = 'goes to ' + (r.routes.map((x) => x.receiver).join(', ') || 'nothing');
      for (const x of r.routes) {
        let li = document.querySelector('#route-tree li[data-route="' + Number(x.idx) + '"]');
        while (li) { li.classList.add('hit'); li = li.parentElement.closest('li[data-route]'); }
      }
    } catch (e) { out.textContent = e.message; }
  }

  /* ---- live updates ---- */

  let refreshTimer = null, refreshing = false, again = false;
  function refreshSoon(ms) {
    // a tab in the background does not refetch 10,000 alerts per event; it catches up when shown
    if (document.hidden) { S.stale = true; return; }
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      if (refreshing) { again = true; return; }
      refreshing = true;
      try {
        if (S.view === 'alerts') await loadAlerts();
        else if (S.view === 'silences') await loadSilences();
      } finally {
        refreshing = false;
        if (again) { again = false; refreshSoon(300); }
      }
    // a storm of events on a big page: wait about as long as a load takes, up to 1 s
    }, ms === undefined ? Math.min(1000, Math.max(300, S.loadMs || 0)) : ms);
  }

  let es = null;
  function connectEvents() {
    es = new EventSource(BASE + 'api/tocsin/v1/events', { withCredentials: true });
    es.onopen = () => {
      S.live = true;
      document.body.dataset.live = 'on';
      if (S.lost) {
        S.lost = false;
        banner('Live updates are back.', 'ok');
        refreshSoon(0); // what happened while away
      }
    };
    es.onerror = () => {
      S.live = false;
      document.body.dataset.live = 'off';
      if (!S.lost) { S.lost = true; banner('Live updates lost: reconnecting… The page may be out of date.', 'bad'); }
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connectEvents, 2000); }
    };
    for (const k of ['ack', 'unack', 'resolve', 'alert_firing', 'alert_resolved', 'alert_changed',
      'silence_created', 'silence_updated', 'silence_expired']) {
      es.addEventListener(k, () => refreshSoon());
    }
  }

  /* ---- start ---- */

  function init() {
    $('alert-filter').addEventListener('submit', (ev) => { ev.preventDefault(); setHash('alerts', alertFilterFromForm()); });
    $('f-clear').addEventListener('click', () => setHash('alerts', new URLSearchParams()));
    $('groups').addEventListener('click', groupsClick);
    $('bulk-ack').addEventListener('click', () => openAct('ack', shownAlerts().filter((a) => a.state === 'active'), 'every active alert the filter matches'));
    $('bulk-unack').addEventListener('click', () => openAct('unack', shownAlerts().filter((a) => S.acks.has(a.fingerprint)), 'every acknowledged alert the filter matches'));
    $('bulk-resolve').addEventListener('click', () => openAct('resolve', shownAlerts(), 'every alert the filter matches'));
    $('bulk-silence').addEventListener('click', () => openSilence(null, S.params.getAll('filter').map(parseMatcher).filter(Boolean)));
    $('act-form').addEventListener('submit', submitAct);
    $('act-cancel').addEventListener('click', () => $('act-dialog').close());
    $('sil-form').addEventListener('submit', submitSilence);
    $('sil-cancel').addEventListener('click', () => $('sil-dialog').close());
    $('sil-add').addEventListener('click', () => { $('sil-matchers').appendChild(matcherRow({ name: '', op: '=', value: '' })); });
    $('sil-matchers').addEventListener('input', previewSoon);
    $('sil-matchers').addEventListener('change', previewSoon);
    $('sil-duration').addEventListener('input', () => {
      const d = parseDuration($('sil-duration').value);
      if (d !== null) $('sil-end').value = toLocalInput(new Date(new Date($('sil-start').value || Date.now()).getTime() + d));
    });
    $('sil-end').addEventListener('input', () => { $('sil-duration').value = ''; });
    $('sil-state').addEventListener('change', loadSilences);
    $('silences').addEventListener('click', silencesClick);
    $('new-silence').addEventListener('click', () => openSilence(null, []));
    $('hist-filter').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = ev.target;
      const q = new URLSearchParams();
      for (const m of splitMatchers(f.filter.value)) q.append('filter', m);
      if (f.kind.value.trim()) q.set('kind', f.kind.value.trim());
      if (f.receiver.value.trim()) q.set('receiver', f.receiver.value.trim());
      setHash('history', q);
    });
    $('hist-more').addEventListener('click', () => loadHistory(true));
    $('route-test').addEventListener('submit', routeTest);
    $('whoami').addEventListener('click', openName);
    $('name-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const n = $('name-input').value.trim();
      if (n) localStorage.setItem(NAME_KEY, n);
      $('name-dialog').close();
      showName();
    });
    $('name-cancel').addEventListener('click', () => $('name-dialog').close());
    document.addEventListener('keydown', (ev) => {
      const t = ev.target;
      const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
      if (ev.key === '/' && !typing && !document.querySelector('dialog[open]')) {
        ev.preventDefault();
        setHash('alerts', S.view === 'alerts' ? S.params : new URLSearchParams());
        $('f-filter').focus();
      }
    });
    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && S.stale) { S.stale = false; refreshSoon(0); }
    });
    api('GET', 'api/v2/receivers').then((r) => {
      S.receivers = (r || []).map((x) => x.name).sort();
      if (S.view === 'alerts') fillReceiverSelect();
    }).catch(() => {});
    loadWhoami();
    connectEvents();
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
