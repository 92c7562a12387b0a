// The report of a finished task: the Markdown rendered safely, each citation one click from
// the passage it quotes (the quoted sentences highlighted, with the document, heading path
// and source), the quality panel, and copy / download.
import { h, clear, percent } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { eventCase, passageSource } from './timeline.js';

/** The report artifact's Markdown and JSON parts from an A2A task. */
export function reportParts(task) {
  const artifact = (task.artifacts || []).find((a) => a.artifactId === 'report');
  if (!artifact) return null;
  const markdown = (artifact.parts || []).find((p) => typeof p.text === 'string');
  const data = (artifact.parts || []).find((p) => p.data);
  return { markdown: markdown ? markdown.text : '', json: data ? data.data : null };
}

/** What the recorded events add: the cited passages (with heading paths), the evidence
 * sentences quoted from each, and the report's notes. */
export function citationSources(records) {
  let report = null;
  const evidence = [];
  for (const record of records) {
    const [name, payload] = eventCase(record.event);
    if (name === 'evidenceFound') evidence.push(...(payload.evidence || []));
    if (name === 'synthesized') report = payload._0 || report;
    if (name === 'citationsVerified') report = payload.report || report;
  }
  return { report, evidence };
}

/** Code-point ranges of the passage's text that the report quotes. */
export function quotedRanges(passage, evidence, reportText) {
  const characters = Array.from(passage.text || '');
  const ranges = [];
  for (const item of evidence) {
    if (!item.passage || item.passage.chunkId !== passage.chunkId) continue;
    if (reportText && !reportText.includes(item.sentence)) continue;
    let start = item.start - passage.start;
    let end = item.end - passage.start;
    if (!(start >= 0 && end <= characters.length && characters.slice(start, end).join('') === item.sentence)) {
      // Offsets that do not match the text: find the sentence instead.
      const at = characters.join('').indexOf(item.sentence);
      if (at < 0) continue;
      start = Array.from(characters.join('').slice(0, at)).length;
      end = start + Array.from(item.sentence).length;
    }
    ranges.push([start, end]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const range of ranges) {
    const previous = merged[merged.length - 1];
    if (previous && range[0] <= previous[1]) previous[1] = Math.max(previous[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}

/** The passage as text with <mark> around the quoted ranges. */
export function highlightedPassage(passage, ranges) {
  const characters = Array.from(passage.text || '');
  const nodes = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) nodes.push(characters.slice(at, start).join(''));
    nodes.push(h('mark', {}, characters.slice(start, end).join('')));
    at = end;
  }
  if (at < characters.length) nodes.push(characters.slice(at).join(''));
  return h('div', { class: 'passage-text' }, nodes);
}

function passageDialog() {
  let dialog = document.getElementById('passage-dialog');
  if (!dialog) {
    dialog = h('dialog', { id: 'passage-dialog', 'aria-labelledby': 'passage-title' });
    document.body.append(dialog);
    dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
  }
  return dialog;
}

export function openPassage(number, citation, ranges, opener) {
  const dialog = passageDialog();
  const passage = citation.passage;
  const source = passageSource(passage);
  const sourceNode = /^https?:\/\//i.test(source)
    ? h('a', { href: source, rel: 'noopener noreferrer', target: '_blank' }, source)
    : h('a', { href: `#/knowledge?q=${encodeURIComponent(passage.title || source)}` }, source);
  clear(dialog).append(
    h('div', { class: 'dialog-head' },
      h('h2', { id: 'passage-title' }, `[${number}] ${passage.title || source}`),
      h('button', { type: 'button', class: 'close', onclick: () => dialog.close() }, 'Close')),
    h('p', { class: 'heading-path' }, (passage.headingPath || []).join(' › ')),
    h('p', { class: 'source-line' }, 'Source: ', sourceNode, ` (passage ${passage.chunkId})`),
    ranges.length ? h('p', { class: 'hint' }, 'Highlighted: the sentences the report quotes.') : h('p', { class: 'hint' }, 'The report draws on this passage.'),
    highlightedPassage(passage, ranges));
  dialog.addEventListener('close', () => opener && opener.focus(), { once: true });
  dialog.showModal();
  dialog.querySelector('button.close').focus();
}

function unansweredText(json, quality) {
  const count = quality.unansweredSubQuestions;
  if (count === undefined || count === null) return '–';
  const sections = (json && json.report && json.report.sections) || [];
  if (count === 0) return `none of ${sections.length}`;
  const titles = sections.filter((s) => (s.text || '').startsWith('The knowledge base does not say')).map((s) => s.title);
  return `${count} of ${sections.length}` + (titles.length ? `: ${titles.join('; ')}` : '');
}

function qualityPanel(json, report) {
  const quality = (json && json.quality) || {};
  const contradictions = quality.contradictions || [];
  const notes = (report && report.notes) || [];
  return h('section', { class: 'quality', 'aria-labelledby': 'quality-title' },
    h('h2', { id: 'quality-title' }, 'Quality'),
    h('dl', {},
      h('dt', {}, 'Coverage'), h('dd', {}, percent(quality.coverage)),
      h('dt', {}, 'Supported sentences'), h('dd', {}, String(quality.supportedSentences ?? '–')),
      h('dt', {}, 'Unsupported (removed)'), h('dd', {}, String(quality.unsupportedSentences ?? '–')),
      h('dt', {}, 'Rounds'), h('dd', {}, String(quality.rounds ?? '–')),
      // Sub-questions the knowledge base does not answer: the report says so in their sections
      // rather than padding them; here they are counted and named.
      h('dt', {}, 'Unanswered sub-questions'), h('dd', { class: 'unanswered' }, unansweredText(json, quality)),
      h('dt', {}, 'Contradiction score'), h('dd', {}, percent(quality.contradictionScore))),
    contradictions.length ? h('div', {}, h('h3', {}, 'Contradictions'), h('ul', { class: 'contradictions' }, contradictions.map((c) =>
      h('li', {}, h('p', {}, c.reason), h('ul', {}, (c.sentences || []).map((s, i) => h('li', {}, h('q', {}, s),
        (c.sources || [])[i] ? h('span', { class: 'source' }, ` — ${c.sources[i]}`) : null))))))) : null,
    notes.length ? h('div', {}, h('h3', {}, 'Notes'), h('ul', { class: 'notes' }, notes.map((n) => h('li', {}, n)))) : null);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** The report section of a completed task. */
export function renderReport(task, records) {
  const parts = reportParts(task);
  if (!parts) return h('p', {}, 'This task has no report.');
  const { report, evidence } = citationSources(records);
  const citations = new Map(((report && report.citations) || []).map((c) => [c.index, c]));
  for (const c of (parts.json && parts.json.citations) || []) {
    if (!citations.has(c.index)) citations.set(c.index, { index: c.index, passage: { chunkId: c.chunkId, source: c.source, title: c.title, text: c.text, headingPath: [], start: 0 } });
  }
  const onCite = (number, opener) => {
    const citation = citations.get(number);
    if (citation) openPassage(number, citation, quotedRanges(citation.passage, evidence, parts.markdown), opener);
  };
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = h('button', { type: 'button', onclick: async () => {
    status.textContent = (await copyText(parts.markdown)) ? 'Markdown copied.' : 'Copying failed: select the text and copy it yourself.';
  } }, 'Copy as Markdown');
  const download = h('button', { type: 'button', onclick: () => {
    const blob = new Blob([JSON.stringify(parts.json, null, 2)], { type: 'application/json' });
    const link = h('a', { download: `${task.id}.json` });
    link.setAttribute('href', URL.createObjectURL(blob));
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } }, 'Download JSON');
  return h('div', { class: 'report-wrap' },
    h('article', { class: 'report', 'aria-label': 'Report' }, renderMarkdown(parts.markdown, { onCite })),
    h('aside', {}, h('div', { class: 'actions' }, copy, download, status), qualityPanel(parts.json, report)));
}
