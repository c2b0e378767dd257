// The upload form: a resumable upload (tus, with tus-js-client at /v1/uploads) that goes on
// by itself after a dropped connection and, after a page reload, from where the earlier one
// stopped when the same file is chosen again. Without tus-js-client, POST /v1/videos as
// multipart/form-data with XMLHttpRequest, whose upload events (unlike fetch's) show the
// bytes sent.

import { problemFromText } from './api.js';
import { formatBytes } from './format.js';
import { api, apiKey, clearError, els, keyAccepted, showError, showProblem } from './page.js';

/** Waits before each new try after a dropped connection, in ms: then it gives up. */
const RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000];

/** Told each video the service accepted: set by initUpload. */
let onUploaded = () => {};

/** Wires the form; `uploaded(video)` gets each video the service accepted (201). */
export function initUpload({ uploaded }) {
  onUploaded = uploaded;
  els.fileInput.addEventListener('change', () => {
    els.uploadButton.disabled = els.fileInput.files.length === 0;
  });
  els.uploadForm.addEventListener('submit', upload);
  els.uploadButton.disabled = els.fileInput.files.length === 0;
}

function setUploadProgress(percent) {
  const value = Math.min(100, Math.max(0, percent));
  els.uploadProgress.value = value;
  els.uploadPercent.textContent = `${Math.floor(value)}%`;
}

function upload(event) {
  event.preventDefault();
  const file = els.fileInput.files[0];
  if (!file) return;
  clearError();
  if (window.tus?.isSupported) uploadResumably(file);
  else uploadInOneRequest(file);
}

/** The tus upload's URL path (`/v1/uploads/{id}`) ends with the video's id. */
function videoIdOf(uploadUrl) {
  return new URL(uploadUrl, window.location.href).pathname.split('/').pop();
}

function sending(note) {
  setUploadProgress(0);
  els.uploadStatus.hidden = false;
  els.uploadNote.textContent = note;
  els.uploadButton.disabled = true;
  els.fileInput.disabled = true;
}

function finished(note) {
  els.uploadNote.textContent = note;
  els.fileInput.disabled = false;
  els.uploadButton.disabled = els.fileInput.files.length === 0;
}

async function uploadResumably(file) {
  const key = apiKey();
  let verb = 'Sending';
  const upload = new window.tus.Upload(file, {
    endpoint: new URL('/v1/uploads', window.location.href).href,
    retryDelays: RETRY_DELAYS,
    metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
    headers: key ? { Authorization: `Bearer ${key}` } : {},
    removeFingerprintOnSuccess: true,
    onProgress(sent, total) {
      if (total > 0) setUploadProgress((sent / total) * 100);
      els.uploadNote.textContent = `${verb} ${file.name}: ${formatBytes(sent)} of ${formatBytes(total)}…`;
    },
    onShouldRetry(error, attempt, options) {
      const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
      // The service's refusals are final; a busy upload (423) or a dropped connection is not.
      const retry = !(status >= 400 && status < 500 && status !== 409 && status !== 423)
        && attempt < options.retryDelays.length;
      if (retry) els.uploadNote.textContent = `Connection lost; going on from where it stopped (try ${attempt + 1})…`;
      return retry;
    },
    onError(error) {
      const response = error.originalResponse;
      if (response && response.getStatus() >= 400) {
        showProblem('Upload', problemFromText(response.getStatus(), '',
          response.getHeader('Content-Type'), response.getBody()));
      } else {
        showError(`Upload failed: ${String(error.message || error).split('\n')[0]}. `
          + 'Choose the same file again to go on from where it stopped.');
      }
      finished('Not uploaded.');
    },
    async onSuccess() {
      setUploadProgress(100);
      keyAccepted();
      els.uploadForm.reset();
      finished(verb === 'Resuming' ? `Uploaded ${file.name} (resumed from where it stopped).` : `Uploaded ${file.name}.`);
      try {
        onUploaded(await api('GET', `/v1/videos/${videoIdOf(upload.url)}`));
      } catch (problem) {
        showProblem('Upload', problem);
      }
    },
  });
  let note = `Sending ${file.name} (${formatBytes(file.size)})…`;
  // An upload of this file that an earlier page (a reload, a closed tab) did not finish.
  const previous = await upload.findPreviousUploads().catch(() => []);
  if (previous.length > 0) {
    previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
    upload.resumeFromPreviousUpload(previous[0]);
    verb = 'Resuming';
    note = `Resuming the earlier upload of ${file.name} from where it stopped…`;
  }
  sending(note);
  upload.start();
}

function uploadInOneRequest(file) {
  const body = new FormData();
  body.append('file', file, file.name);

  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/v1/videos');
  xhr.setRequestHeader('Accept', 'application/json');
  const key = apiKey();
  if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);

  const finish = finished;
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable && e.total > 0) setUploadProgress((e.loaded / e.total) * 100);
  });
  xhr.upload.addEventListener('load', () => {
    setUploadProgress(100);
    els.uploadNote.textContent = 'Sent; the service is checking the video…';
  });
  xhr.addEventListener('load', () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      setUploadProgress(100);
      keyAccepted();
      let video = null;
      try {
        video = JSON.parse(xhr.responseText);
      } catch {
        showError('Upload failed: the service answered 201 without a video resource.');
      }
      if (video) onUploaded(video);
      els.uploadForm.reset();
      finish(`Uploaded ${file.name}.`);
    } else {
      showProblem('Upload', problemFromText(xhr.status, xhr.statusText,
        xhr.getResponseHeader('Content-Type'), xhr.responseText));
      finish('Not uploaded.');
    }
  });
  xhr.addEventListener('error', () => {
    showError('Upload failed: the connection closed before the service answered. '
      + 'Check that the service is running (a refused upload can also end this way), then try again.');
    finish('Not uploaded.');
  });
  xhr.addEventListener('abort', () => finish('Upload stopped.'));

  sending(`Sending ${file.name} (${formatBytes(file.size)})…`);
  xhr.send(body);
}
