// A small Markdown renderer for reports that builds DOM nodes and sets only textContent:
// headings, paragraphs, lists, block quotes, fenced code, emphasis, inline code, links
// (http and https only) and citation markers [n], which become buttons. Nothing a document
// says is ever parsed as HTML.
import { h } from './dom.js';

/** Renders `markdown` into a DocumentFragment; `onCite(n, button)` opens citation n. */
export function renderMarkdown(markdown, { onCite } = {}) {
  const fragment = document.createDocumentFragment();
  const lines = String(markdown || '').replace(/\r\n?/g, '\n').split('\n');
  let index = 0;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) fragment.append(h('p', {}, inline(paragraph.join(' '), onCite)));
    paragraph = [];
  };
  while (index < lines.length) {
    const line = lines[index];
    const fence = line.match(/^\s*(```|~~~)/);
    if (fence) {
      flush();
      const code = [];
      index += 1;
      while (index < lines.length && !lines[index].trimStart().startsWith(fence[1])) code.push(lines[index++]);
      index += 1;
      fragment.append(h('pre', {}, h('code', {}, code.join('\n'))));
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      flush();
      // Report headings sit under the page's own h1/h2: shift them down two levels.
      const level = Math.min(6, heading[1].length + 1);
      fragment.append(h(`h${level}`, {}, inline(heading[2].replace(/\s+#+\s*$/, ''), onCite)));
      index += 1;
      continue;
    }
    const listItem = /^\s*([-*+]|\d{1,9}[.)])\s+/;
    if (listItem.test(line)) {
      flush();
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? 'ol' : 'ul');
      while (index < lines.length && listItem.test(lines[index])) {
        let text = lines[index].replace(listItem, '');
        index += 1;
        while (index < lines.length && /^\s{2,}\S/.test(lines[index]) && !listItem.test(lines[index])) text += ` ${lines[index++].trim()}`;
        list.append(h('li', {}, inline(text, onCite)));
      }
      fragment.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      flush();
      const quoted = [];
      while (index < lines.length && /^\s*>/.test(lines[index])) quoted.push(lines[index++].replace(/^\s*>\s?/, ''));
      fragment.append(h('blockquote', {}, renderMarkdown(quoted.join('\n'), { onCite })));
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      fragment.append(h('hr'));
      index += 1;
      continue;
    }
    if (line.trim() === '') flush();
    else paragraph.push(line.trim());
    index += 1;
  }
  flush();
  return fragment;
}

const inlinePattern = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|\[(\d{1,4})\]|\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>/g;

/** Inline Markdown of one block as nodes; anything not recognised stays text. */
export function inline(text, onCite) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(inlinePattern)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    if (match[1]) nodes.push(h('code', {}, match[2]));
    else if (match[3] || match[4]) nodes.push(h('strong', {}, inline(match[3] || match[4], onCite)));
    else if (match[5]) nodes.push(h('em', {}, inline(match[5], onCite)));
    else if (match[6]) nodes.push(citation(Number(match[6]), onCite));
    else if (match[7]) nodes.push(link(match[8], inline(match[7], onCite)));
    else if (match[9]) nodes.push(link(match[9], match[9]));
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

function citation(number, onCite) {
  if (!onCite) return `[${number}]`;
  return h('button', {
    type: 'button', class: 'cite', 'aria-label': `Open source ${number}`, dataset: { cite: String(number) },
    onclick: (event) => onCite(number, event.currentTarget),
  }, `[${number}]`);
}

function link(href, content) {
  if (!/^https?:\/\//i.test(href)) return content;
  return h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, content);
}
