// contactbridge dashboard: plain ES module, no dependencies. Every datum
// comes from the admin API; the admin token, if any, goes as a header.
const base = '/__admin';
const maxRows = 500; // request rows kept in the table

// --- the admin token: once from #token=..., then from this tab's storage ---
const tokenKey = 'contactbridge-admin-token';
(function takeToken() {
  const m = location.hash.match(/^#token=(.+)$/);
  if (m) {
    sessionStorage.setItem(tokenKey, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
})();
const token = () => sessionStorage.getItem(tokenKey) || '';

function headers(extra = {}) {
  const h = { ...extra };
  if (token()) h.Authorization = 'Bearer ' + token();
  return h;
}

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api calls the admin API and returns the decoded JSON (or the response for
// raw: true); it throws an APIError with the API's message.
async function api(path, { method = 'GET', body, raw = false, type = 'application/json' } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': type }) };
  if (body !== undefined) init.body = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
  const res = await fetch(base + path, init);
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).message || msg; } catch { /* not JSON */ }
    if (res.status === 401) askToken();
    throw new APIError(res.status, `${res.status}: ${msg}`);
  }
  return raw ? res : res.json();
}

function askToken() {
  const form = document.getElementById('token-form');
  form.hidden = false;
  document.getElementById('summary').textContent = 'The admin API asks for its token.';
}

document.getElementById('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById('token-input').value);
  ev.target.hidden = true;
  start();
});

// --- small DOM helpers: text only, never markup from data ---
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ''));
  return e;
}
const $ = (id) => document.getElementById(id);
function say(id, text, error = false) {
  const m = $(id);
  m.textContent = text;
  m.classList.toggle('error', error);
}
function guard(id, fn) {
  return async (...args) => {
    try { await fn(...args); } catch (err) { say(id, err.message, true); }
  };
}
function statusCell(status) {
  return el('td', { class: `status s${String(status)[0]}` }, status || 'none');
}
const pretty = (v) => JSON.stringify(v, null, 2);
function prettyBody(s) {
  if (!s) return '(empty)';
  try { return pretty(JSON.parse(s)); } catch { return s; }
}
function headerText(h) {
  return Object.keys(h || {}).sort().map((k) => h[k].map((v) => `${k}: ${v}`).join('\n')).join('\n');
}

// --- tabs: click, or arrow keys along the tab list ---
const tabs = [...document.querySelectorAll('[role=tab]')];
const loaders = {};
function select(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  const load = loaders[tab.id];
  if (load) load();
}
for (const t of tabs) {
  t.addEventListener('click', () => select(t));
  t.addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(t);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length];
    next.focus();
    select(next);
  });
}
const visible = (id) => !$(id).hidden;

// --- the summary line ---
let defaults = {};
async function summary() {
  const h = await api('/health');
  defaults = h;
  $('summary').textContent = `${h.contacts} contacts · ${h.journal} requests in the journal · ${h.faults} fault rules · clock ${h.time}`;
}

// --- Requests: the journal live over server-sent events ---
let stream; // the AbortController of the open stream
let retry = 1000;
function requestQuery() {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData($('request-filter'))) if (v) q.set(k, v);
  return q;
}
async function openStream() {
  if (stream) stream.abort();
  const ctl = new AbortController();
  stream = ctl;
  $('requests').tBodies[0].replaceChildren();
  try {
    const res = await fetch(`${base}/requests/stream?${requestQuery()}`, { headers: headers(), signal: ctl.signal });
    if (!res.ok) {
      if (res.status === 401) askToken();
      throw new Error(`stream: ${res.status}`);
    }
    say('requests-message', 'Live: new requests appear at the top.');
    retry = 1000;
    await readEvents(res.body, (event, data) => {
      if (event === 'request') addRequest(JSON.parse(data));
      else if (event === 'error') say('requests-message', JSON.parse(data).message, true);
    });
    if (stream === ctl) throw new Error('the stream ended');
  } catch (err) {
    if (ctl.signal.aborted) return;
    say('requests-message', `${err.message}; reconnecting in ${retry / 1000}s`, true);
    setTimeout(() => { if (stream === ctl) openStream(); }, retry);
    retry = Math.min(retry * 2, 30000);
  }
}
// readEvents parses a text/event-stream body and calls fn(event, data).
async function readEvents(body, fn) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) fn(event, data.join('\n'));
    }
  }
}
function addRequest(r) {
  const tbody = $('requests').tBodies[0];
  const open = el('button', { class: 'link', type: 'button', 'aria-label': `Open request ${r.id}`, on: { click: () => showRequest(r.id, row) } }, `#${r.id}`);
  const row = el('tr', { 'data-id': String(r.id) },
    el('td', {}, open), el('td', {}, r.time.slice(11, 23)), el('td', {}, r.twin), el('td', {}, r.method),
    el('td', {}, r.path + (r.query ? '?' + r.query : '')), el('td', {}, r.operation || ''), statusCell(r.status),
    el('td', { class: 'num' }, r.durationMs.toFixed(1)),
    el('td', { class: 'hint' }, (r.fault ? `fault ${r.fault}. ` : '') + (r.hint || '')));
  tbody.prepend(row);
  while (tbody.rows.length > maxRows) tbody.lastElementChild.remove();
  trafficChanged();
}
async function showRequest(id, row) {
  for (const r of $('requests').tBodies[0].rows) r.removeAttribute('aria-selected');
  row.setAttribute('aria-selected', 'true');
  const box = $('request-detail');
  try {
    const e = await api(`/requests/${id}`);
    box.replaceChildren(
      el('h3', {}, `#${e.id} ${e.method} ${e.path} → ${e.status}`),
      el('p', { class: 'hint', id: 'request-hint' }, e.hint ? `Near miss: ${e.hint}` : ''),
      el('p', { class: 'muted' }, `${e.twin} · ${e.operation || 'no operation matched'} · ${e.time} · ${e.durationMs.toFixed(1)} ms` +
        (e.fault ? ` · fault ${e.fault}` : '') + (e.handlerStatus ? ` · the handler answered ${e.handlerStatus}` : '') +
        (e.truncated ? ' · a body was cut' : '')),
      el('div', { class: 'grid2' },
        el('div', {}, el('h3', {}, 'Request'), el('pre', {}, (e.query ? '?' + e.query + '\n\n' : '') + headerText(e.requestHeaders)),
          el('pre', { id: 'request-body' }, prettyBody(e.requestBody))),
        el('div', {}, el('h3', {}, 'Response'), el('pre', {}, headerText(e.responseHeaders)),
          el('pre', { id: 'response-body' }, prettyBody(e.responseBody)))));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'message error' }, err.message));
  }
  box.hidden = false;
  box.focus();
}
$('request-filter').addEventListener('submit', (ev) => { ev.preventDefault(); openStream(); });
$('request-filter').addEventListener('reset', () => setTimeout(openStream));

// trafficChanged refreshes, at most once a second, what requests change.
let trafficTimer;
function trafficChanged() {
  if (trafficTimer) return;
  trafficTimer = setTimeout(() => {
    trafficTimer = undefined;
    summary().catch(() => {});
    if (visible('panel-limits')) loadLimits().catch((err) => say('limits-message', err.message, true));
    if (visible('panel-faults')) loadFaults().catch((err) => say('faults-message', err.message, true));
    if (visible('panel-webhooks')) loadDeliveries().catch((err) => say('webhooks-message', err.message, true));
  }, 1000);
}

// --- State ---
const page = { hl: 0, m360: 0, size: 25 };
let totals = { hl: 0, m360: 0 };
async function loadOverview() {
  const o = await api('/state/overview');
  const locSel = $('location-select');
  const accSel = $('account-select');
  const keepLoc = locSel.value || defaults.locationId;
  const keepAcc = accSel.value || String(defaults.m360AccountId);
  locSel.replaceChildren(...o.locations.map((l) => el('option', { value: l.id }, `${l.name || l.id} (${l.contacts})`)));
  accSel.replaceChildren(...o.m360Accounts.map((a) => el('option', { value: String(a.id) }, `${a.name || a.id}`)));
  if (keepLoc) locSel.value = keepLoc;
  if (keepAcc) accSel.value = keepAcc;
  await Promise.all([loadContacts(), loadM360Contacts()]);
}
function range(id, offset, n, total) {
  $(id).textContent = total ? `${offset + 1}–${offset + n} of ${total}` : 'none';
}
async function loadContacts() {
  const q = new URLSearchParams({ locationId: $('location-select').value, offset: page.hl, limit: page.size });
  const query = new FormData($('contact-search')).get('query');
  if (query) q.set('query', query);
  const r = await api(`/state/contacts?${q}`);
  totals.hl = r.total;
  $('contacts').tBodies[0].replaceChildren(...r.contacts.map((c) => el('tr', {},
    el('td', {}, el('button', { class: 'link', type: 'button', on: { click: () => showContact(c.id) } },
      [c.firstName, c.lastName].filter(Boolean).join(' ') || c.name || c.id)),
    el('td', {}, c.email || ''), el('td', {}, c.phone || ''), el('td', {}, (c.dateAdded || '').slice(0, 10)))));
  range('contacts-range', r.offset, r.contacts.length, r.total);
  $('contacts-prev').disabled = page.hl === 0;
  $('contacts-next').disabled = page.hl + page.size >= r.total;
}
function list(title, items, line) {
  return [el('h3', {}, `${title} (${items.length})`),
    items.length ? el('ul', {}, ...items.map((i) => el('li', {}, line(i)))) : el('p', { class: 'muted' }, 'none')];
}
async function showContact(id) {
  const d = await api(`/state/contacts/${encodeURIComponent(id)}`);
  const box = $('contact-detail');
  const c = d.contact;
  box.replaceChildren(el('h3', {}, [c.firstName, c.lastName].filter(Boolean).join(' ') || c.id),
    el('p', { class: 'muted' }, `${c.id} · ${c.email || 'no email'} · ${c.phone || 'no phone'} · tags: ${(c.tags || []).join(', ') || 'none'}`),
    ...list('Tasks', d.tasks, (t) => `${t.title || t.id}${t.completed ? ' (completed)' : ''}${t.dueDate ? ' · due ' + t.dueDate : ''}`),
    ...list('Notes', d.notes, (n) => n.body || n.id),
    ...list('Appointments', d.appointments, (a) => `${a.title || a.id} · ${a.startTime || ''} · ${a.appointmentStatus || a.status || ''}`));
  box.hidden = false;
  box.focus();
}
async function loadM360Contacts() {
  const acct = $('account-select').value;
  if (!acct) return;
  const r = await api(`/state/m360/${acct}/contacts?offset=${page.m360}&limit=${page.size}`);
  totals.m360 = r.total;
  $('m360-contacts').tBodies[0].replaceChildren(...r.contacts.map((c) => el('tr', {},
    el('td', {}, el('button', { class: 'link', type: 'button', on: { click: () => showM360Contact(acct, c.id) } },
      [c.firstName, c.lastName].filter(Boolean).join(' ') || String(c.id))),
    el('td', {}, c.email || ''), el('td', {}, c.phone || ''), el('td', {}, (c.externalIds && c.externalIds.ghl) || ''))));
  range('m360-range', r.offset, r.contacts.length, r.total);
  $('m360-prev').disabled = page.m360 === 0;
  $('m360-next').disabled = page.m360 + page.size >= r.total;
}
async function showM360Contact(acct, id) {
  const d = await api(`/state/m360/${acct}/contacts/${id}`);
  const c = d.contact;
  $('m360-detail').replaceChildren(el('h3', {}, [c.firstName, c.lastName].filter(Boolean).join(' ') || String(c.id)),
    el('p', { class: 'muted' }, `${c.id} · ${c.email || 'no email'} · ${c.phone || 'no phone'}`),
    ...list('Tasks', d.tasks, (t) => `${t.title || t.id}${t.completed ? ' (completed)' : ''}`),
    ...list('Notes', d.notes, (n) => n.body || n.text || String(n.id)),
    ...list('Events', d.events, (e) => `${e.title || e.id} · ${new Date(e.start * 1000).toISOString()}`),
    ...list('Campaign triggers', d.triggers, (t) => `campaign ${t.campaignId}`));
  $('m360-detail').hidden = false;
  $('m360-detail').focus();
}
$('contact-search').addEventListener('submit', (ev) => { ev.preventDefault(); page.hl = 0; loadContacts().catch(showStateError); });
$('location-select').addEventListener('change', () => { page.hl = 0; loadContacts().catch(showStateError); });
$('contacts-prev').addEventListener('click', () => { page.hl = Math.max(0, page.hl - page.size); loadContacts().catch(showStateError); });
$('contacts-next').addEventListener('click', () => { page.hl += page.size; loadContacts().catch(showStateError); });
$('m360-search').addEventListener('submit', (ev) => { ev.preventDefault(); page.m360 = 0; loadM360Contacts().catch(showStateError); });
$('m360-prev').addEventListener('click', () => { page.m360 = Math.max(0, page.m360 - page.size); loadM360Contacts().catch(showStateError); });
$('m360-next').addEventListener('click', () => { page.m360 += page.size; loadM360Contacts().catch(showStateError); });
function showStateError(err) { $('contacts-range').textContent = err.message; }

// --- Rate limits ---
const charts = new Map(); // location -> object URL of its chart
async function chart(location) {
  const res = await api(`/limits/chart.svg?location=${encodeURIComponent(location)}`, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  if (charts.has(location)) URL.revokeObjectURL(charts.get(location));
  charts.set(location, url);
  return url;
}
function gauge(label, remaining, max) {
  return [el('span', {}, label), el('meter', { min: 0, max, low: max * 0.25, high: max * 0.9, optimum: 0, value: max - remaining,
    'aria-label': `${label}: ${max - remaining} of ${max} used` }), el('span', { class: 'num' }, `${max - remaining} / ${max} used`)];
}
let limitsConfig, m360Config;
async function loadLimits() {
  const [hl, m] = await Promise.all([api('/limits'), api('/m360/limits')]);
  limitsConfig = hl.config;
  m360Config = m.config;
  const boxes = [];
  for (const b of hl.buckets) {
    const img = el('img', { alt: `Requests a minute of location ${b.locationId}` });
    boxes.push(el('div', { class: 'bucket' }, el('strong', {}, `HighLevel · app ${b.appId} · location ${b.locationId}`),
      el('div', { class: 'gauge' }, ...gauge('Burst', b.remaining, b.max), ...gauge('Daily', b.dailyRemaining, b.daily)), img));
    chart(b.locationId).then((u) => { img.src = u; img.title = ''; }).catch(() => {});
  }
  for (const b of m.buckets) {
    boxes.push(el('div', { class: 'bucket' }, el('strong', {}, `Marketing 360 · key ${b.key}`),
      el('div', { class: 'gauge' }, ...gauge('Bucket', b.remaining, b.limit))));
  }
  if (defaults.m360AccountId && m.buckets.length) {
    const img = el('img', { alt: `Requests a minute of Marketing 360 account ${defaults.m360AccountId}` });
    boxes.push(el('div', { class: 'bucket' }, el('strong', {}, `Marketing 360 · account ${defaults.m360AccountId}`), img));
    chart(String(defaults.m360AccountId)).then((u) => { img.src = u; }).catch(() => {});
  }
  $('buckets').replaceChildren(...(boxes.length ? boxes : [el('p', { class: 'muted' }, 'No live buckets yet: make a request.')]));
  fill($('limits-form'), hl.config);
  fill($('m360-limits-form'), m.config);
}
function fill(form, values) {
  if (form.contains(document.activeElement)) return; // the user is editing
  for (const input of form.elements) {
    if (!(input.name in values)) continue;
    if (input.type === 'checkbox') input.checked = Boolean(values[input.name]);
    else input.value = values[input.name];
  }
}
function formValues(form) {
  const out = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    out[input.name] = input.type === 'checkbox' ? input.checked : input.type === 'number' ? Number(input.value) : input.value;
  }
  return out;
}
// saveLimits sends a limits form over the settings last read.
function saveLimits(formId, path, current, done) {
  $(formId).addEventListener('submit', guard('limits-message', async (ev) => {
    ev.preventDefault();
    await api(path, { method: 'PUT', body: { ...current(), ...formValues(ev.target) } });
    say('limits-message', done);
    ev.target.querySelector('button').blur();
    await loadLimits();
  }));
}
saveLimits('limits-form', '/limits', () => limitsConfig, 'HighLevel limits saved.');
saveLimits('m360-limits-form', '/m360/limits', () => m360Config, 'Marketing 360 limits saved.');

// --- Faults ---
function describe(o) {
  return Object.entries(o || {}).filter(([, v]) => v !== '' && v !== undefined && v !== false)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') || 'any';
}
async function loadFaults() {
  const { faults } = await api('/faults');
  $('faults').tBodies[0].replaceChildren(...faults.map((f) => el('tr', { 'data-id': f.id },
    el('td', {}, f.id), el('td', {}, describe(f.match)), el('td', {}, describe(f.effect)),
    el('td', { class: 'num' }, f.times || 'always'), el('td', { class: 'num fault-hits' }, f.applied || 0),
    el('td', {}, el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove fault ${f.id}`,
      on: { click: guard('faults-message', async () => { await api(`/faults/${encodeURIComponent(f.id)}`, { method: 'DELETE' }); say('faults-message', `Removed ${f.id}.`); await loadFaults(); }) } }, 'Remove')))));
  if (!faults.length) $('faults').tBodies[0].append(el('tr', {}, el('td', { colspan: '6', class: 'muted' }, 'No fault rules.')));
}
$('fault-form').addEventListener('submit', guard('faults-message', async (ev) => {
  ev.preventDefault();
  const v = formValues(ev.target);
  const match = {};
  for (const k of ['operation', 'method', 'path', 'location']) if (v[k]) match[k] = v[k];
  const effect = { kind: v.kind };
  if (v.kind === 'error') effect.status = v.status;
  if (v.kind === 'latency') effect.latency = { distribution: 'fixed', fixed: v.latency || '250ms' };
  if (v.after) effect.after = true;
  const rule = { match, effect };
  if (v.times) rule.times = v.times;
  const added = await api('/faults', { method: 'POST', body: rule });
  say('faults-message', `Added fault ${added.id}.`);
  await loadFaults();
}));

// --- Webhooks ---
async function loadDeliveries() {
  const { deliveries } = await api('/webhooks/deliveries?limit=200');
  $('deliveries').tBodies[0].replaceChildren(...deliveries.map((d) => el('tr', { 'data-id': d.id },
    el('td', {}, d.id + (d.redeliveryOf ? ` (again ${d.redeliveryOf})` : '') + (d.duplicate ? ' (duplicate)' : '')),
    el('td', {}, d.twin), el('td', {}, d.event), el('td', {}, d.resource), el('td', {}, d.target),
    el('td', { class: `status ${{ delivered: 's2', pending: 's3' }[d.status] || 's5'}` }, d.status + (d.error ? `: ${d.error}` : '')),
    el('td', { class: 'num' }, d.attempts.length), el('td', { class: 'num' }, d.latencyMs == null ? '' : d.latencyMs.toFixed(1)),
    el('td', {}, d.status === 'invalid' ? '' : el('button', { type: 'button', class: 'secondary', 'aria-label': `Redeliver ${d.id}`,
      on: { click: guard('webhooks-message', async () => {
        const again = await api(`/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`, { method: 'POST' });
        say('webhooks-message', `Queued ${again.id}, again of ${d.id}.`);
        await loadDeliveries();
      }) } }, 'Redeliver')))));
  if (!deliveries.length) $('deliveries').tBodies[0].append(el('tr', {}, el('td', { colspan: '9', class: 'muted' }, 'No deliveries yet.')));
}
async function loadKeys() {
  const k = await api('/webhooks/keys');
  $('webhook-keys').textContent = `x-ghl-signature (Ed25519):\n${k.ed25519}\n` + (k.rsa ? `x-wh-signature (RSA):\n${k.rsa}` : 'No RSA key.');
}
$('deliveries-refresh').addEventListener('click', guard('webhooks-message', loadDeliveries));

// --- Twin: clock, export, import, reset ---
async function loadClock() {
  const c = await api('/clock');
  $('clock').textContent = `${c.now} (${c.frozen ? 'frozen: move it below' : 'real time: start the twin with --clock frozen to move it'})`;
}
$('clock-form').addEventListener('submit', guard('twin-message', async (ev) => {
  ev.preventDefault();
  const v = formValues(ev.target);
  const body = v.set ? { set: v.set } : { advance: v.advance };
  await api('/clock', { method: 'POST', body });
  say('twin-message', 'Clock moved.');
  await loadClock();
}));
$('export').addEventListener('click', guard('twin-message', async () => {
  const res = await api('/state', { raw: true });
  const link = $('export-link');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await res.blob());
  link.hidden = false;
  link.focus();
  say('twin-message', 'State exported.');
}));
$('import-form').addEventListener('submit', guard('twin-message', async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements.file.files[0];
  const q = ev.target.elements.events.checked ? '' : '?events=false';
  const r = await api('/state' + q, { method: 'PUT', body: f });
  say('twin-message', `Imported: ${r.locations} locations, ${r.contacts} contacts, ${r.tasks} tasks, ${r.notes} notes, ${r.appointments} appointments.`);
  await summary();
}));
$('reset').addEventListener('click', guard('twin-message', async () => {
  await api('/reset', { method: 'POST' });
  say('twin-message', 'The twin is back to its start-up state.');
  await Promise.all([summary(), loadClock()]);
  openStream();
}));

// --- Sync: the attached sync's status, refreshed while shown, and its differences ---
const syncEvery = 5000; // ms between refreshes of a shown Sync panel
let syncTimer;
function rows(table, items, row, empty) {
  const body = $(table).tBodies[0];
  const cols = $(table).tHead.rows[0].cells.length;
  body.replaceChildren(...items.map((it) => el('tr', {}, ...row(it).map((c) => (c instanceof Node ? c : el('td', {}, c))))));
  if (!items.length) body.append(el('tr', {}, el('td', { colspan: String(cols), class: 'muted' }, empty)));
}
const counted = (m, prefix = '') => Object.keys(m || {}).sort().map((k) => [prefix + k, m[k]]);
const numCell = (n) => el('td', { class: 'num' }, n);
// syncShown answers whether the Sync panel is on a page that is shown.
const syncShown = () => visible('panel-sync') && document.visibilityState === 'visible';
async function loadSync() {
  clearTimeout(syncTimer);
  try {
    const st = await api('/sync/status');
    $('sync-body').hidden = false;
    say('sync-message', '');
    $('sync-lag').textContent = `Lag ${st.lagSeconds.toFixed(1)} s (the oldest job waiting to run) · last event ${st.lastEvent || 'never'}` +
      (st.drift ? ` · last reconcile ${st.drift.at}: ${st.drift.differences} differences, ${st.drift.repairs} repairs` : '');
    rows('sync-connections', st.connections, (c) => [c.api, c.tenant, c.auth, c.baseURL || '(live)'], 'No connections.');
    rows('sync-queue', counted(st.queue), ([k, n]) => [k, numCell(n)], 'The queue is empty.');
    const ruleCounts = (st.rules || []).flatMap((r) =>
      [[`rule ${r.rule} done`, r.done], [`rule ${r.rule} parked`, r.parked], [`rule ${r.rule} pending`, r.pending]]);
    rows('sync-counts', [...counted(st.inbox, 'events '), ...counted(st.effects, 'effects '), ...counted(st.mappings, 'mappings '), ...ruleCounts],
      ([k, n]) => [k, numCell(n)], 'Nothing stored yet.');
    rows('sync-effects', st.recentEffects, (e) => [e.flow, e.key, e.op, e.target, statusCellOf(e.state), numCell(e.attempts), e.updatedAt, e.error || ''],
      'No effects yet.');
    rows('sync-errors', st.lastErrors || [], (e) => [e.what, e.at, e.error], 'No errors.');
  } catch (err) {
    $('sync-body').hidden = err.status === 404;
    say('sync-message', err.status === 404 ? err.message.replace(/^404: /, '') : err.message, err.status !== 404);
  }
  if (syncShown()) syncTimer = setTimeout(() => { if (syncShown()) loadSync(); }, syncEvery);
}
function statusCellOf(state) {
  return el('td', { class: `status ${{ done: 's2', pending: 's3', inflight: 's3' }[state] || 's5'}` }, state);
}
async function loadDifferences() {
  $('sync-diff-count').textContent = 'Comparing…';
  const r = await api('/sync/differences');
  const n = `${r.total} difference${r.total === 1 ? '' : 's'}`;
  $('sync-diff-count').textContent = r.total > r.differences.length ? `${n}; the first ${r.differences.length} shown.` : `${n}.`;
  rows('sync-differences', r.differences, (d) => [d.hlId, d.name, d.m360Ids.join(', ') || '-', d.problem, d.repairable ? 'yes' : 'no'],
    'The two sides agree.');
}
$('sync-refresh').addEventListener('click', loadSync);
$('sync-compare').addEventListener('click', () => loadDifferences().catch((err) => { $('sync-diff-count').textContent = err.message; }));
document.addEventListener('visibilitychange', () => { if (syncShown()) loadSync(); else clearTimeout(syncTimer); });

loaders['tab-state'] = () => loadOverview().catch(showStateError);
loaders['tab-limits'] = () => loadLimits().catch((err) => say('limits-message', err.message, true));
loaders['tab-faults'] = () => loadFaults().catch((err) => say('faults-message', err.message, true));
loaders['tab-webhooks'] = () => Promise.all([loadDeliveries(), loadKeys()]).catch((err) => say('webhooks-message', err.message, true));
loaders['tab-sync'] = loadSync;
loaders['tab-twin'] = () => loadClock().catch((err) => say('twin-message', err.message, true));

async function start() {
  try {
    await summary();
  } catch (err) {
    if (err.status !== 401) $('summary').textContent = err.message;
    return;
  }
  openStream();
}
start();
