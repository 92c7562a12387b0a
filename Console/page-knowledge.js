// Knowledge: search in the three modes side by side, the documents with their passage
// counts, and (admins) documents uploaded to be ingested, with progress.
import { h, field, formatTime, append } from './dom.js';
import { describeError } from './api.js';

const modes = [['hybrid', 'Hybrid (keywords + meaning)'], ['keyword', 'Keyword (BM25)'], ['vector', 'Vector (meaning)']];
const documentPage = 25;

function resultItem(result) {
  return h('li', { class: 'result' },
    h('div', { class: 'result-head' }, h('strong', {}, (result.headingPath || []).join(' › ') || result.title),
      h('span', { class: 'score' }, `score ${Number(result.score || 0).toFixed(3)}`)),
    h('p', { class: 'source' }, result.source),
    h('p', { class: 'passage-text' }, result.text.length > 600 ? `${result.text.slice(0, 600)}…` : result.text));
}

export function renderKnowledge(main, session, query) {
  const input = h('input', { type: 'search', name: 'q', value: query || '', required: true });
  const limit = h('select', { name: 'limit' }, [3, 5, 10, 20].map((n) => h('option', { value: n, selected: n === 5 }, String(n))));
  const message = h('p', { role: 'status', class: 'hint' });
  const columns = h('div', { class: 'columns' }, modes.map(([mode, title]) =>
    h('section', { class: 'column', dataset: { mode }, 'aria-label': title }, h('h3', {}, title), h('ol', { class: 'results' }))));

  async function search() {
    const text = input.value.trim();
    if (!text) return;
    message.className = 'hint';
    message.textContent = 'Searching…';
    const outcomes = await Promise.allSettled(modes.map(([mode]) => session.api.call('ares/search', { query: text, mode, limit: Number(limit.value) })));
    const problems = [];
    outcomes.forEach((outcome, index) => {
      const list = columns.children[index].querySelector('ol');
      if (outcome.status === 'fulfilled') {
        const results = outcome.value.results || [];
        list.replaceChildren(...results.map(resultItem));
        if (!results.length) list.append(h('li', { class: 'hint' }, 'Nothing found.'));
      } else {
        list.replaceChildren();
        problems.push(describeError(outcome.reason, `searching (${modes[index][0]})`, session.role));
      }
    });
    message.className = problems.length ? 'error' : 'hint';
    message.textContent = problems.join(' ');
  }

  const docsBody = h('tbody');
  const docsInfo = h('span', { class: 'hint' });
  const docsMessage = h('p', { role: 'status', class: 'hint' });
  const previous = h('button', { type: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', disabled: true }, 'Next page');
  let offset = 0;
  async function loadDocuments() {
    try {
      const page = await session.api.call('ares/listDocuments', { offset, limit: documentPage });
      docsBody.replaceChildren(...page.documents.map((d) => h('tr', {},
        h('td', {}, d.source), h('td', {}, d.title), h('td', { class: 'number' }, String(d.passages)),
        h('td', { class: 'number' }, `${Math.max(1, Math.round(d.byteSize / 1024))} kB`), h('td', {}, formatTime(d.ingestedAt)))));
      if (!page.documents.length) docsBody.append(h('tr', {}, h('td', { colspan: 5 }, 'The knowledge base is empty.')));
      docsInfo.textContent = page.total ? `${offset + 1}–${offset + page.documents.length} of ${page.total} documents` : '';
      previous.disabled = offset === 0;
      next.disabled = offset + page.documents.length >= page.total;
      docsMessage.textContent = '';
    } catch (error) {
      docsMessage.className = 'error';
      docsMessage.textContent = describeError(error, 'listing documents', session.role);
    }
  }
  previous.addEventListener('click', () => { offset = Math.max(0, offset - documentPage); loadDocuments(); });
  next.addEventListener('click', () => { offset += documentPage; loadDocuments(); });

  append(main, [h('h1', {}, 'Knowledge'),
    h('form', { class: 'search', role: 'search', onsubmit: (event) => { event.preventDefault(); search(); } },
      field('Search the knowledge base', input), field('Results per mode', limit),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search'))),
    message, columns,
    session.can('ingest') ? uploadSection(session, loadDocuments) : null,
    h('section', { 'aria-labelledby': 'docs-title' }, h('h2', { id: 'docs-title' }, 'Documents'), docsMessage,
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Source', 'Title', 'Passages', 'Size', 'Ingested'].map((c) => h('th', { scope: 'col' }, c)))), docsBody)),
      h('div', { class: 'pager' }, previous, docsInfo, next))]);
  loadDocuments();
  if (query) search();
}

function uploadSection(session, reload) {
  const files = h('input', { type: 'file', name: 'files', multiple: true, accept: '.md,.markdown,.txt,.text,.html,.htm' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { role: 'status', class: 'hint' });
  const button = h('button', { type: 'submit' }, 'Upload and ingest');
  return h('section', { 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Add documents'),
    h('form', { class: 'upload', onsubmit: async (event) => {
      event.preventDefault();
      const chosen = Array.from(files.files || []);
      if (!chosen.length) {
        status.className = 'error';
        status.textContent = 'Choose one or more Markdown, text or HTML files first.';
        return;
      }
      button.disabled = true;
      progress.hidden = false;
      progress.max = chosen.length;
      progress.value = 0;
      let added = 0;
      let passages = 0;
      const problems = [];
      // One file per request: progress moves per file, and one bad file does not stop the rest.
      for (const [index, file] of chosen.entries()) {
        status.className = 'hint';
        status.textContent = `Ingesting ${file.name} (${index + 1} of ${chosen.length})…`;
        try {
          const text = await file.text();
          const summary = await session.api.call('ares/uploadDocuments', { documents: [{ name: file.name, text }] });
          added += summary.added + summary.updated;
          passages += summary.chunksAdded;
          for (const skipped of summary.skipped || []) problems.push(`${file.name}: ${skipped.reason}`);
        } catch (error) {
          problems.push(`${file.name}: ${describeError(error, 'uploading', session.role)}`);
        }
        progress.value = index + 1;
      }
      status.className = problems.length ? 'error' : 'ok';
      status.textContent = `${added} document${added === 1 ? '' : 's'} ingested, ${passages} passages added.${problems.length ? ` Problems: ${problems.join(' ')}` : ''}`;
      button.disabled = false;
      files.value = '';
      reload();
    } }, field('Files (Markdown, text or HTML)', files), h('div', { class: 'actions' }, button), progress, status));
}
