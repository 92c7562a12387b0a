// One research task followed live: its recorded steps as they happen (the A2A stream says a
// step was recorded; ares/taskEvents says what it was), reconnecting by itself when the
// connection drops, then its report, and whether its hash chain verifies.
import { h, clear, isTerminal, stateBadge } from './dom.js';
import { APIError, describeError } from './api.js';
import { stepItem, eventCase } from './timeline.js';
import { renderReport } from './report.js';

const endSteps = new Set(['completed', 'failed', 'canceled']);

export class TaskView {
  /** Either `taskId` (follow an existing task) or `start` (a function that opens the
   * SendStreamingMessage stream of a new one). */
  constructor(session, { taskId, start, question }) {
    this.session = session;
    this.api = session.api;
    this.id = taskId || null;
    this.start = start;
    this.records = [];
    this.context = { subQuestions: {} };
    this.lastVersion = 0;
    this.ended = false;
    this.stopped = false;
    this.controller = new AbortController();
    this.catchingUp = null;
    this.catchUpAgain = false;

    this.title = h('h2', { class: 'question' }, question || '');
    this.badge = h('span', {}, stateBadge('TASK_STATE_SUBMITTED'));
    this.idLine = h('p', { class: 'task-id' }, this.id ? `Task ${this.id}` : 'Submitting…');
    this.liveLine = h('p', { class: 'live', role: 'status', 'aria-live': 'polite' });
    this.cancelButton = h('button', { type: 'button', class: 'danger', hidden: true, onclick: () => this.cancel() }, 'Cancel task');
    this.steps = h('ol', { class: 'timeline', 'aria-label': 'Recorded steps' });
    this.reportArea = h('section', { class: 'report-area', 'aria-label': 'Report' });
    this.chainLine = h('p', { class: 'chain' });
    this.element = h('div', { class: 'task-view' },
      h('div', { class: 'task-head' }, this.title, h('div', { class: 'task-meta' }, this.badge, this.idLine, this.cancelButton)),
      this.liveLine,
      h('div', { class: 'task-body' },
        h('section', { class: 'steps', 'aria-labelledby': 'steps-title' }, h('h2', { id: 'steps-title' }, 'Steps'), this.steps, this.chainLine),
        this.reportArea));
  }

  stop() {
    this.stopped = true;
    this.controller.abort();
  }

  setState(state) {
    this.state = state;
    clear(this.badge).append(stateBadge(state));
    const mayCancel = this.session.can('submitTasks') && !isTerminal(state);
    this.cancelButton.hidden = !mayCancel || !this.id;
  }

  async run() {
    try {
      if (this.start) {
        try {
          await this.consume(this.start(this.controller.signal), true);
        } catch (error) {
          // A connection lost after the task was accepted is followed up below, like any other.
          if (!(this.id && error instanceof APIError && error.kind === 'network')) throw error;
        }
      } else {
        await this.catchUp(false);
      }
      let delay = 1;
      while (!this.ended && !this.stopped) {
        try {
          await this.consume(this.api.stream('SubscribeToTask', { id: this.id }, this.controller.signal), true);
          delay = 1;
          if (!this.ended) await this.catchUp(false);
        } catch (error) {
          if (this.stopped) return;
          if (error instanceof APIError && error.kind === 'ended') {
            await this.catchUp(false);
            if (!this.ended) await this.finish();
            return;
          }
          if (!(error instanceof APIError) || (error.kind !== 'network' && error.kind !== 'busy' && error.kind !== 'server')) throw error;
          this.liveLine.textContent = `${describeError(error, 'following the task')} Reconnecting in ${delay} s…`;
          this.liveLine.classList.add('warn');
          await new Promise((resolve) => setTimeout(resolve, delay * 1000));
          delay = Math.min(delay * 2, 10);
          try {
            await this.catchUp(false);
            this.liveLine.classList.remove('warn');
            this.liveLine.textContent = 'Reconnected.';
          } catch (again) {
            if (!(again instanceof APIError) || again.kind !== 'network') throw again;
          }
        }
      }
    } catch (error) {
      if (this.stopped || (error && error.name === 'AbortError')) return;
      this.liveLine.classList.add('error');
      this.liveLine.textContent = describeError(error, this.id ? 'following the task' : 'submitting the question', this.session.role);
      if (error instanceof APIError && error.kind === 'unauthenticated') this.session.signOut(this.liveLine.textContent);
    }
  }

  /** Reads a task stream: the task first, then a status update per recorded step. */
  async consume(stream, live) {
    for await (const result of stream) {
      if (this.stopped) return;
      if (result.task) {
        const task = result.task;
        if (!this.id) {
          this.id = task.id;
          this.idLine.textContent = `Task ${task.id}`;
          this.element.dataset.taskId = task.id;
          this.session.taskStarted(task.id);
        }
        if (!this.title.textContent && task.history && task.history[0]) this.title.textContent = task.history[0].parts.map((p) => p.text || '').join(' ');
        this.setState(task.status.state);
        if (!this.liveLine.classList.contains('error')) this.liveLine.textContent = 'Following the task live.';
        this.liveLine.classList.remove('warn');
        await this.catchUp(live);
      } else if (result.statusUpdate) {
        const update = result.statusUpdate;
        this.setState(update.status.state);
        const message = update.status.message && update.status.message.parts && update.status.message.parts[0];
        if (message && message.text && !isTerminal(update.status.state)) this.liveLine.textContent = message.text;
        await this.catchUp(live);
      }
      if (this.ended) return;
    }
  }

  /** Fetches and shows the steps after the last one shown. Calls while one runs are merged
   * into one more fetch after it. */
  async catchUp(live) {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        const result = await this.api.call('ares/taskEvents', { id: this.id, afterVersion: this.lastVersion });
        this.show(result.events || [], live);
      } while (this.catchUpAgain && !this.ended);
    })();
    try {
      await this.catchingUp;
    } finally {
      this.catchingUp = null;
    }
    if (this.ended && !this.finished) await this.finish();
  }

  show(records, live) {
    for (const record of records) {
      if (record.version <= this.lastVersion) continue;
      this.lastVersion = record.version;
      this.records.push(record);
      const item = stepItem(record, this.context);
      const [name, payload] = eventCase(record.event);
      if (name === 'submitted' && !this.title.textContent) this.title.textContent = payload.question;
      this.steps.append(item);
      if (live) {
        // How long after the server recorded it the step is on screen (same machine clock on
        // loopback): kept on the element for anyone measuring the console.
        item.dataset.live = 'true';
        item.dataset.latencyMs = String(Math.max(0, Date.now() - Date.parse(record.recordedAt)));
      }
      if (endSteps.has(name)) this.ended = true;
    }
  }

  async finish() {
    this.finished = true;
    this.cancelButton.hidden = true;
    try {
      const task = await this.api.call('GetTask', { id: this.id });
      this.setState(task.status.state);
      const message = task.status.message && task.status.message.parts && task.status.message.parts[0];
      this.liveLine.classList.remove('warn');
      this.liveLine.textContent = task.status.state === 'TASK_STATE_COMPLETED' ? 'The task is complete.' : `The task ended: ${message ? message.text : task.status.state}`;
      if (task.status.state === 'TASK_STATE_COMPLETED') clear(this.reportArea).append(h('h2', {}, 'Report'), renderReport(task, this.records));
      const chain = await this.api.call('ares/verifyTask', { id: this.id });
      this.chainLine.className = `chain ${chain.intact ? 'ok' : 'error'}`;
      this.chainLine.textContent = chain.intact
        ? `Record verified: ${chain.events} events, hash chain intact (last hash ${chain.lastHash.slice(0, 12)}…).`
        : `Record damaged: ${chain.breaks.map((b) => `event ${b.version}: ${b.problem}`).join('; ')}`;
    } catch (error) {
      this.liveLine.classList.add('error');
      this.liveLine.textContent = describeError(error, 'loading the report', this.session.role);
    }
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      const task = await this.api.call('CancelTask', { id: this.id });
      this.setState(task.status.state);
      this.liveLine.textContent = 'The task was canceled.';
      await this.catchUp(false);
    } catch (error) {
      this.liveLine.classList.add('error');
      this.liveLine.textContent = describeError(error, 'canceling the task', this.session.role);
    } finally {
      this.cancelButton.disabled = false;
    }
  }
}
