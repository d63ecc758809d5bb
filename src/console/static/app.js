// Switchyard web console: a small single-page app over the /v1 API. No framework, no build step.
// Every view reads the API with the token the user pasted; every button calls the API. Data is
// only ever put into the page as text (textContent), never parsed as HTML.

const TOKEN_KEY = 'switchyard.token';
const STATES = ['draft', 'scheduled', 'running', 'paused', 'shipped', 'completed'];

const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** GET /v1/whoami for the token: {name, role, team, approval_roles, service}. */
  me: null,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, problem) {
    super(problemText(problem, status));
    this.status = status;
    this.problem = problem;
    this.code = problem?.code ?? null;
  }
}

/** The human text of a problem+json answer: its detail, the bad fields, and its code. */
function problemText(problem, status) {
  if (!problem || typeof problem !== 'object') return `The server answered ${status}`;
  let text = problem.detail || problem.title || `The server answered ${status}`;
  if (Array.isArray(problem.errors) && problem.errors.length > 0) {
    text += ': ' + problem.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  }
  if (problem.code) text += ` (${problem.code})`;
  return text;
}

async function api(method, path, { body, bytes, token = session.token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (bytes !== undefined) {
    payload = bytes;
    headers['Content-Type'] = 'application/gzip';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, { detail: `The server could not be reached (${err.message})` });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, data ?? { detail: text || res.statusText });
    // The token was revoked (or the server forgot it) while the page was open: sign in again.
    if (res.status === 401 && token === session.token && session.token) signOut(error.message);
    throw error;
  }
  return data;
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------- DOM helpers

/** h('a', {href: '#/x', class: 'y'}, 'text', child): builds an element; strings become text nodes. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const main = () => document.getElementById('main');

function announce(text) {
  const a = document.getElementById('announcer');
  a.textContent = '';
  // A fresh text node after a tick, so the same message twice is still read out.
  setTimeout(() => (a.textContent = text), 50);
}

function humanize(s) {
  return String(s).replace(/_/g, ' ');
}

function badge(kind, value) {
  return h('span', { class: `badge ${kind}-${value}` }, humanize(value));
}

function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return h('time', { datetime: iso }, d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
}

function shortHash(s) {
  if (!s) return '—';
  const m = /^([a-z0-9]+:)?([0-9a-f]{12})[0-9a-f]+$/i.exec(s);
  return m ? h('code', { title: s }, `${m[1] ?? ''}${m[2]}…`) : h('code', {}, s);
}

function json(v) {
  return JSON.stringify(v);
}

function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

function dl(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]),
  );
}

function table(caption, headers, rows, { empty = 'None.' } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows),
    ),
  );
}

// ---------------------------------------------------------------- session

function whoText(me) {
  const extra = [];
  if (me.team) extra.push(`team ${me.team}`);
  if (me.approval_roles?.length) extra.push(`approves as ${me.approval_roles.join(', ')}`);
  if (me.service) extra.push(`service ${me.service}`);
  return `Signed in as ${me.name} · ${me.role}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

function renderChrome() {
  const signedIn = Boolean(session.me);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  document.getElementById('whoami').textContent = signedIn ? whoText(session.me) : '';
  if (!signedIn) return;
  const isService = session.me.role === 'service';
  for (const a of document.querySelectorAll('#nav a')) {
    // A service token reads only its own flags: the other pages would answer 403.
    a.parentElement.hidden = isService && a.dataset.nav !== 'services';
  }
  const current = currentRoute().page;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let signOutNotice = null;

function signOut(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.me = null;
  signOutNotice = notice ?? null;
  if (location.hash && location.hash !== '#/') location.hash = '#/';
  else render();
}

// ---------------------------------------------------------------- routing

function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = new URLSearchParams(queryPart);
  if (parts[0] === 'experiments' && parts[1]) return { page: 'experiments', key: parts[1], query };
  if (parts[0] === 'services' || parts[0] === 'policy' || parts[0] === 'experiments') return { page: parts[0], query };
  return { page: 'home', query };
}

let renderSeq = 0;

/**
 * Draws the view for the URL. `focus` is a selector to move keyboard focus to afterwards; by
 * default the page's heading, so a screen reader hears where it arrived.
 */
async function render({ focus = 'h1' } = {}) {
  const seq = ++renderSeq;
  const stale = () => seq !== renderSeq;
  if (session.token && !session.me) {
    try {
      session.me = await api('GET', '/v1/whoami');
    } catch (err) {
      if (stale()) return;
      if (err.status !== 401) {
        renderChrome();
        show('Switchyard', [h('h1', { tabindex: '-1' }, 'Switchyard'), errorBox(err)], focus);
        return;
      }
      // 401: signOut has already cleared the token and re-rendered.
      return;
    }
    if (stale()) return;
  }
  renderChrome();
  if (!session.me) {
    show('Sign in', signInView(), focus);
    return;
  }
  const route = currentRoute();
  let page = route.page;
  if (page === 'home') page = session.me.role === 'service' ? 'services' : 'experiments';
  const views = { experiments: route.key ? experimentView : experimentsView, services: servicesView, policy: policyView };
  setBusy(true);
  let nodes;
  let title;
  try {
    [title, nodes] = await views[page](route, stale);
  } catch (err) {
    [title, nodes] = ['Error', [h('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(err)]];
  }
  if (stale()) return;
  setBusy(false);
  show(title, nodes, focus);
}

function setBusy(busy) {
  main().setAttribute('aria-busy', busy ? 'true' : 'false');
}

function show(title, nodes, focus) {
  document.title = `${title} · Switchyard`;
  const m = main();
  m.replaceChildren();
  append(m, [nodes]);
  m.setAttribute('aria-busy', 'false');
  const target = (focus && m.querySelector(focus)) || m.querySelector('h1');
  if (target) {
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
}

// ---------------------------------------------------------------- sign in

function signInView() {
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error', hidden: !signOutNotice }, signOutNotice ?? '');
  signOutNotice = null;
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help sign-in-error',
  });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', id: 'sign-in-form', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'API token'), input),
    h(
      'p',
      { class: 'help', id: 'token-help' },
      'A token from POST /v1/tokens (it starts with sy_). It stays in this browser tab only and is sent as a bearer token to the /v1 API.',
    ),
    error,
    h('div', { class: 'buttons' }, button),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Paste a token first.';
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const me = await api('GET', '/v1/whoami', { token });
      sessionStorage.setItem(TOKEN_KEY, token);
      session.token = token;
      session.me = me;
      announce(whoText(me));
      const target = me.role === 'service' ? '#/services' : '#/experiments';
      if (location.hash === target) render();
      else location.hash = target;
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  return [h('h1', { id: 'sign-in-title' }, 'Sign in'), form];
}

// ---------------------------------------------------------------- experiments list

async function experimentsView(route, stale) {
  const state = STATES.includes(route.query.get('state')) ? route.query.get('state') : '';
  const owner = route.query.get('owner') ?? '';
  // `limit` (page size) may come from the URL too: #/experiments?limit=20.
  const limit = /^[1-9]\d{0,2}$/.test(route.query.get('limit') ?? '') ? Math.min(500, Number(route.query.get('limit'))) : 100;
  const params = new URLSearchParams({ limit: String(limit) });
  if (state) params.set('state', state);
  if (owner) params.set('owner', owner);
  const first = await api('GET', `/v1/intents?${params}`);
  if (stale()) return ['Experiments', []];

  const tbody = h('tbody', {});
  const addRows = (items) => {
    for (const it of items) {
      const live = it.active_version !== null && it.active_version !== it.version ? ` (v${it.active_version} live)` : '';
      tbody.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(it.key)}` }, it.key)),
          h('td', {}, it.owner),
          h('td', {}, badge('status', it.status)),
          h('td', {}, badge('state', it.state)),
          h('td', { class: 'num' }, `v${it.version}${live}`),
          h('td', { class: 'num' }, `${it.exposure} %`),
          h('td', {}, [...new Set(it.services.map((s) => s.service))].join(', ')),
          h('td', {}, time(it.updated_at)),
        ),
      );
    }
  };
  addRows(first.items);

  const more = h('button', { type: 'button', class: 'secondary', hidden: !first.next_cursor }, 'Load more');
  let cursor = first.next_cursor;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await api('GET', `/v1/intents?${params}&cursor=${enc(cursor)}`);
      addRows(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      announce(`${page.items.length} more experiments loaded`);
    } catch (err) {
      more.after(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });

  const stateSelect = h(
    'select',
    { id: 'filter-state', name: 'state' },
    h('option', { value: '' }, 'any'),
    STATES.map((s) => h('option', { value: s, selected: s === state }, s)),
  );
  const ownerInput = h('input', { id: 'filter-owner', name: 'owner', type: 'text', value: owner, autocomplete: 'off' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter experiments' },
    h('div', { class: 'field inline' }, h('label', { for: 'filter-state' }, 'State'), stateSelect),
    h('div', { class: 'field inline' }, h('label', { for: 'filter-owner' }, 'Owner team'), ownerInput),
    h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (stateSelect.value) q.set('state', stateSelect.value);
    if (ownerInput.value.trim()) q.set('owner', ownerInput.value.trim());
    const target = `#/experiments${q.size ? `?${q}` : ''}`;
    if (location.hash === target) render();
    else location.hash = target;
  });

  const list =
    first.items.length === 0
      ? h('p', { class: 'empty' }, state || owner ? 'No experiment matches these filters.' : 'No experiments yet. Submit one with POST /v1/intents.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'experiments-table' },
            h('caption', {}, 'Experiments by key, with the status of their current version and the experiment state'),
            h(
              'thead',
              {},
              h('tr', {}, ['Key', 'Owner', 'Status', 'State', 'Version', 'Exposure', 'Services', 'Updated'].map((t) => h('th', { scope: 'col' }, t))),
            ),
            tbody,
          ),
        );
  return ['Experiments', [h('h1', {}, 'Experiments'), filters, list, more]];
}

// ---------------------------------------------------------------- one experiment

const ACTIONS = {
  pause: {
    label: 'Pause',
    help: 'Pausing disables its flags in every service: everyone gets the default variant. Resume turns them back on.',
    done: 'Paused',
  },
  resume: { label: 'Resume', help: 'Resuming turns its flags back on, as they were before the pause.', done: 'Resumed' },
  rollback: {
    label: 'Roll back',
    help: 'Rolling back returns to the previous approved version; with none, its flags are removed and it goes back to draft.',
    done: 'Rolled back',
  },
  complete: {
    label: 'Complete',
    help: 'Completing ends the experiment and removes its flags from every service. This is final.',
    done: 'Completed',
  },
};

/**
 * The key under which a token name counts as one person: the server's rule (src/access/person-key.ts:
 * NFC, trimmed, case-folded as lower → upper → lower), so `sam` and ` Sam ` are one person here too.
 * @param {string} name
 */
function personKey(name) {
  return name.normalize('NFC').trim().toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
}

/** Which buttons this token may use, mirroring the server's rules (the server still decides). */
function permissions(me, exp) {
  const current = exp.versions.find((v) => v.version === exp.version);
  const mine = (name) => personKey(name) === personKey(me.name);
  const owedMissing = (exp.outstanding_approvals ?? []).filter((o) => o.missing > 0);
  const mayApproveRole =
    me.role === 'admin' || (me.role === 'approver' && owedMissing.some((o) => (me.approval_roles ?? []).includes(o.role)));
  const approve =
    exp.status === 'pending_approval' &&
    exp.state !== 'completed' &&
    mayApproveRole &&
    !(current && mine(current.submitted_by)) &&
    !(exp.approvals ?? []).some((a) => mine(a.actor));
  const mayAct = me.role === 'admin' || me.role === 'operator' || (me.role === 'owner' && me.team === exp.owner);
  const actions = [];
  if (mayAct) {
    if (exp.state === 'running') actions.push('pause');
    if (exp.state === 'paused') actions.push('resume');
    if (exp.active_version !== null && exp.state !== 'completed') actions.push('rollback');
    if (exp.state !== 'completed') actions.push('complete');
  }
  let note = null;
  if (exp.status === 'pending_approval' && mayApproveRole && current && mine(current.submitted_by)) {
    note = `You submitted version ${exp.version}: your approval would not count.`;
  } else if (exp.status === 'pending_approval' && (exp.approvals ?? []).some((a) => mine(a.actor))) {
    note = `You have approved version ${exp.version}; it waits for the other approvals.`;
  }
  return { approve, actions, note };
}

async function experimentView(route, stale) {
  const key = route.key;
  const [exp, audit] = await Promise.all([api('GET', `/v1/intents/${enc(key)}`), loadAudit(key)]);
  if (stale()) return [key, []];
  // A rollout's analysis with its points over time (GET …/analysis?history=true); a failure is shown, not fatal.
  const analysis = exp.rollout
    ? await api('GET', `/v1/intents/${enc(key)}/analysis?history=true`).catch((error) => ({ error }))
    : null;
  if (stale()) return [key, []];
  const services = [...new Set(exp.intent.services.map((s) => s.service))];
  const flagDocs = await Promise.all(
    services.map((s) =>
      api('GET', `/v1/services/${enc(s)}/flags`).then(
        (doc) => ({ service: s, doc }),
        (error) => ({ service: s, error }),
      ),
    ),
  );
  const nodes = [
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ', key),
    h('h1', {}, exp.key),
    exp.intent.description ? h('p', { class: 'lede' }, exp.intent.description) : null,
    h('p', { class: 'badges' }, 'Status ', badge('status', exp.status), ' · State ', badge('state', exp.state)),
    summarySection(exp),
    exp.rollout ? rolloutSection(exp, analysis) : null,
    actionsSection(exp),
    decisionSection(exp),
    flagsSection(exp, flagDocs),
    versionsSection(exp),
    auditSection(key, audit),
  ];
  return [exp.key, nodes];
}

function summarySection(exp) {
  const i = exp.intent;
  return h(
    'section',
    { 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, 'Intent'),
    dl([
      ['Owner team', exp.owner],
      ['Current version', `v${exp.version}`],
      ['Live version', exp.active_version === null ? 'none' : `v${exp.active_version}`],
      ['Exposure', `${i.exposure} %`],
      ['Unit', i.unit ?? 'user_id'],
      ['Layer', i.layer ?? 'none'],
      ['Data access', i.data_access?.length ? i.data_access.join(', ') : 'none'],
      ['Audience', i.audience?.length ? i.audience.map(condition).join(' and ') : 'everyone'],
      ['Variants', i.variants.map((v) => `${v.key} (weight ${v.weight})`).join(', ')],
      ['Schedule', i.schedule ? [time(i.schedule.start), ' to ', time(i.schedule.end)] : 'none: live as soon as approved'],
    ]),
  );
}

// ---------------------------------------------------------------- rollouts (SPEC §10)

const SVG_NS = 'http://www.w3.org/2000/svg';

/** svg('path', {d: …}, children…): an SVG element; strings become text nodes (never markup). */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A relative change as a signed percentage: +12.3 %. */
function pct(x) {
  if (x === null || x === undefined) return '—';
  const v = x * 100;
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(1)} %`;
}

/** Whether this token may advance: the same rule as the other lifecycle actions, and the server's "ready". */
function mayAdvance(me, exp) {
  const mayAct = me.role === 'admin' || me.role === 'operator' || (me.role === 'owner' && me.team === exp.owner);
  return mayAct && exp.state === 'running' && exp.rollout?.status === 'ready';
}

/** The stage ladder (each stage's exposure and hold, the current one marked), the guardrails' charts, Advance. */
function rolloutSection(exp, analysis) {
  const r = exp.rollout;
  const stages = exp.intent.rollout?.stages ?? [];
  const ladder = h(
    'ol',
    { class: 'ladder', id: 'rollout-ladder', 'aria-label': `Stages of ${exp.key}` },
    stages.map((st, i) =>
      h(
        'li',
        { class: i === r.stage ? 'current' : i < r.stage ? 'done' : 'todo', 'aria-current': i === r.stage ? 'step' : null },
        h('span', { class: 'stage-name' }, `Stage ${i + 1}`),
        h('span', { class: 'stage-exposure' }, `${st.exposure} %`),
        h('span', { class: 'stage-hold' }, st.hold && st.hold !== 'PT0S' ? `hold ${st.hold}` : 'no hold'),
        i === r.stage ? h('span', { class: 'stage-here' }, 'now') : null,
      ),
    ),
  );
  const advance = mayAdvance(session.me, exp)
    ? h(
        'button',
        {
          type: 'button',
          id: 'action-advance',
          onclick: (ev) =>
            openDialog(ev.currentTarget, {
              title: `Advance ${exp.key} to stage ${r.stage + 2}`,
              help: `Stage ${r.stage + 2} exposes ${stages[r.stage + 1]?.exposure ?? '?'} % of units. Units exposed now stay exposed, in the same arm.`,
              field: { label: 'Reason (optional, kept in the audit trail)', required: false },
              confirm: 'Advance',
              run: (reason) => api('POST', `/v1/intents/${enc(exp.key)}/actions`, { body: reason ? { action: 'advance', reason } : { action: 'advance' } }),
              done: (d) => `Advanced. ${exp.key} is at stage ${d.rollout.stage + 1} of ${d.rollout.stages}, ${d.rollout.exposure} % exposed.`,
            }),
        },
        'Advance',
      )
    : null;
  return h(
    'section',
    { 'aria-labelledby': 'rollout-heading' },
    h('h2', { id: 'rollout-heading' }, 'Rollout'),
    dl([
      ['Stage', h('span', { id: 'rollout-stage' }, `${r.stage + 1} of ${r.stages}, ${r.exposure} % exposed`)],
      ['Status', h('span', { id: 'rollout-status' }, badge('rollout', r.status))],
      ['Hold until', time(r.hold_until)],
      ['Auto advance', exp.intent.rollout?.auto_advance ? 'yes, once the hold is over and the analysis is healthy' : 'no'],
    ]),
    ladder,
    advance ? h('div', { class: 'buttons' }, advance) : null,
    analysisPart(exp, analysis),
  );
}

function analysisPart(exp, a) {
  if (!a) return null;
  if (a.error) return errorBox(a.error);
  const units = Object.entries(a.units).map(([arm, n]) => `${arm} ${n}`).join(', ');
  const nodes = [
    h('h3', { id: 'analysis-heading' }, 'Guardrails'),
    h(
      'p',
      { id: 'analysis-summary' },
      'Analysis ',
      badge('analysis', a.status),
      ` · units ${units} · sample ratio p = ${a.srm.p_value < 0.001 ? a.srm.p_value.toExponential(2) : a.srm.p_value.toFixed(3)}${a.srm.flagged ? ' (mismatch)' : ''} · assignment mismatches ${a.assignment_mismatches}`,
    ),
  ];
  const metrics = [...new Set(a.guardrails.map((g) => g.metric))];
  if (metrics.length === 0) nodes.push(h('p', { class: 'empty' }, 'This rollout has no guardrails.'));
  for (const metric of metrics) {
    const rows = a.guardrails.filter((g) => g.metric === metric);
    nodes.push(
      h('h4', {}, metric, rows[0].better ? ` (${rows[0].better} is better; tolerated ${pct(rows[0].better === 'higher' ? -rows[0].max_regression : rows[0].max_regression)})` : ''),
      guardrailChart(metric, rows, a.history ?? []),
      table(
        null,
        ['Arm', 'Control (units, mean)', 'Arm (units, mean)', 'Change', 'Interval', 'Status'],
        rows.map((g) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, g.arm),
            h('td', {}, `${g.control.units}, ${+g.control.mean.toPrecision(4)}`),
            h('td', {}, `${g.arm_stats.units}, ${+g.arm_stats.mean.toPrecision(4)}`),
            h('td', {}, pct(g.relative_change)),
            h('td', {}, g.interval ? `[${pct(g.interval[0])}, ${pct(g.interval[1])}]` : '—'),
            h('td', {}, badge('guardrail', g.status)),
          ),
        ),
      ),
    );
  }
  return nodes;
}

const ARM_COLOURS = ['#0b5cad', '#b35900', '#6f42c1', '#1a7f37', '#b42318'];

/**
 * One guardrail over time: per arm, its relative change against control (a line) and its interval
 * (a band), from the analysis history; a dashed line where the tolerated regression lies, and zero.
 */
function guardrailChart(metric, rows, history) {
  const W = 640, H = 220, L = 64, R = 110, T = 12, B = 40;
  const arms = rows.map((g) => g.arm);
  const series = arms.map((arm) =>
    history
      .map((p) => ({ t: Date.parse(p.at), g: p.guardrails.find((g) => g.metric === metric && g.arm === arm) }))
      .filter((p) => p.g && p.g.relative_change !== null && p.g.interval),
  );
  const points = series.flat();
  if (points.length === 0) {
    return h('p', { class: 'empty chart-empty', 'data-metric': metric }, 'No analysis points yet: the chart starts once both arms have values and the guardrail loop has run.');
  }
  const bad = rows[0].better === 'higher' ? -rows[0].max_regression : rows[0].max_regression;
  const ys = [0, bad, ...points.flatMap((p) => [p.g.interval[0], p.g.interval[1]])];
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  const pad = (y1 - y0) * 0.08 || 0.05;
  y0 -= pad;
  y1 += pad;
  let t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t));
  if (t1 === t0) { t0 -= 60_000; t1 += 60_000; }
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const f = (n) => n.toFixed(1);
  const hline = (v, cls, label) => [
    svg('line', { x1: L, x2: W - R, y1: f(y(v)), y2: f(y(v)), class: cls }),
    svg('text', { x: W - R + 4, y: f(y(v) + 4), class: `chart-label ${cls}` }, label),
  ];
  const clock = (t) => new Date(t).toISOString().slice(11, 19);
  const children = [
    svg('title', {}, `${metric}: relative change of ${arms.join(', ')} against control over time, with intervals`),
    svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }),
    svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }),
    [y0 + pad, y1 - pad].map((v) => svg('text', { x: L - 6, y: f(y(v) + 4), 'text-anchor': 'end', class: 'tick' }, pct(v))),
    svg('text', { x: L, y: H - B + 16, class: 'tick' }, clock(t0)),
    svg('text', { x: W - R, y: H - B + 16, 'text-anchor': 'end', class: 'tick' }, clock(t1)),
    svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label' }, 'time (UTC)'),
    svg('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 12 ${(T + H - B) / 2})` }, 'change vs control'),
    hline(0, 'zero', '0 %'),
    hline(bad, 'tolerance', `tolerated ${pct(bad)}`),
  ];
  series.forEach((pts, i) => {
    if (pts.length === 0) return;
    const colour = ARM_COLOURS[i % ARM_COLOURS.length];
    const upper = pts.map((p) => `${f(x(p.t))},${f(y(p.g.interval[1]))}`);
    const lower = pts.map((p) => `${f(x(p.t))},${f(y(p.g.interval[0]))}`).reverse();
    const line = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(p.g.relative_change))}`).join(' ');
    children.push(
      pts.length > 1
        ? svg('polygon', { points: [...upper, ...lower].join(' '), fill: colour, class: 'band', 'data-arm': arms[i] })
        : svg('line', { x1: f(x(pts[0].t)), x2: f(x(pts[0].t)), y1: upper[0].split(',')[1], y2: lower[0].split(',')[1], stroke: colour, class: 'band', 'data-arm': arms[i] }),
      svg('path', { d: pts.length > 1 ? line : `${line} h0.01`, stroke: colour, class: 'arm-line', 'data-arm': arms[i] }),
      pts.map((p) => svg('circle', { cx: f(x(p.t)), cy: f(y(p.g.relative_change)), r: 2.5, fill: colour })),
      // legend, top right: one swatch and name per arm
      svg('rect', { x: W - R + 8, y: T + 4 + i * 16, width: 10, height: 10, fill: colour }),
      svg('text', { x: W - R + 22, y: T + 13 + i * 16, class: 'chart-label' }, arms[i]),
    );
  });
  return h(
    'figure',
    { class: 'chart', 'data-metric': metric },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${metric} against control over time` }, children),
    h('figcaption', { class: 'help' }, `Each line is an arm's relative change in ${metric} against control; its shaded band is the always-valid interval. The rollout trips when a band lies wholly beyond the dashed tolerance.`),
  );
}

function condition(c) {
  const v = c.values ? `[${c.values.map((x) => json(x)).join(', ')}]` : json(c.value);
  return `${c.attribute} ${c.op} ${v}`;
}

function actionsSection(exp) {
  const me = session.me;
  const { approve, actions, note } = permissions(me, exp);
  const buttons = [];
  if (approve) {
    const owed = exp.outstanding_approvals.filter((o) => o.missing > 0).map((o) => o.role);
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          id: 'approve-button',
          onclick: (ev) =>
            openDialog(ev.currentTarget, {
              title: `Approve ${exp.key} v${exp.version}`,
              help: `Your approval fills the roles you hold among those still needed (${owed.join(', ')}).`,
              field: { label: 'Comment (optional)', required: false },
              confirm: 'Approve',
              // The version shown is the version approved: if another was submitted since this page
              // was read, the server refuses (version_changed) rather than approve what was not read.
              run: (comment) =>
                api('POST', `/v1/intents/${enc(exp.key)}/approvals`, { body: comment ? { comment, version: exp.version } : { version: exp.version } }).catch((err) => {
                  if (err instanceof ApiError && err.code === 'version_changed') {
                    const now = typeof err.problem?.current_version === 'number' ? `v${err.problem.current_version}` : 'another version';
                    throw new Error(
                      `${exp.key} changed while you were reading it: you were approving v${exp.version}, and ${now} is current now. Nothing was approved. Reload the page to read ${now} before approving it. (version_changed)`,
                    );
                  }
                  throw err;
                }),
              done: (r) => `Approved. ${exp.key} is now ${humanize(r.status)} and ${r.state}.`,
            }),
        },
        'Approve',
      ),
    );
  }
  for (const a of actions) {
    const spec = ACTIONS[a];
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          id: `action-${a}`,
          class: a === 'complete' || a === 'rollback' ? 'danger' : a === 'pause' ? 'warning' : null,
          onclick: (ev) =>
            openDialog(ev.currentTarget, {
              title: `${spec.label} ${exp.key}`,
              help: spec.help,
              field: { label: 'Reason (required, kept in the audit trail)', required: true },
              confirm: spec.label,
              run: (reason) => api('POST', `/v1/intents/${enc(exp.key)}/actions`, { body: { action: a, reason } }),
              done: (r) => `${spec.done}. ${exp.key} is now ${r.state}.`,
            }),
        },
        spec.label,
      ),
    );
  }
  return h(
    'section',
    { 'aria-labelledby': 'actions-heading' },
    h('h2', { id: 'actions-heading', tabindex: '-1' }, 'Actions'),
    buttons.length
      ? h('div', { class: 'buttons', role: 'group', 'aria-label': `Actions on ${exp.key}` }, buttons)
      : h('p', { class: 'empty' }, `No action is open to ${me.name} (${me.role}) on this experiment while it is ${exp.state} and ${humanize(exp.status)}.`),
    note ? h('p', { class: 'help' }, note) : null,
  );
}

function decisionSection(exp) {
  const d = exp.decision;
  if (!d) {
    return h('section', { 'aria-labelledby': 'decision-heading' }, h('h2', { id: 'decision-heading' }, 'Decision'), h('p', {}, 'No decision stored.'));
  }
  const verdict = !d.allow
    ? 'Denied: the policy found violations. A denied version never reaches a flag state.'
    : exp.status === 'pending_approval'
      ? 'Allowed, waiting for approval.'
      : 'Allowed.';
  const violations = d.violations.length
    ? h(
        'ul',
        { class: 'violations', id: 'violations' },
        d.violations.map((v) =>
          h(
            'li',
            {},
            h('code', { class: 'code' }, v.code),
            ' ',
            v.message,
            h(
              'span',
              { class: 'meta' },
              ` (policy ${v.policy}${v.service ? `, service ${v.service}` : ''}${v.data_class ? `, data class ${v.data_class}` : ''})`,
            ),
          ),
        ),
      )
    : h('p', {}, 'No violations.');

  const owed = (d.obligations?.approvals ?? []).filter((a) => a.count > 0);
  const outstanding = new Map((exp.outstanding_approvals ?? []).map((o) => [o.role, o]));
  const approvalRows = owed.map((o) => {
    const by = (exp.approvals ?? []).filter((a) => a.roles.includes(o.role));
    const missing = exp.status === 'approved' ? 0 : (outstanding.get(o.role)?.missing ?? Math.max(0, o.count - by.length));
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, o.role),
      h('td', { class: 'num' }, String(o.count)),
      h('td', {}, by.length ? by.map((a, i) => [i ? ', ' : '', a.actor, ' (', time(a.at), ')', a.comment ? `: “${a.comment}”` : '']) : 'nobody yet'),
      h('td', { class: 'num' }, missing ? `${missing} still needed` : 'done'),
    );
  });
  const audit = d.obligations?.audit;
  return h(
    'section',
    { 'aria-labelledby': 'decision-heading' },
    h('h2', { id: 'decision-heading' }, `Decision for v${exp.version}`),
    h('p', { class: `verdict ${d.allow ? 'allow' : 'deny'}`, id: 'verdict' }, verdict),
    dl([
      ['Decision', h('code', {}, d.id)],
      ['Policy revision', shortHash(d.policy_revision)],
      ['Exposure limit', d.limits?.max_exposure !== undefined ? `${d.limits.max_exposure} %` : '—'],
      ['Audit level', audit ? `${audit.level}, kept ${audit.retention_days} days` : '—'],
    ]),
    h('h3', {}, 'Violations'),
    violations,
    h('h3', {}, 'Approvals'),
    table('Approvals the decision asks for', ['Role', 'Needed', 'Approved by', 'Outstanding'], approvalRows, { empty: 'No approval needed.' }),
  );
}

function flagsSection(exp, flagDocs) {
  const rows = exp.intent.services.map(({ service, flag }) => {
    const entry = flagDocs.find((f) => f.service === service);
    let state = 'not live';
    let version = '—';
    if (entry?.error) state = `unavailable: ${entry.error.message}`;
    else if (entry) {
      version = `v${entry.doc.version}`;
      const f = entry.doc.flags[flag];
      if (f && f.experiment?.key === exp.key) state = [badge('flag', f.state), ` from v${f.experiment.version}`];
      else if (f) state = `driven by ${f.experiment?.key ?? 'another experiment'}`;
    }
    const values = exp.intent.variants.map((v) => `${v.key} = ${json(v.overrides && service in v.overrides ? v.overrides[service] : v.value)}`).join(', ');
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('a', { href: `#/services?service=${enc(service)}` }, service)),
      h('td', {}, h('code', {}, flag)),
      h('td', {}, state),
      h('td', { class: 'num' }, version),
      h('td', {}, values),
    );
  });
  return h(
    'section',
    { 'aria-labelledby': 'flags-heading' },
    h('h2', { id: 'flags-heading' }, 'Flags it drives'),
    table(null, ['Service', 'Flag', 'State now', 'Service flags version', 'Values (current version)'], rows),
  );
}

function versionsSection(exp) {
  const rows = [...exp.versions].reverse().map((v) => {
    const notes = [];
    if (v.version === exp.active_version) notes.push('live');
    if (v.version === exp.version && v.version !== exp.active_version) notes.push('current');
    if (v.rolled_back_at) notes.push(['rolled back ', time(v.rolled_back_at)]);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, `v${v.version}`),
      h('td', {}, badge('status', v.status)),
      h('td', {}, v.submitted_by),
      h('td', {}, time(v.submitted_at)),
      h('td', {}, v.decision_id ? h('code', {}, v.decision_id) : '—'),
      h('td', {}, v.slice ? `${v.slice.start}–${v.slice.end}` : '—'),
      h('td', {}, notes.length ? notes.flatMap((n, i) => (i ? ['; ', n] : [n])) : ''),
    );
  });
  return h(
    'section',
    { 'aria-labelledby': 'versions-heading' },
    h('h2', { id: 'versions-heading' }, 'Versions'),
    table(null, ['Version', 'Status', 'Submitted by', 'Submitted at', 'Decision', 'Layer slice', 'Notes'], rows),
  );
}

async function loadAudit(key, cursor) {
  const q = new URLSearchParams({ experiment: key, limit: '500' });
  if (cursor) q.set('cursor', cursor);
  return api('GET', `/v1/audit?${q}`);
}

function auditDetails(e) {
  const d = e.data ?? {};
  const parts = [];
  if (d.from_state && d.to_state) parts.push(`${d.from_state} → ${d.to_state}`);
  if (d.status) parts.push(`status ${humanize(d.status)}`);
  if (Array.isArray(d.violations) && d.violations.length) parts.push(`violations ${d.violations.join(', ')}`);
  if (Array.isArray(d.roles) && d.roles.length) parts.push(`as ${d.roles.join(', ')}`);
  if (d.reason) parts.push(`reason: “${d.reason}”`);
  if (d.comment) parts.push(`comment: “${d.comment}”`);
  if (d.flags_versions && Object.keys(d.flags_versions).length) {
    parts.push(`flags ${Object.entries(d.flags_versions).map(([s, v]) => `${s} v${v}`).join(', ')}`);
  }
  if (d.decision_id) parts.push(`decision ${d.decision_id}`);
  return parts.join(' · ');
}

function auditSection(key, first) {
  const list = h('ol', { class: 'timeline', id: 'audit-timeline' });
  const add = (items) => {
    for (const e of items) {
      const details = auditDetails(e);
      list.append(
        h(
          'li',
          { 'data-type': e.type },
          time(e.at),
          ' ',
          h('strong', {}, humanize(e.type)),
          ` by ${e.actor}`,
          e.version !== null ? ` (v${e.version})` : '',
          details ? h('span', { class: 'meta' }, ` — ${details}`) : null,
        ),
      );
    }
  };
  add(first.events);
  let cursor = first.next_cursor;
  const more = h('button', { type: 'button', class: 'secondary', hidden: !cursor }, 'Load more events');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await loadAudit(key, cursor);
      add(page.events);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      more.after(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });
  return h(
    'section',
    { 'aria-labelledby': 'audit-heading' },
    h('h2', { id: 'audit-heading' }, 'Audit timeline'),
    first.events.length ? list : h('p', { class: 'empty' }, 'No events.'),
    more,
  );
}

// ---------------------------------------------------------------- action dialog

/**
 * One modal dialog for every action: a title, what the action does, an optional text field, and
 * the API call. Errors (problem+json detail) stay in the dialog; success closes it and redraws.
 */
function openDialog(opener, { title, help, field, confirm, run, done }) {
  const dialog = document.getElementById('action-dialog');
  const form = document.getElementById('action-form');
  const text = document.getElementById('action-reason');
  const label = document.getElementById('action-reason-label');
  const error = document.getElementById('action-error');
  const ok = document.getElementById('action-confirm');
  const cancel = document.getElementById('action-cancel');
  document.getElementById('action-dialog-title').textContent = title;
  document.getElementById('action-dialog-help').textContent = help;
  ok.textContent = confirm;
  error.hidden = true;
  error.textContent = '';
  text.value = '';
  text.removeAttribute('aria-invalid');
  text.parentElement.hidden = !field;
  if (field) {
    label.textContent = field.label;
    text.required = field.required;
  } else {
    text.required = false;
  }
  let busy = false;
  const close = () => {
    form.removeEventListener('submit', onSubmit);
    cancel.removeEventListener('click', onCancel);
    dialog.removeEventListener('close', onClose);
    if (dialog.open) dialog.close();
  };
  const onCancel = () => close();
  const onClose = () => {
    close();
    if (opener.isConnected) opener.focus();
  };
  const onSubmit = async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const value = text.value.trim();
    if (field?.required && !value) {
      error.textContent = `${field.label.replace(/ \(.*$/, '')} is required.`;
      error.hidden = false;
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    busy = true;
    ok.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const result = await run(value);
      dialog.removeEventListener('close', onClose);
      close();
      announce(done(result));
      await render({ focus: '#actions-heading' });
      flash(done(result));
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      (field ? text : ok).focus();
    } finally {
      busy = false;
      ok.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };
  form.addEventListener('submit', onSubmit);
  cancel.addEventListener('click', onCancel);
  dialog.addEventListener('close', onClose);
  dialog.showModal();
  (field ? text : ok).focus();
}

/** A visible confirmation under the page heading (the announcer tells screen readers). */
function flash(message) {
  const h1 = main().querySelector('h1');
  if (!h1) return;
  h1.after(h('p', { class: 'notice', id: 'notice' }, message));
}

// ---------------------------------------------------------------- services

async function servicesView(route, stale) {
  const me = session.me;
  const all = me.role === 'service' ? [me.service] : (await api('GET', '/v1/policy')).services;
  const only = route.query.get('service');
  const services = only && all.includes(only) ? [only] : all;
  const docs = await Promise.all(
    services.map((s) =>
      api('GET', `/v1/services/${enc(s)}/flags`).then(
        (doc) => ({ service: s, doc }),
        (error) => ({ service: s, error }),
      ),
    ),
  );
  if (stale()) return ['Services', []];
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-services', onclick: () => render({ focus: '#refresh-services' }) }, 'Refresh');
  const nodes = [
    h('h1', {}, 'Services'),
    h(
      'p',
      { class: 'lede' },
      'The flag states each service fetches from GET /v1/services/{service}/flags. A service’s version grows by one with every change to its flags.',
    ),
    h('div', { class: 'buttons' }, refresh, only ? h('a', { href: '#/services', class: 'button-link' }, 'Show every service') : null),
  ];
  for (const { service, doc, error } of docs) {
    const id = `service-${service}`;
    const section = h('section', { 'aria-labelledby': `${id}-heading`, id, class: 'service' });
    section.append(h('h2', { id: `${id}-heading` }, service, ' ', h('span', { class: 'version', 'data-version': doc?.version ?? '' }, doc ? `version ${doc.version}` : '')));
    if (error) {
      section.append(errorBox(error));
    } else {
      const rows = Object.entries(doc.flags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, f]) =>
          h(
            'tr',
            { 'data-flag': key },
            h('th', { scope: 'row' }, h('code', {}, key)),
            h('td', {}, badge('flag', f.state)),
            h(
              'td',
              {},
              !f.experiment
                ? '—'
                : me.role === 'service' // a service token may not read intents: no link to a page it cannot open
                  ? `${f.experiment.key} v${f.experiment.version}`
                  : h('a', { href: `#/experiments/${enc(f.experiment.key)}` }, `${f.experiment.key} v${f.experiment.version}`),
            ),
            h('td', {}, f.default_variant),
            h('td', {}, Object.entries(f.variants).map(([k, v]) => `${k} = ${json(v)}`).join(', ')),
            h('td', {}, exposureText(f.allocation)),
            h('td', {}, f.audience?.length ? f.audience.map(condition).join(' and ') : 'everyone'),
          ),
        );
      section.append(
        table(`Flags of ${service}, version ${doc.version}`, ['Flag', 'State', 'Experiment', 'Default', 'Variants', 'Exposure', 'Audience'], rows, {
          empty: `No flags for ${service} yet (version ${doc.version}).`,
        }),
      );
    }
    nodes.push(section);
  }
  return ['Services', nodes];
}

function exposureText(a) {
  if (!a?.exposure) return '—';
  const { start, end, total, seed } = a.exposure;
  const pct = ((end - start) * 100) / total;
  return `${Number(pct.toFixed(2))} % (buckets ${start}–${end} of ${total}, seed ${seed})`;
}

// ---------------------------------------------------------------- policy

async function policyView(_route, stale) {
  const info = await api('GET', '/v1/policy');
  if (stale()) return ['Policy', []];
  const me = session.me;
  const mayPublish = me.role === 'governance' || me.role === 'admin';
  const nodes = [
    h('h1', {}, 'Policy'),
    h(
      'section',
      { 'aria-labelledby': 'active-heading' },
      h('h2', { id: 'active-heading' }, 'Active revision'),
      dl([
        ['Revision', h('code', { id: 'policy-revision', class: 'wrap' }, info.revision ?? 'none loaded')],
        ['Manifest revision', info.manifest_revision ? h('code', {}, info.manifest_revision) : '—'],
        ['Wasm SHA-256', info.wasm_sha256 ? h('code', { class: 'wrap' }, info.wasm_sha256) : '—'],
        ['Entrypoints', info.entrypoints?.length ? info.entrypoints.join(', ') : '—'],
        ['Activated', info.loaded_at ? [time(info.loaded_at), info.activated_by ? ` by ${info.activated_by}` : ''] : '—'],
        ['Services in the catalog', info.services?.join(', ') || '—'],
      ]),
    ),
  ];
  nodes.push(mayPublish ? publishSection(info) : h('p', { class: 'help' }, 'Governance and admin tokens can preview and publish a new bundle here.'));
  return ['Policy', nodes];
}

function publishSection(info) {
  const file = h('input', { id: 'bundle-file', name: 'bundle', type: 'file', accept: '.tar.gz,.tgz,application/gzip', required: true, 'aria-describedby': 'bundle-help' });
  const preview = h('button', { type: 'submit', id: 'preview-button' }, 'Preview impact');
  const result = h('div', { id: 'impact', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card', id: 'preview-form', 'aria-labelledby': 'preview-heading', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'bundle-file' }, 'Policy bundle'), file),
    h(
      'p',
      { class: 'help', id: 'bundle-help' },
      'The output of make policies (opa build -t wasm), build/policy/bundle.tar.gz. The preview re-evaluates every live experiment under it with today’s clock and changes nothing.',
    ),
    h('div', { class: 'buttons' }, preview),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    const f = file.files?.[0];
    if (!f) {
      result.append(errorBox('Choose a bundle file first.'));
      file.focus();
      return;
    }
    preview.disabled = true;
    try {
      const bytes = await f.arrayBuffer();
      const report = await api('PUT', '/v1/policy?dry_run=true', { bytes });
      append(result, impactView(report, info));
      const publish = h('button', { type: 'button', id: 'publish-button', class: 'danger' }, 'Publish this bundle');
      publish.addEventListener('click', () =>
        openDialog(publish, {
          title: 'Publish this bundle',
          help: `Revision ${report.revision} becomes the active policy for every new decision. Running experiments are not stopped; the impact above names those it would deny.`,
          field: null,
          confirm: 'Publish',
          run: () => api('PUT', '/v1/policy', { bytes }),
          done: (r) => `Published. The active revision is ${r.revision}.`,
        }),
      );
      result.append(h('div', { class: 'buttons' }, publish));
      announce(`Impact: ${report.impact.evaluated} evaluated, ${report.impact.changed} changed, ${report.impact.would_deny} would be denied.`);
    } catch (err) {
      result.append(errorBox(err));
    } finally {
      preview.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'preview-heading' }, h('h2', { id: 'preview-heading' }, 'Preview a new bundle'), form, result);
}

function impactView(report, info) {
  const im = report.impact;
  const same = report.revision === info.revision;
  const rows = im.experiments.map((e) =>
    h(
      'tr',
      { class: e.changed ? 'changed' : null, 'data-key': e.key },
      h('th', { scope: 'row' }, h('a', { href: `#/experiments/${enc(e.key)}` }, e.key)),
      h('td', { class: 'num' }, `v${e.version}`),
      h('td', {}, badge('state', e.state)),
      h('td', { class: 'verdicts' }, badge('status', e.old.status), ' → ', badge('status', e.new.status)),
      h('td', {}, e.changed ? 'yes' : 'no'),
      h(
        'td',
        {},
        e.new.violations.length
          ? h('ul', { class: 'plain' }, e.new.violations.map((v) => h('li', {}, h('code', {}, v.code), ' ', v.message)))
          : 'none',
      ),
    ),
  );
  return [
    h('h3', {}, 'Impact'),
    h(
      'p',
      { id: 'impact-summary' },
      `Candidate `,
      shortHash(report.revision),
      same ? ' (the active revision)' : ` against active `,
      same ? '' : shortHash(report.previous_revision),
      `: ${im.evaluated} live experiment${im.evaluated === 1 ? '' : 's'} evaluated, ${im.changed} changed, ${im.would_deny} would be denied.`,
    ),
    table('Live experiments: verdict under the active policy → under the candidate', ['Experiment', 'Version', 'State', 'Verdict', 'Changed', 'Violations under the candidate'], rows, {
      empty: 'No live experiment to evaluate.',
    }),
  ];
}

// ---------------------------------------------------------------- start

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  announce('Signed out');
});
window.addEventListener('hashchange', () => render());
render();
