// hls-ladder's web page: plain ES modules, no build step, served as /assets/*.js
// (text/javascript); app.js runs after /assets/vendor/hls.min.js (window.Hls) and wires the
// parts together:
//
// - page.js: the elements, the API key field, the error bar, the API client (api.js);
// - list.js: the videos, kept up to date by live.js (event streams, parsed by sse.js);
// - upload.js: the upload form;
// - player.js: playback with hls.js;
// - format.js: how a video is worded (pure, unit-tested in web/test/).

import { addVideo, initList, loadVideos, markPlaying } from './list.js';
import { apiKey, clearError, els } from './page.js';
import { initPlayer, play, stopPlayback } from './player.js';
import { initUpload } from './upload.js';

const API_KEY_STORAGE = 'hlsTranscoderApiKey';

/** The API key field: kept in localStorage as typed; the list is loaded again with it once
 * typing pauses, or at once on Enter. */
function initApiKey() {
  try {
    els.apiKey.value = localStorage.getItem(API_KEY_STORAGE) || '';
  } catch {
    // Storage disabled: the key lasts as long as the page.
  }
  let keyTimer = null;
  els.apiKey.addEventListener('input', () => {
    try {
      const key = apiKey();
      if (key) localStorage.setItem(API_KEY_STORAGE, key);
      else localStorage.removeItem(API_KEY_STORAGE);
    } catch {
      // Storage disabled.
    }
    clearTimeout(keyTimer);
    keyTimer = setTimeout(loadVideos, 600);
  });
  els.apiKeyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(keyTimer);
    loadVideos();
  });
}

function init() {
  initApiKey();
  els.errorDismiss.addEventListener('click', clearError);
  initPlayer({ playing: markPlaying });
  initList({ play, playingRemoved: () => stopPlayback({ reset: true }) });
  initUpload({ uploaded: (video) => addVideo(video, { top: true }) });
  loadVideos();
}

init();
