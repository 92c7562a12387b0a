// The console's only way to the server: the public API (A2A JSON-RPC at /a2a, its streams,
// ares/* methods, /metrics, /health/*), with the credential of this tab. Errors become
// APIError with a kind the pages turn into words a person understands.

export class APIError extends Error {
  /**
   * kind: unauthenticated | forbidden | busy | quota | rateLimited | notFound | invalid | ended | network | server
   * retryAfter: seconds, when the server said when to try again.
   */
  constructor(kind, message, { code, retryAfter, status } = {}) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.retryAfter = retryAfter;
    this.status = status;
  }
}

const codeKinds = {
  '-32040': 'unauthenticated',
  '-32041': 'forbidden',
  '-32050': 'busy',
  '-32051': 'quota',
  '-32052': 'rateLimited',
  '-32001': 'notFound',
  '-32002': 'ended',
  '-32004': 'ended',
  '-32602': 'invalid',
};

function errorFromRPC(error, status, retryHeader) {
  const data = error && error.data;
  let retryAfter = data && typeof data.retryAfterSeconds === 'number' ? data.retryAfterSeconds : undefined;
  if (retryAfter === undefined && retryHeader) retryAfter = Number.parseInt(retryHeader, 10) || undefined;
  const code = error && error.code;
  let kind = codeKinds[String(code)] || (status === 429 || status === 503 ? 'busy' : 'server');
  if (status === 401) kind = 'unauthenticated';
  if (status === 403 && kind === 'server') kind = 'forbidden';
  return new APIError(kind, (error && error.message) || `HTTP ${status}`, { code, retryAfter, status });
}

export class AresAPI {
  /** credential: { kind: 'apiKey' | 'oidc', token } — both are sent as a bearer token. */
  constructor(credential, { onUnauthenticated } = {}) {
    this.credential = credential;
    this.onUnauthenticated = onUnauthenticated || (() => {});
    this.nextID = 1;
  }

  headers(extra = {}) {
    const headers = { 'A2A-Version': '1.0', ...extra };
    if (this.credential && this.credential.token) headers.Authorization = `Bearer ${this.credential.token}`;
    return headers;
  }

  async fetch(path, options = {}) {
    try {
      return await fetch(path, { cache: 'no-store', credentials: 'omit', ...options });
    } catch (cause) {
      if (cause && cause.name === 'AbortError') throw cause;
      throw new APIError('network', 'the server cannot be reached');
    }
  }

  /** One JSON-RPC call; resolves with its result, rejects with APIError. */
  async call(method, params) {
    const body = JSON.stringify({ jsonrpc: '2.0', id: this.nextID++, method, params: params ?? {} });
    const response = await this.fetch('/a2a', {
      method: 'POST',
      headers: this.headers({ 'Content-Type': 'application/json' }),
      body,
    });
    let reply;
    try {
      reply = await response.json();
    } catch {
      throw new APIError(response.status >= 500 ? 'server' : 'invalid', `the server answered HTTP ${response.status} without JSON`, { status: response.status });
    }
    if (reply && reply.error) {
      const error = errorFromRPC(reply.error, response.status, response.headers.get('Retry-After'));
      if (error.kind === 'unauthenticated') this.onUnauthenticated(error);
      throw error;
    }
    return reply.result;
  }

  /**
   * A streaming JSON-RPC call (SendStreamingMessage, SubscribeToTask): yields each event's
   * result as it arrives. fetch + a stream reader, because EventSource cannot send the
   * Authorization header.
   */
  async *stream(method, params, signal) {
    const response = await this.fetch('/a2a', {
      method: 'POST',
      headers: this.headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify({ jsonrpc: '2.0', id: this.nextID++, method, params }),
      signal,
    });
    const type = response.headers.get('Content-Type') || '';
    if (!type.startsWith('text/event-stream')) {
      let reply = null;
      try { reply = await response.json(); } catch { /* handled below */ }
      const error = errorFromRPC(reply && reply.error, response.status, response.headers.get('Retry-After'));
      if (error.kind === 'unauthenticated') this.onUnauthenticated(error);
      throw error;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (cause) {
          if (cause && cause.name === 'AbortError') throw cause;
          throw new APIError('network', 'the connection to the server was lost');
        }
        if (chunk.done) return;
        buffer += chunk.value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n');
          if (!data) continue;
          const message = JSON.parse(data);
          if (message.error) throw errorFromRPC(message.error, 200);
          yield message.result ?? message;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  async text(path) {
    const response = await this.fetch(path, { headers: this.headers() });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try { message = JSON.parse(text).error || text; } catch { /* plain text */ }
      const error = errorFromRPC({ message: typeof message === 'string' ? message : JSON.stringify(message) }, response.status, response.headers.get('Retry-After'));
      if (error.kind === 'unauthenticated') this.onUnauthenticated(error);
      throw error;
    }
    return text;
  }
}

/** The sentence a person reads for an error, for the action `doing` ("loading tasks"). */
export function describeError(error, doing, role) {
  if (!(error instanceof APIError)) return `Something went wrong while ${doing}: ${error && error.message ? error.message : error}`;
  const retry = error.retryAfter ? ` Try again in ${error.retryAfter} second${error.retryAfter === 1 ? '' : 's'}.` : ' Try again in a moment.';
  switch (error.kind) {
    case 'unauthenticated':
      return 'The server did not accept your API key: it may be mistyped, revoked or from another server. Sign in again with a valid key.';
    case 'forbidden':
      return `Your key${role ? ` (role ${role})` : ''} may not do this: ${doing} needs a role with more rights. Ask an admin for a key with that role.`;
    case 'busy':
      return `The server is busy and did not take this on.${retry}`;
    case 'rateLimited':
      return `You are sending requests faster than your key is allowed to.${retry}`;
    case 'quota':
      return `You have as many tasks waiting as your role allows.${retry}`;
    case 'notFound':
      return 'That task does not exist, or it belongs to someone else.';
    case 'ended':
      return `That task has already ended, so it cannot be ${doing === 'canceling the task' ? 'canceled' : 'changed'} any more.`;
    case 'network':
      return `The server cannot be reached (network lost, or the server stopped) while ${doing}.`;
    case 'invalid':
      return `The server refused this: ${error.message}`;
    default:
      return `The server failed while ${doing}: ${error.message}`;
  }
}
