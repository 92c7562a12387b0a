// Operations (admins): readiness, queue depth and running tasks, request rates and latency
// from the server's own /metrics (polled every 5 s), and the API keys.
import { h, field, formatTime, append, clear } from './dom.js';
import { describeError } from './api.js';

/** Prometheus text format → [{name, labels, value}]. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2].replace(/\\(.)/g, '$1');
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

function sum(samples, name, filter = () => true) {
  return samples.filter((s) => s.name === name && filter(s.labels)).reduce((total, s) => total + s.value, 0);
}

export function renderOperations(main, session) {
  if (!session.can('manageKeys')) {
    main.append(h('h1', {}, 'Operations'), h('p', { class: 'error', role: 'alert' },
      `This page is for admins; your key has the ${session.role} role.`));
    return;
  }
  const health = h('dl', { class: 'health' });
  const figures = h('dl', { class: 'figures' });
  const requestsBody = h('tbody');
  const running = h('ul', { class: 'running', 'aria-label': 'Running tasks' });
  const message = h('p', { role: 'status', class: 'hint' });
  let previous = null;

  async function poll() {
    try {
      const [readyResponse, metricsText, working] = await Promise.all([
        fetch('/health/ready', { cache: 'no-store', credentials: 'omit' }).then(async (r) => ({ ok: r.ok, body: await r.json() })),
        session.api.text('/metrics'),
        session.api.call('ListTasks', { status: 'TASK_STATE_WORKING', pageSize: 10, historyLength: 1 }),
      ]);
      append(clear(running), (working.tasks || []).map((task) => h('li', {},
        h('a', { href: `#/task/${encodeURIComponent(task.id)}` }, task.history && task.history[0] ? task.history[0].parts.map((p) => p.text || '').join(' ') : task.id))));
      if (!(working.tasks || []).length) running.append(h('li', { class: 'hint' }, 'No task is running.'));
      else if (working.totalSize > working.tasks.length) running.append(h('li', { class: 'hint' }, `and ${working.totalSize - working.tasks.length} more`));
      append(clear(health), [
        h('dt', {}, 'Server'), h('dd', { class: readyResponse.ok ? 'ok' : 'error', dataset: { check: 'server' } }, readyResponse.body.status),
        Object.entries(readyResponse.body.checks || {}).map(([name, value]) => [h('dt', {}, name), h('dd', { dataset: { check: name } }, String(value))])]);
      const samples = parseMetrics(metricsText);
      const now = performance.now();
      const byMethod = new Map();
      for (const s of samples) {
        if (s.name === 'ares_requests_total') {
          const entry = byMethod.get(s.labels.method) || { count: 0, errors: 0, seconds: 0, durations: 0 };
          entry.count += s.value;
          if (!/^(ok|stream|[123]\d\d)$/.test(s.labels.outcome || 'ok')) entry.errors += s.value;
          byMethod.set(s.labels.method, entry);
        }
      }
      for (const [method, entry] of byMethod) {
        entry.seconds = sum(samples, 'ares_request_duration_seconds_sum', (l) => l.method === method);
        entry.durations = sum(samples, 'ares_request_duration_seconds_count', (l) => l.method === method);
      }
      figures.replaceChildren(
        h('dt', {}, 'Queue depth'), h('dd', { dataset: { metric: 'queue' } }, String(sum(samples, 'ares_task_queue_depth'))),
        h('dt', {}, 'Running tasks'), h('dd', { dataset: { metric: 'running' } }, String(sum(samples, 'ares_tasks', (l) => l.state === 'running'))),
        h('dt', {}, 'Tasks ended'), h('dd', {}, ['completed', 'failed', 'canceled'].map((s) => `${sum(samples, 'ares_tasks_ended_total', (l) => l.state === s)} ${s}`).join(', ')),
        h('dt', {}, 'Refused credentials'), h('dd', {}, String(sum(samples, 'ares_authentication_failures_total'))));
      const rows = [...byMethod.entries()].sort((a, b) => b[1].count - a[1].count).map(([method, entry]) => {
        const before = previous && previous.get(method);
        const elapsed = previous ? (now - previous.at) / 1000 : 0;
        const rate = before && elapsed > 0 ? (entry.count - before.count) / elapsed : null;
        const recent = before && entry.durations > before.durations
          ? (entry.seconds - before.seconds) / (entry.durations - before.durations) : null;
        return h('tr', {}, h('td', { class: 'mono' }, method), h('td', { class: 'number' }, String(entry.count)),
          h('td', { class: 'number' }, rate === null ? '…' : rate.toFixed(2)),
          h('td', { class: 'number' }, entry.durations ? `${((entry.seconds / entry.durations) * 1000).toFixed(1)} ms` : '–'),
          h('td', { class: 'number' }, recent === null ? '–' : `${(recent * 1000).toFixed(1)} ms`),
          h('td', { class: 'number' }, String(entry.errors)));
      });
      requestsBody.replaceChildren(...rows);
      previous = new Map([...byMethod.entries()].map(([k, v]) => [k, { ...v }]));
      previous.at = now;
      message.className = 'hint';
      message.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every 5 s.`;
    } catch (error) {
      message.className = 'error';
      message.textContent = describeError(error, 'reading the server\'s health and metrics', session.role);
    }
  }

  main.append(h('h1', {}, 'Operations'), message,
    h('div', { class: 'cards' },
      h('section', { 'aria-labelledby': 'health-title' }, h('h2', { id: 'health-title' }, 'Health'), health),
      h('section', { 'aria-labelledby': 'tasks-title' }, h('h2', { id: 'tasks-title' }, 'Tasks'), figures, h('h3', {}, 'Running now'), running)),
    h('section', { 'aria-labelledby': 'requests-title' }, h('h2', { id: 'requests-title' }, 'Requests'),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {},
        ['Method', 'Total', 'Per second', 'Mean latency', 'Recent latency', 'Errors'].map((c) => h('th', { scope: 'col' }, c)))), requestsBody))),
    keysSection(session));
  poll();
  const timer = setInterval(() => { if (document.body.contains(message)) poll(); else clearInterval(timer); }, 5000);
}

function keysSection(session) {
  const body = h('tbody');
  const status = h('p', { role: 'status', class: 'hint' });
  const secretArea = h('div', { class: 'secret', hidden: true });
  const role = h('select', { name: 'role' }, ['viewer', 'researcher', 'admin'].map((r) => h('option', { value: r, selected: r === 'researcher' }, r)));
  const name = h('input', { type: 'text', name: 'name', maxlength: 100 });

  async function load() {
    try {
      const { keys } = await session.api.call('ares/listKeys', {});
      body.replaceChildren(...keys.map((key) => h('tr', { dataset: { keyId: key.id } },
        h('td', { class: 'mono' }, key.id), h('td', {}, key.name), h('td', {}, key.role), h('td', {}, formatTime(key.createdAt)),
        h('td', {}, key.revokedAt ? `revoked ${formatTime(key.revokedAt)}` : key.id === session.identity.id ? 'active (yours)' : 'active'),
        h('td', {}, key.revokedAt || key.id === session.identity.id ? null : h('button', { type: 'button', class: 'danger small', onclick: async () => {
          if (!window.confirm(`Revoke key ${key.id} (${key.name})? Clients using it are refused from their next request.`)) return;
          try {
            await session.api.call('ares/revokeKey', { id: key.id });
            status.className = 'ok';
            status.textContent = `Key ${key.id} revoked.`;
            load();
          } catch (error) {
            status.className = 'error';
            status.textContent = describeError(error, 'revoking the key', session.role);
          }
        } }, 'Revoke')))));
    } catch (error) {
      status.className = 'error';
      status.textContent = describeError(error, 'listing keys', session.role);
    }
  }

  const form = h('form', { class: 'filters', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const created = await session.api.call('ares/createKey', { role: role.value, name: name.value });
      const secret = h('code', { class: 'mono' }, created.secret);
      secretArea.replaceChildren(
        h('p', {}, h('strong', {}, `New ${created.key.role} key ${created.key.id}. `), 'Copy it now: it is shown this once and never stored.'),
        secret,
        h('button', { type: 'button', onclick: () => { secretArea.hidden = true; secretArea.replaceChildren(); } }, 'I have copied it'));
      secretArea.hidden = false;
      name.value = '';
      load();
    } catch (error) {
      status.className = 'error';
      status.textContent = describeError(error, 'creating a key', session.role);
    }
  } }, field('Role', role), field('Name', name), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create key')));
  load();
  return h('section', { 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title' }, 'API keys'), form, secretArea, status,
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {},
      ['Id', 'Name', 'Role', 'Created', 'State', ''].map((c) => h('th', { scope: 'col' }, c)))), body)));
}
