// The upload form: POST /v1/videos as multipart/form-data with XMLHttpRequest, whose
// upload events (unlike fetch's) show the bytes sent.

import { problemFromText } from './api.js';
import { formatBytes } from './format.js';
import { apiKey, clearError, els, keyAccepted, showError, showProblem } from './page.js';

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
  const body = new FormData();
  body.append('file', file, file.name);

  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/v1/videos');
  xhr.setRequestHeader('Accept', 'application/json');
  const key = apiKey();
  if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);

  const finish = (note) => {
    els.uploadNote.textContent = note;
    els.fileInput.disabled = false;
    els.uploadButton.disabled = els.fileInput.files.length === 0;
  };
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

  setUploadProgress(0);
  els.uploadStatus.hidden = false;
  els.uploadNote.textContent = `Sending ${file.name} (${formatBytes(file.size)})…`;
  els.uploadButton.disabled = true;
  els.fileInput.disabled = true;
  xhr.send(body);
}
