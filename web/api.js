// The page's API client: requests with the API key, and error answers (RFC 9457
// problem+json, or whatever a proxy sent instead) turned into ApiProblem errors.

/** An error answer of the API (a problem+json document), or a network failure (status 0). */
export class ApiProblem extends Error {
  constructor({ status = 0, code = '', title = '', detail = '' }) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
  }
}

/** Reads a problem+json body; copes with a body that is not one (a proxy's HTML page). */
export function problemFromText(status, statusText, contentType, text) {
  if (contentType && contentType.includes('json')) {
    try {
      const doc = JSON.parse(text);
      return new ApiProblem({
        status: doc.status || status,
        code: doc.code || '',
        title: doc.title || statusText,
        detail: doc.detail || doc.title || statusText,
      });
    } catch {
      // Not JSON after all: fall through.
    }
  }
  const detail = (text || '').trim().slice(0, 200) || statusText || 'no explanation given';
  return new ApiProblem({ status, title: statusText, detail });
}

export async function problemFrom(response) {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The body broke off: the status line is all we have.
  }
  return problemFromText(response.status, response.statusText,
    response.headers.get('Content-Type'), text);
}

export function networkProblem(error) {
  return new ApiProblem({
    detail: `the service did not answer (${error.message || error}); check that it is running, then try again`,
  });
}

/** A bearer Authorization header for `key`, if there is one, added to `headers`. */
export function withKey(key, headers = {}) {
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

/**
 * fetch() with the API key from `key()`; the parsed JSON body, null for 204, or throws an
 * ApiProblem. `onAccepted` runs after every answer that is not an error.
 */
export async function request(method, path, { key, onAccepted = () => {} }) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: withKey(key(), { Accept: 'application/json' }),
      cache: 'no-store',
    });
  } catch (error) {
    throw networkProblem(error);
  }
  if (!response.ok) throw await problemFrom(response);
  onAccepted();
  if (response.status === 204) return null;
  return response.json();
}
