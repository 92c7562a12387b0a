// The console's entry point: the session of this tab (who is signed in, with which
// credential), the navigation, and a page per address (#/ask, #/task/<id>, #/tasks,
// #/knowledge, #/operations).
import { h, clear, focusHeading } from './dom.js';
import { AresAPI, describeError } from './api.js';
import { renderSignIn } from './page-signin.js';
import { isOIDCCallback, completeOIDCSignIn } from './oidc.js';
import { renderAsk, renderTask } from './page-ask.js';
import { renderTasks } from './page-tasks.js';
import { renderKnowledge } from './page-knowledge.js';
import { renderOperations } from './page-operations.js';

const storageKey = 'ares.console.session';

class Session {
  constructor() {
    this.main = document.getElementById('main');
    this.view = null;
    this.restore();
  }

  restore() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
      const expired = saved && saved.credential && saved.credential.expiresAt && saved.credential.expiresAt <= Date.now();
      if (expired) {
        sessionStorage.removeItem(storageKey);
        this.signOutReason = 'Your sign-in has expired. Sign in again.';
      } else if (saved && saved.credential && saved.identity) {
        this.use(saved.credential, saved.identity);
      }
    } catch {
      sessionStorage.removeItem(storageKey);
    }
  }

  use(credential, identity) {
    this.credential = credential;
    this.identity = identity;
    this.role = identity.role;
    const refused = credential.kind === 'oidc'
      ? 'Your sign-in has expired (or the server no longer accepts it). Sign in again.'
      : 'The server no longer accepts your key (revoked or expired). Sign in again.';
    this.api = new AresAPI(credential, { onUnauthenticated: () => this.signOut(refused) });
    // An access token says when it expires: sign out then, rather than at the next refused call.
    clearTimeout(this.expiryTimer);
    if (credential.kind === 'oidc' && credential.expiresAt) {
      const remaining = credential.expiresAt - Date.now();
      this.expiryTimer = setTimeout(() => this.signOut('Your sign-in has expired. Sign in again.'), Math.min(remaining, 2 ** 31 - 1));
    }
  }

  get signedIn() { return Boolean(this.identity); }

  can(permission) {
    return Boolean(this.identity && (this.identity.permissions || []).includes(permission));
  }

  signIn(credential, identity) {
    sessionStorage.setItem(storageKey, JSON.stringify({ credential, identity }));
    this.use(credential, identity);
    this.signOutReason = null;
    if (!location.hash || location.hash === '#/' || location.hash === '#/signin') location.hash = '#/ask';
    else render();
  }

  signOut(reason) {
    clearTimeout(this.expiryTimer);
    sessionStorage.removeItem(storageKey);
    this.credential = null;
    this.identity = null;
    this.api = null;
    this.signOutReason = reason || null;
    this.stopView();
    render();
  }

  stopView() {
    if (this.view) this.view.stop();
    this.view = null;
  }

  taskStarted(id) {
    history.replaceState(null, '', `#/task/${encodeURIComponent(id)}`);
  }
}

const session = new Session();

function renderNavigation(page) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  nav.hidden = !session.signedIn;
  who.hidden = !session.signedIn;
  const links = [['ask', 'Ask'], ['tasks', 'Tasks'], ['knowledge', 'Knowledge']];
  if (session.can('manageKeys')) links.push(['operations', 'Operations']);
  clear(nav).append(h('ul', {}, links.map(([id, label]) => h('li', {},
    h('a', { href: `#/${id}`, 'aria-current': page === id ? 'page' : null, dataset: { page: id } }, label)))));
  if (session.signedIn) {
    clear(document.getElementById('who-name')).append(`${session.identity.name} (${session.identity.role})`);
  }
}

function render() {
  const main = session.main;
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const [page, ...rest] = path.split('/');
  const parameters = new URLSearchParams(query || '');
  // A live view follows its task only while its page is shown.
  if (!(page === 'task' && session.view && session.view.id === decodeURIComponent(rest.join('/')))) session.stopView();
  else return;
  clear(main);
  // A passage left open belongs to the page being left.
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  if (!session.signedIn) {
    renderNavigation('');
    renderSignIn(main, session, session.signOutReason);
    return;
  }
  const current = page || 'ask';
  renderNavigation(current === 'task' ? 'tasks' : current);
  switch (current) {
    case 'task': renderTask(main, session, decodeURIComponent(rest.join('/'))); break;
    case 'tasks': renderTasks(main, session); break;
    case 'knowledge': renderKnowledge(main, session, parameters.get('q')); break;
    case 'operations': renderOperations(main, session); break;
    default: renderAsk(main, session);
  }
  focusHeading(main);
}

/** The identity provider's answer to an OIDC sign-in: exchange the code, ask the server who
 * the token is, and sign in; any failure is said on the sign-in page. */
async function finishOIDCSignIn() {
  session.main.append(h('p', { class: 'hint', role: 'status' }, 'Finishing the sign-in…'));
  try {
    const { token, expiresAt } = await completeOIDCSignIn();
    const credential = { kind: 'oidc', token, expiresAt };
    let identity;
    try {
      identity = await new AresAPI(credential).call('ares/whoami', {});
    } catch (error) {
      throw new Error(error.kind === 'unauthenticated' || error.kind === 'forbidden'
        ? `The identity provider signed you in, but this server does not accept its token (${error.message}).`
        : describeError(error, 'signing in'));
    }
    session.signIn(credential, identity);
  } catch (error) {
    session.signOut(error.message || 'The sign-in with your identity provider failed.');
  }
}

document.getElementById('sign-out').addEventListener('click', () => session.signOut('You signed out.'));
window.addEventListener('hashchange', render);
if (isOIDCCallback()) finishOIDCSignIn();
else render();
