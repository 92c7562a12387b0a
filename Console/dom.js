// Building the page from data without ever parsing it as HTML: every string becomes a text
// node (textContent), so document text such as "<script>" or "<img onerror>" shows as text.

/** h('p', {class: 'x', onclick: fn}, 'text', node, [more]) → an element. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'href') {
      element.setAttribute('href', safeHref(String(value)));
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends strings (as text), nodes and nested arrays; skips null and undefined. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

/** Links from documents may only go to http(s) pages or to places in this console. */
export function safeHref(href) {
  if (href.startsWith('#') || href.startsWith('/')) return href;
  try {
    const url = new URL(href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '#';
  } catch {
    return '#';
  }
}

export function formatTime(text) {
  if (!text) return '';
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? String(text) : date.toLocaleString();
}

export function percent(value) {
  return typeof value === 'number' ? `${Math.round(value * 100)} %` : '–';
}

/** A labelled form control: <label for> + the control, in one wrapper. */
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintNode = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintNode);
}

/** Moves keyboard focus to a page's heading so screen readers announce the new page. */
export function focusHeading(container) {
  const heading = container.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

export const stateNames = {
  TASK_STATE_SUBMITTED: 'queued',
  TASK_STATE_WORKING: 'working',
  TASK_STATE_COMPLETED: 'completed',
  TASK_STATE_FAILED: 'failed',
  TASK_STATE_CANCELED: 'canceled',
};

export function isTerminal(state) {
  return state === 'TASK_STATE_COMPLETED' || state === 'TASK_STATE_FAILED' || state === 'TASK_STATE_CANCELED';
}

export function stateBadge(state) {
  const name = stateNames[state] || String(state || 'unknown').toLowerCase();
  return h('span', { class: `badge state-${name}` }, name);
}
