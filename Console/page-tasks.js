// Tasks: the caller's tasks (an admin's: everyone's), filtered by state, context and time,
// a page at a time; open or cancel any of them.
import { h, field, formatTime, isTerminal, stateBadge } from './dom.js';
import { describeError } from './api.js';

const pageSize = 20;

export function renderTasks(main, session) {
  const state = h('select', { name: 'state' },
    h('option', { value: '' }, 'any state'),
    ['SUBMITTED', 'WORKING', 'COMPLETED', 'FAILED', 'CANCELED'].map((s) => h('option', { value: `TASK_STATE_${s}` }, s.toLowerCase())));
  const context = h('input', { type: 'text', name: 'context', placeholder: 'ctx-…' });
  const after = h('input', { type: 'datetime-local', name: 'after' });
  const message = h('p', { role: 'status', class: 'hint' });
  const body = h('tbody');
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  const pageInfo = h('span', { class: 'hint' });
  const tokens = [''];
  let page = 0;

  async function load() {
    message.className = 'hint';
    message.textContent = 'Loading…';
    const params = { pageSize, pageToken: tokens[page], historyLength: 1 };
    if (state.value) params.status = state.value;
    if (context.value.trim()) params.contextId = context.value.trim();
    if (after.value) params.statusTimestampAfter = new Date(after.value).toISOString();
    try {
      const result = await session.api.call('ListTasks', params);
      body.replaceChildren(...(result.tasks || []).map((task) => row(task)));
      if (!(result.tasks || []).length) body.append(h('tr', {}, h('td', { colspan: 5 }, 'No tasks match.')));
      tokens[page + 1] = result.nextPageToken || '';
      previous.disabled = page === 0;
      next.disabled = !result.nextPageToken;
      const first = page * pageSize + 1;
      pageInfo.textContent = result.totalSize ? `${first}–${first + (result.tasks || []).length - 1} of ${result.totalSize}` : '';
      message.textContent = '';
    } catch (error) {
      message.className = 'error';
      message.textContent = describeError(error, 'loading tasks', session.role);
    }
  }

  function row(task) {
    const question = task.history && task.history[0] ? task.history[0].parts.map((p) => p.text || '').join(' ') : task.id;
    const cancel = session.can('submitTasks') && !isTerminal(task.status.state)
      ? h('button', { type: 'button', class: 'danger small', onclick: async (event) => {
        event.currentTarget.disabled = true;
        try {
          await session.api.call('CancelTask', { id: task.id });
          await load();
        } catch (error) {
          message.className = 'error';
          message.textContent = describeError(error, 'canceling the task', session.role);
        }
      } }, 'Cancel') : null;
    return h('tr', { dataset: { taskId: task.id } },
      h('td', {}, h('a', { href: `#/task/${encodeURIComponent(task.id)}` }, question)),
      h('td', {}, stateBadge(task.status.state)),
      h('td', {}, formatTime(task.status.timestamp)),
      h('td', { class: 'mono' }, task.contextId),
      h('td', {}, cancel));
  }

  previous.addEventListener('click', () => { page = Math.max(0, page - 1); load(); });
  next.addEventListener('click', () => { page += 1; load(); });
  const filters = h('form', { class: 'filters', onsubmit: (event) => { event.preventDefault(); page = 0; tokens.length = 1; load(); } },
    field('State', state), field('Context', context), field('Updated after', after),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters')));
  main.append(h('h1', {}, 'Tasks'), filters, message,
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'offscreen' }, 'Tasks, newest first'),
      h('thead', {}, h('tr', {}, ['Question', 'State', 'Updated', 'Context', ''].map((c) => h('th', { scope: 'col' }, c)))),
      body)),
    h('div', { class: 'pager' }, previous, pageInfo, next));
  load();
}
