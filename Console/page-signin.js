// Signing in: an API key typed by the user, checked with ares/whoami and kept for this tab
// only (sessionStorage: gone when the tab closes, never sent anywhere but this server), or,
// when the server names a console client in /console/config.json, OpenID Connect
// (authorization code + PKCE, oidc.js); see docs/console.md.
import { h, field } from './dom.js';
import { AresAPI, describeError } from './api.js';
import { consoleConfiguration, beginOIDCSignIn } from './oidc.js';

export function renderSignIn(main, session, reason) {
  const input = h('input', { type: 'password', name: 'apiKey', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'ares_…' });
  const message = h('p', { class: reason ? 'error' : 'hint', role: 'alert', id: 'signin-message' }, reason || '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const oidcArea = h('div', { class: 'oidc' });
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title', onsubmit: async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      message.className = 'error';
      message.textContent = 'Type or paste your API key first.';
      return;
    }
    button.disabled = true;
    message.className = 'hint';
    message.textContent = 'Checking the key…';
    try {
      const credential = { kind: 'apiKey', token: key };
      const identity = await new AresAPI(credential).call('ares/whoami', {});
      session.signIn(credential, identity);
    } catch (error) {
      message.className = 'error';
      message.textContent = describeError(error, 'signing in');
      button.disabled = false;
      input.focus();
    }
  } },
  h('h1', { id: 'signin-title' }, 'Sign in to ares'),
  h('p', {}, 'Paste an API key (ask an admin, or run ', h('code', {}, 'ares keys create --role researcher'), '). It is kept in this tab only and forgotten when you close it.'),
  field('API key', input),
  button, message, oidcArea);
  main.append(form);
  input.focus();
  offerOIDC(oidcArea);
  offerDevelopmentAccess(oidcArea, session);
}

/** A `--dev` server (loopback only) answers without credentials, as the local admin. The
 * console does not probe for it on its own (a refused probe is an authentication failure in
 * the server's audit trail): on a loopback address it offers a button that asks. */
function offerDevelopmentAccess(area, session) {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname)) return;
  const message = h('p', { class: 'hint', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    const credential = { kind: 'none', token: null };
    try {
      const identity = await new AresAPI(credential).call('ares/whoami', {});
      session.signIn(credential, identity);
    } catch (error) {
      message.className = 'error';
      message.textContent = error.kind === 'unauthenticated'
        ? 'This server needs an API key: it was not started with --dev.'
        : describeError(error, 'signing in');
    }
  } }, 'Continue without a key (ares serve --dev)');
  area.append(button, message);
}

/** A "Sign in with OIDC" button when the server names the console's OpenID Connect client. */
async function offerOIDC(area) {
  let oidc;
  try {
    oidc = (await consoleConfiguration()).oidc;
  } catch {
    return; // No configuration: API keys only.
  }
  if (!oidc || !oidc.discoveryURL || !oidc.clientId) return;
  const message = h('p', { class: 'hint', role: 'status', id: 'oidc-message' });
  const button = h('button', { type: 'button', id: 'oidc-sign-in', onclick: async () => {
    button.disabled = true;
    message.className = 'hint';
    message.textContent = 'Going to your identity provider…';
    try {
      await beginOIDCSignIn(oidc);
    } catch (error) {
      message.className = 'error';
      message.textContent = error.message || 'The sign-in with your identity provider could not start.';
      button.disabled = false;
    }
  } }, 'Sign in with OIDC');
  area.prepend(h('p', { class: 'hint' }, 'Or sign in with your organisation\'s account (OpenID Connect):'), button, message);
}
