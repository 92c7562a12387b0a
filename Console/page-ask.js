// Ask: type a question, watch the task's steps arrive, read the report. Also the page of
// any one task (#/task/<id>), followed live while it runs.
import { h, field, append } from './dom.js';
import { TaskView } from './taskview.js';

export function renderAsk(main, session) {
  const question = h('textarea', { name: 'question', rows: 3, maxlength: 4000, required: true });
  const submit = h('button', { type: 'submit' }, 'Research');
  const area = h('div', { class: 'ask-result' });
  const mayAsk = session.can('submitTasks');
  const form = h('form', { class: 'ask', onsubmit: (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    session.stopView();
    const params = { message: { messageId: `console-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, role: 'ROLE_USER', parts: [{ text }] } };
    const view = new TaskView(session, { question: text, start: (signal) => session.api.stream('SendStreamingMessage', params, signal) });
    session.view = view;
    area.replaceChildren(view.element);
    view.run();
  } },
  field('Question', question, 'Ask about the documents in the knowledge base; every claim in the report cites its source.'),
  h('div', { class: 'actions' }, submit));
  if (!mayAsk) {
    question.disabled = true;
    submit.disabled = true;
  }
  append(main, [h('h1', {}, 'Ask'),
    mayAsk ? null : h('p', { class: 'warn' }, `Your key has the ${session.role} role, which may read tasks and search but not start research.`),
    form, area]);
}

export function renderTask(main, session, id) {
  const view = new TaskView(session, { taskId: id });
  session.view = view;
  main.append(h('h1', {}, 'Task'), view.element);
  view.run();
}
