// How the page words a video: `node --test web/test/` (in `make test`).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  displayName, formatBitrate, formatBytes, formatSeconds, formatWhen, metaLine, progressLine, progressPercent,
} from '../format.js';

test('sizes, durations and bitrates read as people write them', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.5 KB');
  assert.equal(formatBytes(12_400_000), '12 MB');
  assert.equal(formatBytes(3.2e12), '3.2 TB');
  assert.equal(formatBytes(undefined), '');
  assert.equal(formatBytes(Number.NaN), '');
  assert.equal(formatSeconds(42.4), '42 s');
  assert.equal(formatSeconds(185), '3 min 5 s');
  assert.equal(formatSeconds(3720), '1 h 2 min');
  assert.equal(formatSeconds(-3), '0 s');
  assert.equal(formatBitrate(2_500_000), '2.5 Mbps');
  assert.equal(formatBitrate(640_000), '640 kbps');
  assert.equal(formatBitrate(0), '');
});

test('a date is its time today and its day otherwise; nonsense is nothing', () => {
  const now = new Date('2026-12-03T14:05:00');
  const today = formatWhen('2026-12-03T09:30:00', now);
  const earlier = formatWhen('2026-11-27T09:30:00', now);
  assert.ok(today.length > 0 && earlier.length > today.length, `${today} / ${earlier}`);
  assert.equal(formatWhen('not a date', now), '');
});

test('a video is named by its file, else its id', () => {
  assert.equal(displayName({ id: 'v1', original_filename: 'cat.mp4' }), 'cat.mp4');
  assert.equal(displayName({ id: 'v1', original_filename: null }), 'v1');
});

test('the meta line says what the video is, from what is known', () => {
  const video = {
    source_bytes: 12_400_000,
    source: { width: 1440, height: 1080, display_width: 1920, display_height: 1080, duration: 9.96 },
    renditions: [{ name: '1080p' }, { name: '720p' }],
  };
  assert.equal(metaLine(video), '12 MB · 1920×1080 · 10.0 s · 1080p, 720p');
  // The published duration wins over the source's; a pending video has no renditions.
  assert.equal(metaLine({ ...video, duration_seconds: 10.04, renditions: null }), '12 MB · 1920×1080 · 10.0 s');
  assert.equal(metaLine({ source_bytes: 5 }), '5 B');
});

test('progress never says 100% before the video is completed', () => {
  const running = {
    status: 'processing',
    progress: { frames_done: 749, frames_expected: 750, percent: 99.9, fps: 61.2, speed: 2.04, eta: 0.4 },
  };
  assert.equal(progressPercent(running), 99.9);
  assert.equal(progressLine(running), '749 / 750 frames · 99% · 61 fps · 2.0x · ETA 0 s');
  const done = { status: 'completed', progress: { ...running.progress, frames_done: 750, elapsed: 12.3 } };
  assert.equal(progressPercent(done), 100);
  assert.equal(progressLine(done), '750 / 750 frames · 100% · 61 fps · 2.0x · took 12 s');
  // A source of unknown length: frames only, no percent.
  const open = { status: 'processing', progress: { frames_done: 120, frames_expected: null } };
  assert.equal(progressPercent(open), null);
  assert.equal(progressLine(open), '120 frames');
  // Out-of-range figures are clamped.
  assert.equal(progressPercent({ status: 'processing', progress: { percent: 140 } }), 100);
});

test('before any progress, the line says what the video waits for', () => {
  assert.equal(progressLine({ status: 'importing' }), 'Downloading from its URL…');
  assert.equal(
    progressLine({ status: 'uploading', upload: { bytes_received: 1048576, bytes_expected: 4194304 } }),
    `Uploading: ${formatBytes(1048576)} of ${formatBytes(4194304)}`,
  );
  assert.equal(progressLine({ status: 'pending' }), 'Waiting for a worker…');
  assert.equal(progressLine({ status: 'processing' }), 'Starting…');
  assert.equal(progressLine({ status: 'canceled' }), 'Canceled before a worker started it.');
  assert.equal(progressLine({ status: 'failed' }), '');
});
