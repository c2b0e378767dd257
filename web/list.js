// The list of videos: GET /v1/videos page by page, one item per video kept up to date by
// live.js, and each item's actions (Play, Cancel, Retry, Delete).

import { FINAL_STATUSES, displayName, metaLine, progressLine, progressPercent } from './format.js';
import { followVideos, unwatch, watch } from './live.js';
import { api, clearError, els, h, showError, showProblem } from './page.js';

const PAGE_SIZE = 20;

/** id -> {id, data (the video resource), el, parts, abort, following, lastEventId, addedAt} */
const entries = new Map();
let nextCursor = null;
let playingId = null;
// Bumped by each reload, so that an older page arriving late is ignored.
let listGeneration = 0;
/** {play(video), playingRemoved()}: set by initList. */
let listener = null;

/** Wires the list's buttons; `play` gets a completed video to play, `playingRemoved` is
 * told when the video in the player left the list. */
export function initList({ play, playingRemoved }) {
  listener = { play, playingRemoved };
  followVideos({
    status: (entry, video) => updateEntry(entry, video),
    progress: (entry, update) => {
      if (FINAL_STATUSES.has(entry.data.status)) return;
      entry.data = { ...entry.data, status: update.status || entry.data.status, progress: update.progress };
      render(entry);
    },
    gone: removeEntry,
  });
  els.refresh.addEventListener('click', () => {
    clearError();
    loadVideos();
  });
  els.more.addEventListener('click', () => loadVideos({ more: true }));
}

/** Marks the item whose video is in the player (none with null). */
export function markPlaying(id) {
  entries.get(playingId)?.el.classList.remove('playing');
  playingId = id;
  entries.get(id)?.el.classList.add('playing');
}

/** Adds a video to the list (at the top for a new upload), or updates it if listed. */
export function addVideo(video, { top = false } = {}) {
  const known = entries.get(video.id);
  if (known) {
    updateEntry(known, video);
    return known;
  }
  const entry = createEntry(video);
  entries.set(video.id, entry);
  if (top) els.videos.prepend(entry.el);
  else els.videos.append(entry.el);
  updateEntry(entry, video);
  updateEmpty();
  return entry;
}

/**
 * Loads the first page of videos into the list (again), or with `more` the next page.
 * A reload updates the items in place and drops those no longer listed, except uploads
 * added since the request was sent, so nothing flickers or goes missing meanwhile.
 */
export async function loadVideos({ more = false } = {}) {
  let path = `/v1/videos?limit=${PAGE_SIZE}`;
  if (more && nextCursor) path += `&cursor=${encodeURIComponent(nextCursor)}`;
  if (!more) listGeneration += 1;
  const generation = listGeneration;
  const sentAt = performance.now();
  try {
    const page = await api('GET', path);
    if (generation !== listGeneration) return; // a newer reload is under way
    const items = page.items || [];
    if (!more) {
      const listed = new Set(items.map((video) => video.id));
      for (const entry of [...entries.values()]) {
        if (!listed.has(entry.id) && entry.addedAt < sentAt) removeEntry(entry);
      }
    }
    for (const video of items) {
      const entry = addVideo(video);
      if (!more) els.videos.append(entry.el); // the server's order, after newer uploads
    }
    nextCursor = page.next_cursor || null;
  } catch (problem) {
    if (generation !== listGeneration) return;
    showProblem('Loading the videos', problem);
  }
  els.more.hidden = !nextCursor;
  updateEmpty();
}

function createEntry(video) {
  const parts = {
    name: h('span', { className: 'name' }),
    status: h('span', { className: 'status' }),
    meta: h('p', { className: 'meta' }),
    frames: h('progress', { className: 'frames', max: 100, value: 0 }),
    progressText: h('p', { className: 'progress-text' }),
    renditions: h('p', { className: 'renditions-progress' }),
    error: h('p', { className: 'video-error' }),
    play: h('button', { type: 'button', className: 'play primary', textContent: 'Play' }),
    cancel: h('button', { type: 'button', className: 'cancel', textContent: 'Cancel' }),
    retry: h('button', { type: 'button', className: 'retry', textContent: 'Retry' }),
    delete: h('button', { type: 'button', className: 'delete danger', textContent: 'Delete' }),
  };
  const el = h('li', { className: 'video' },
    h('div', { className: 'video-head' }, parts.name, parts.status),
    parts.meta,
    parts.frames,
    parts.progressText,
    parts.renditions,
    parts.error,
    h('div', { className: 'actions' }, parts.play, parts.cancel, parts.retry, parts.delete));
  el.dataset.videoId = video.id;
  const entry = {
    id: video.id, data: video, el, parts, abort: null, following: false, lastEventId: null, addedAt: performance.now(),
  };
  parts.play.addEventListener('click', () => play(entry));
  parts.cancel.addEventListener('click', () => act(entry, parts.cancel, 'cancel', 'Cancel'));
  parts.retry.addEventListener('click', () => act(entry, parts.retry, 'retry', 'Retry'));
  parts.delete.addEventListener('click', () => remove(entry));
  return entry;
}

function render(entry) {
  const video = entry.data;
  const { parts } = entry;
  const { status } = video;
  entry.el.dataset.status = status;
  parts.name.textContent = displayName(video);
  parts.name.title = `${displayName(video)} (${video.id})`;
  parts.status.textContent = status;
  parts.meta.textContent = metaLine(video);

  const percent = progressPercent(video);
  if (percent !== null) parts.frames.value = percent;
  else if (status === 'processing' && video.progress) parts.frames.removeAttribute('value'); // indeterminate
  else parts.frames.value = 0;
  parts.frames.setAttribute('aria-label', `Conversion of ${displayName(video)}`);
  parts.progressText.textContent = progressLine(video);

  const renditions = video.progress?.renditions || [];
  parts.renditions.textContent = renditions.map((r) => `${r.name} ${r.frames_done}`).join(' · ');
  parts.renditions.hidden = renditions.length === 0 || status === 'completed';

  const error = video.error;
  if (error) {
    const prefix = status === 'failed' ? '' : 'Last attempt failed, retrying: ';
    parts.error.textContent = `${prefix}${error.code}: ${error.message}`;
  }
  parts.error.hidden = !error;

  // Playable as soon as it has a playback URL: while converting too (progressive publishing).
  parts.play.hidden = !video.playback_url;
  parts.cancel.hidden = !['importing', 'pending', 'processing'].includes(status);
  parts.retry.hidden = status !== 'failed';
  for (const button of [parts.play, parts.cancel, parts.retry, parts.delete]) {
    button.setAttribute('aria-label', `${button.textContent} ${displayName(video)}`);
  }
}

function updateEntry(entry, video) {
  entry.data = video;
  render(entry);
  watch(entry);
}

function removeEntry(entry) {
  unwatch(entry);
  entry.el.remove();
  entries.delete(entry.id);
  if (playingId === entry.id) listener.playingRemoved();
  updateEmpty();
}

function updateEmpty() {
  els.videosEmpty.hidden = entries.size > 0;
}

/** Play: a fresh copy of the video first (with private playback, the link is signed anew). */
async function play(entry) {
  clearError();
  let video = entry.data;
  try {
    video = await api('GET', `/v1/videos/${encodeURIComponent(entry.id)}`);
    if (entries.has(entry.id)) updateEntry(entry, video);
  } catch (problem) {
    console.warn('playing the link already known', problem);
  }
  if (!video.playback_url) {
    showError(`${displayName(video)} has no playback URL yet.`);
    return;
  }
  listener.play(video);
}

/** Cancel or Retry: POST /v1/videos/{id}/{action}, answered with the video (202). */
async function act(entry, button, action, label) {
  button.disabled = true;
  try {
    const video = await api('POST', `/v1/videos/${encodeURIComponent(entry.id)}/${action}`);
    if (video && entries.has(entry.id)) updateEntry(entry, video);
  } catch (problem) {
    showProblem(`${label} of ${displayName(entry.data)}`, problem);
  } finally {
    button.disabled = false;
  }
}

async function remove(entry) {
  entry.parts.delete.disabled = true;
  try {
    await api('DELETE', `/v1/videos/${encodeURIComponent(entry.id)}`);
    removeEntry(entry);
  } catch (problem) {
    if (problem.status === 404) {
      removeEntry(entry); // already gone
    } else {
      showProblem(`Deleting ${displayName(entry.data)}`, problem);
    }
  } finally {
    entry.parts.delete.disabled = false;
  }
}
