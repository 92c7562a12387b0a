// One recorded step of a research task as a person reads it: the plan and its sub-questions,
// each researcher's evidence (with where it came from), the evaluator's critique, extra
// rounds, the report being written and its citations checked.
import { h, percent, formatTime } from './dom.js';

/** The one key of a Swift enum case's JSON ({"planned": {...}}) and its payload. */
export function eventCase(event) {
  const name = Object.keys(event || {})[0] || 'unknown';
  return [name, (event || {})[name] || {}];
}

export const stepTitles = {
  submitted: 'Question received',
  planned: 'Plan',
  subQuestionStarted: 'Researching',
  evidenceFound: 'Evidence found',
  critiqueIssued: 'Evaluator critique',
  revised: 'Another round',
  synthesized: 'Report written',
  citationsVerified: 'Citations checked',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
};

export function passageSource(passage) {
  return (passage && (passage.displaySource || passage.source)) || '';
}

function headingPath(passage) {
  const path = (passage && passage.headingPath) || [];
  return path.length ? path.join(' › ') : (passage && passage.title) || '';
}

/** The body of one step; `context.subQuestions` maps ids to their text. */
function stepBody(name, payload, context) {
  switch (name) {
    case 'submitted':
      return h('p', {}, payload.question);
    case 'planned': {
      const plan = payload._0 || {};
      for (const sub of plan.subQuestions || []) context.subQuestions[sub.id] = sub.text;
      return [
        plan.reusedFromTask ? h('p', { class: 'note' }, `Reused from task ${plan.reusedFromTask}`) : null,
        h('ol', { class: 'subquestions' }, (plan.subQuestions || []).map((sub) => h('li', {}, h('span', { class: 'sq' }, sub.id), ' ', sub.text,
          sub.queries && sub.queries.length && (sub.queries.length > 1 || sub.queries[0] !== sub.text)
            ? h('span', { class: 'queries' }, ` — searches: ${sub.queries.join('; ')}`) : null))),
      ];
    }
    case 'subQuestionStarted':
      return h('p', {}, h('span', { class: 'sq' }, payload.subQuestionID), ` ${context.subQuestions[payload.subQuestionID] || ''} (round ${payload.round})`);
    case 'evidenceFound': {
      const evidence = payload.evidence || [];
      return [
        h('p', {}, h('span', { class: 'sq' }, payload.subQuestionID), ` round ${payload.round}: ${evidence.length} sentence${evidence.length === 1 ? '' : 's'}`),
        h('ul', { class: 'evidence' }, evidence.map((item) => h('li', {},
          h('q', {}, item.sentence), ' ',
          h('span', { class: 'source' }, `${headingPath(item.passage)} — ${passageSource(item.passage)}`),
          ' ', h('span', { class: 'score' }, `score ${Number(item.score || 0).toFixed(2)}`)))),
        (payload.notes || []).map((note) => h('p', { class: 'note' }, note)),
      ];
    }
    case 'critiqueIssued': {
      const critique = payload.critique || {};
      const revisions = critique.revisions || [];
      return [
        h('p', {}, `Round ${payload.round}: coverage ${percent(critique.coverage)}`,
          revisions.length ? ` — researching again: ${revisions.map((r) => r.id).join(', ')}` : ' — satisfied'),
        (critique.notes || []).length ? h('ul', { class: 'notes' }, critique.notes.map((note) => h('li', {}, note))) : null,
        (critique.contradictions || []).length
          ? h('p', { class: 'warn' }, `${critique.contradictions.length} contradiction${critique.contradictions.length === 1 ? '' : 's'} between sources`) : null,
      ];
    }
    case 'revised':
      return h('ul', {}, (payload.subQuestions || []).map((sub) => h('li', {}, h('span', { class: 'sq' }, sub.id), ` ${sub.text}`,
        sub.queries && sub.queries.length ? h('span', { class: 'queries' }, ` — searches: ${sub.queries.join('; ')}`) : null)));
    case 'synthesized': {
      const report = payload._0 || {};
      return h('p', {}, `${(report.sections || []).length} sections, ${(report.citations || []).length} sources cited`);
    }
    case 'citationsVerified': {
      const check = payload._0 || {};
      return [
        h('p', {}, `${check.supportedSentences} sentences supported by their sources, ${check.unsupportedSentences} removed`),
        (check.flagged || []).length ? h('ul', { class: 'flagged' }, check.flagged.map((sentence) => h('li', {}, sentence))) : null,
      ];
    }
    case 'failed':
    case 'canceled':
      return h('p', {}, payload.reason);
    default:
      return null;
  }
}

/** A list item for a recorded step ({version, type, recordedAt, event}). */
export function stepItem(record, context) {
  const [name, payload] = eventCase(record.event);
  return h('li', { class: `step step-${name}`, dataset: { step: name, version: String(record.version) } },
    h('div', { class: 'step-head' },
      h('span', { class: 'step-title' }, stepTitles[name] || record.type),
      h('time', { datetime: record.recordedAt, title: formatTime(record.recordedAt) }, new Date(record.recordedAt).toLocaleTimeString())),
    stepBody(name, payload, context));
}
