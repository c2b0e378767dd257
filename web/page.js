// What every part of the page shares: its elements, h() to make more, the API key field,
// the error bar, and the API client (api.js) bound to that key.
//
// Server-provided strings (file names, error details) only ever go into textContent.

import { ApiProblem, request, withKey } from './api.js';

/** The page's elements, by role. */
export const els = {
  apiKeyForm: document.getElementById('api-key-form'),
  apiKey: document.getElementById('api-key'),
  errorBar: document.getElementById('error-bar'),
  error: document.getElementById('error'),
  errorDismiss: document.getElementById('error-dismiss'),
  uploadForm: document.getElementById('upload-form'),
  fileInput: document.getElementById('file-input'),
  uploadButton: document.getElementById('upload-button'),
  uploadStatus: document.getElementById('upload-status'),
  uploadProgress: document.getElementById('upload-progress'),
  uploadPercent: document.getElementById('upload-percent'),
  uploadNote: document.getElementById('upload-note'),
  videos: document.getElementById('videos'),
  videosEmpty: document.getElementById('videos-empty'),
  refresh: document.getElementById('refresh'),
  more: document.getElementById('more'),
  rendition: document.getElementById('rendition'),
  audioField: document.getElementById('audio-field'),
  audioTrack: document.getElementById('audio-track'),
  download: document.getElementById('download'),
  nowPlaying: document.getElementById('now-playing'),
  player: document.getElementById('player'),
  placeholder: document.getElementById('screen-placeholder'),
  scrub: document.getElementById('scrub'),
  scrubPlayed: document.getElementById('scrub-played'),
  scrubPreview: document.getElementById('scrub-preview'),
  scrubTime: document.getElementById('scrub-time'),
};

/** Makes an element: h('p', {className: 'x', textContent: 'y'}, child, ...). */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** The API key typed in, if any. */
export function apiKey() {
  return els.apiKey.value.trim();
}

/** `headers` with `Authorization: Bearer <key>` when a key is typed in. */
export function authHeaders(headers = {}) {
  return withKey(apiKey(), headers);
}

/** fetch() with the API key; the parsed JSON body, null for 204, or throws an ApiProblem. */
export function api(method, path) {
  return request(method, path, { key: apiKey, onAccepted: keyAccepted });
}

// Whether the error shown is a refused API key, which the next accepted request clears.
let keyErrorShown = false;

/** Shows `message` in the error bar; `keyProblem` marks the API key field as the cause. */
export function showError(message, { keyProblem = false } = {}) {
  els.error.textContent = message;
  els.errorBar.hidden = false;
  keyErrorShown = keyProblem;
  if (keyProblem) els.apiKey.setAttribute('aria-invalid', 'true');
}

/** Hides the error bar. */
export function clearError() {
  els.error.textContent = '';
  els.errorBar.hidden = true;
  keyErrorShown = false;
}

/** A request with the key was accepted: a key error shown before is over. */
export function keyAccepted() {
  els.apiKey.removeAttribute('aria-invalid');
  if (keyErrorShown) clearError();
}

/** "Upload refused (422 not-a-video): <detail>", pointing at the API key for 401/403. */
export function showProblem(action, problem) {
  if (!(problem instanceof ApiProblem)) {
    console.error(problem);
    showError(`${action} failed: ${problem && problem.message ? problem.message : problem}`);
    return;
  }
  if (problem.status === 0) {
    showError(`${action} failed: ${problem.detail}.`);
    return;
  }
  const verb = problem.status >= 500 ? 'failed' : 'refused';
  const what = [problem.status, problem.code].filter(Boolean).join(' ');
  let message = `${action} ${verb} (${what}): ${problem.detail}`;
  const keyProblem = problem.status === 401 || problem.status === 403;
  if (keyProblem) {
    message += apiKey()
      ? ' — check the API key in the “API key” field at the top.'
      : ' — enter your API key in the “API key” field at the top.';
  }
  showError(message, { keyProblem });
}
