// Signing in with OpenID Connect: authorization code + PKCE (S256), done by the browser
// itself with the *public* client the server names in /console/config.json (no secret
// exists to keep). The redirect URI is the console's own page, `<origin>/`, exactly; the
// IdP sends the code back there as `?code=…&state=…`, and `completeOIDCSignIn` exchanges it.
// The verifier, state and nonce live in sessionStorage for this tab only, and are removed
// as soon as the answer arrives, whatever it says.

const pendingKey = 'ares.console.oidc.pending';

export class OIDCError extends Error {}

/** The server's console configuration: `{ oidc: { issuer, discoveryURL, clientId } }` or `{}`. */
export async function consoleConfiguration() {
  const response = await fetch('/console/config.json', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) return {};
  return response.json();
}

export function redirectURI() {
  return `${location.origin}/`;
}

function randomText(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64URL(data);
}

function base64URL(bytes) {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function challengeOf(verifier) {
  if (!crypto.subtle) throw new OIDCError('This page is not a secure context (https, or http on localhost), so the browser cannot compute the PKCE challenge.');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64URL(new Uint8Array(digest));
}

/** The issuer's discovery document, checked: its issuer must be the one configured. */
async function discover(oidc) {
  let response;
  try {
    response = await fetch(oidc.discoveryURL, { cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new OIDCError(`The identity provider cannot be reached (${oidc.discoveryURL}), or it does not allow this page's origin (CORS).`);
  }
  if (!response.ok) throw new OIDCError(`The identity provider answered HTTP ${response.status} for its discovery document.`);
  const document = await response.json();
  const sameIssuer = (a, b) => String(a || '').replace(/\/+$/, '') === String(b || '').replace(/\/+$/, '');
  if (!sameIssuer(document.issuer, oidc.issuer)) throw new OIDCError('The identity provider names another issuer than the one this server trusts.');
  for (const name of ['authorization_endpoint', 'token_endpoint']) {
    if (!/^https?:\/\//.test(document[name] || '')) throw new OIDCError(`The identity provider's discovery document has no ${name}.`);
  }
  return document;
}

/** Leaves for the identity provider's sign-in page. */
export async function beginOIDCSignIn(oidc) {
  const discovery = await discover(oidc);
  const verifier = randomText(32);
  const state = randomText(16);
  const nonce = randomText(16);
  sessionStorage.setItem(pendingKey, JSON.stringify({ verifier, state, nonce, tokenEndpoint: discovery.token_endpoint, clientId: oidc.clientId, redirectURI: redirectURI() }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: oidc.clientId, redirect_uri: redirectURI(), scope: 'openid',
    state, nonce, code_challenge: await challengeOf(verifier), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** Whether this page load is the identity provider's answer. */
export function isOIDCCallback() {
  const parameters = new URLSearchParams(location.search);
  return parameters.has('state') && (parameters.has('code') || parameters.has('error'));
}

/** Reads the answer in the address, removes it from the address and the pending sign-in,
 * and exchanges the code; resolves with `{ token, expiresAt }` or rejects with OIDCError. */
export async function completeOIDCSignIn() {
  const parameters = new URLSearchParams(location.search);
  history.replaceState(null, '', `${location.pathname}${location.hash || ''}`);
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(pendingKey) || 'null');
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(pendingKey);
  if (!pending || !pending.state || parameters.get('state') !== pending.state) {
    throw new OIDCError('The sign-in answer does not belong to a sign-in started in this tab (state mismatch): sign in again.');
  }
  if (parameters.has('error')) {
    const error = parameters.get('error');
    const description = parameters.get('error_description');
    const words = error === 'access_denied' ? 'The identity provider refused the sign-in (access denied).' : `The identity provider refused the sign-in (${error}).`;
    throw new OIDCError(description ? `${words} It said: ${description}` : words);
  }
  let response;
  try {
    response = await fetch(pending.tokenEndpoint, {
      method: 'POST', cache: 'no-store', credentials: 'omit',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: parameters.get('code') || '', redirect_uri: pending.redirectURI,
        client_id: pending.clientId, code_verifier: pending.verifier,
      }).toString(),
    });
  } catch {
    throw new OIDCError('The identity provider\'s token endpoint cannot be reached, or it does not allow this page\'s origin (CORS).');
  }
  let reply = {};
  try {
    reply = await response.json();
  } catch {
    reply = {};
  }
  if (!response.ok || typeof reply.access_token !== 'string') {
    const reason = reply.error_description || reply.error || `HTTP ${response.status}`;
    throw new OIDCError(`The identity provider did not give a token for the sign-in code (${reason}).`);
  }
  if (reply.id_token && !idTokenNonceMatches(reply.id_token, pending.nonce)) {
    throw new OIDCError('The identity provider\'s ID token was not made for this sign-in (nonce mismatch).');
  }
  const lifetime = Number(reply.expires_in);
  return { token: reply.access_token, expiresAt: Number.isFinite(lifetime) && lifetime > 0 ? Date.now() + lifetime * 1000 : null };
}

/** The nonce of an ID token received straight from the token endpoint over the connection
 * the browser opened (so its origin vouches for it; the access token itself is verified by
 * the ares server on every call). */
function idTokenNonceMatches(idToken, nonce) {
  try {
    const payload = idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload + '='.repeat((4 - (payload.length % 4)) % 4)));
    return claims.nonce === undefined || claims.nonce === nonce;
  } catch {
    return false;
  }
}
