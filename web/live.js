// Live updates of unfinished videos: GET /v1/videos/{id}/events, read with fetch() because
// EventSource cannot send an Authorization header, parsed by SseParser (sse.js), opened
// again with Last-Event-ID when it breaks. Each stream holds an HTTP/1.1 connection and a
// browser opens at most 6 to one host, so at most MAX_STREAMS are followed at once
// (processing videos first); the others wait for a free slot.
//
// An entry is the list's record of one video: {id, data (the video), abort, following,
// lastEventId}. What an event changes is the listener's to apply (see followVideos).

import { problemFrom } from './api.js';
import { FINAL_STATUSES, displayName } from './format.js';
import { authHeaders, keyAccepted, showError, showProblem, sleep } from './page.js';
import { SseParser } from './sse.js';

const MAX_STREAMS = 4;
const RECONNECT_MS = 1000;
const RECONNECT_MAX_MS = 10000;

/** {status(entry, video), progress(entry, update), gone(entry)}: set by followVideos. */
let listener = null;
const streamQueue = [];
let activeStreams = 0;

/** Says what to do with events: a new status (the whole video), progress, a deleted video. */
export function followVideos(handlers) {
  listener = handlers;
}

/** Follows the entry's events if it is unfinished and not followed yet. */
export function watch(entry) {
  if (entry.following || FINAL_STATUSES.has(entry.data.status)) return;
  entry.following = true;
  entry.abort = new AbortController();
  streamQueue.push(entry);
  pumpStreams();
}

/** Stops following the entry (or takes it out of the queue). */
export function unwatch(entry) {
  entry.abort?.abort();
  const queued = streamQueue.indexOf(entry);
  if (queued !== -1) streamQueue.splice(queued, 1);
}

function pumpStreams() {
  // Processing videos first, then the oldest pending ones: the order the workers take them.
  const rank = (e) => (e.data.status === 'processing' ? 0 : 1);
  streamQueue.sort((a, b) => rank(a) - rank(b) || String(a.data.created_at).localeCompare(String(b.data.created_at)));
  while (activeStreams < MAX_STREAMS && streamQueue.length > 0) {
    const entry = streamQueue.shift();
    if (entry.abort.signal.aborted) continue;
    activeStreams += 1;
    follow(entry)
      .catch((error) => console.error(error))
      .finally(() => {
        activeStreams -= 1;
        entry.following = false;
        pumpStreams();
      });
  }
}

/**
 * Follows /v1/videos/{id}/events until the video is final, deleted, or the entry is dropped.
 * A stream that ends otherwise is opened again after 1 s (longer after repeated failures),
 * with Last-Event-ID; 204 means nothing more will come; a 4xx answer is shown and ends it.
 */
async function follow(entry) {
  const { signal } = entry.abort;
  let delay = RECONNECT_MS;
  while (!signal.aborted) {
    const headers = authHeaders({ Accept: 'text/event-stream' });
    if (entry.lastEventId !== null) headers['Last-Event-ID'] = entry.lastEventId;
    try {
      const response = await fetch(`/v1/videos/${encodeURIComponent(entry.id)}/events`, {
        headers,
        signal,
        cache: 'no-store',
      });
      if (response.status === 204) return;
      if (!response.ok) {
        const problem = await problemFrom(response);
        if (response.status < 500) {
          if (response.status === 404 && problem.code === 'video-not-found') {
            listener.gone(entry);
          } else {
            showProblem(`Live updates for ${displayName(entry.data)}`, problem);
          }
          return;
        }
        throw problem; // 5xx: try again
      }
      keyAccepted();
      const type = response.headers.get('Content-Type') || '';
      if (!type.startsWith('text/event-stream')) {
        showError(`Live updates for ${displayName(entry.data)} failed: the service answered ${type || 'no Content-Type'} instead of text/event-stream.`);
        return;
      }
      delay = RECONNECT_MS;
      if (await consumeEvents(entry, response.body)) return;
    } catch (error) {
      if (signal.aborted) return;
      console.warn(`events of ${entry.id}: ${error.message || error}; reconnecting`);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** Reads one response body; true when an event said the stream is over. */
async function consumeEvents(entry, body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser((event) => handleEvent(entry, event), entry.lastEventId);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false; // ended early: an unfinished event is dropped, as EventSource does
      const over = parser.push(decoder.decode(value, { stream: true }));
      entry.lastEventId = parser.lastEventId;
      if (over) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Hands one event to the listener; true when nothing more will come. */
function handleEvent(entry, event) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    console.warn('ignoring an event whose data is not JSON', event);
    return false;
  }
  switch (event.type) {
    case 'status':
      listener.status(entry, data);
      return FINAL_STATUSES.has(data.status);
    case 'playable': // playable while still converting: the video, with its playback_url
      listener.status(entry, data);
      return false;
    case 'progress':
      listener.progress(entry, data);
      return false;
    case 'deleted':
      listener.gone(entry);
      return true;
    default:
      return false;
  }
}
