// How the page words a video resource of the API: pure functions of the JSON, no DOM, so
// that they run in node as well (unit-tested in web/test/format.test.js).

/** The statuses after which nothing changes unless a client asks (retry). */
export const FINAL_STATUSES = new Set(['completed', 'failed', 'canceled']);

/** The name a video is shown by: its original file name, else its id. */
export function displayName(video) {
  return video.original_filename || video.id;
}

/** "1.5 MB": decimal units, as file managers show sizes. */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "42 s", "3 min 5 s", "1 h 2 min". */
export function formatSeconds(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${s % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "2.5 Mbps", "640 kbps"; empty when unknown. */
export function formatBitrate(bps) {
  if (!bps) return '';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbps` : `${Math.round(bps / 1e3)} kbps`;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** "14:05" today, "Nov 27, 2025, 14:05" on other days; empty for a date it cannot read. */
export function formatWhen(iso, now = new Date()) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return '';
  return when.toDateString() === now.toDateString() ? timeFormat.format(when) : dayFormat.format(when);
}

/** "12.4 MB · 1280×720 · 10.0 s · 720p, 480p · 14:05": what the video is. */
export function metaLine(video) {
  const source = video.source || {};
  const bits = [formatBytes(video.source_bytes)];
  const width = source.display_width || source.width;
  const height = source.display_height || source.height;
  if (width && height) bits.push(`${width}×${height}`);
  const duration = video.duration_seconds ?? source.duration;
  if (typeof duration === 'number') bits.push(`${duration.toFixed(1)} s`);
  if (Array.isArray(video.renditions) && video.renditions.length > 0) {
    bits.push(video.renditions.map((r) => r.name).join(', '));
  }
  if (video.created_at) bits.push(formatWhen(video.created_at));
  return bits.filter(Boolean).join(' · ');
}

/** How far the conversion is, 0 to 100; null when unknown. */
export function progressPercent(video) {
  if (video.status === 'completed') return 100;
  const percent = video.progress?.percent;
  return typeof percent === 'number' ? Math.min(100, Math.max(0, percent)) : null;
}

/** "412 / 750 frames · 55% · 61 fps · 2.0x · ETA 6 s", or what the video waits for. */
export function progressLine(video) {
  const p = video.progress;
  if (!p) {
    if (video.status === 'uploading' && video.upload) {
      return `Uploading: ${formatBytes(video.upload.bytes_received)} of ${formatBytes(video.upload.bytes_expected)}`;
    }
    if (video.status === 'importing') return 'Downloading from its URL…';
    if (video.status === 'pending') return 'Waiting for a worker…';
    if (video.status === 'processing') return 'Starting…';
    if (video.status === 'canceled') return 'Canceled before a worker started it.';
    return '';
  }
  const bits = [p.frames_expected != null
    ? `${p.frames_done} / ${p.frames_expected} frames`
    : `${p.frames_done} frames`];
  const percent = progressPercent(video);
  if (percent !== null) {
    // Never say 100% before the video is completed.
    const shown = video.status === 'completed' ? 100 : Math.min(99, Math.round(percent));
    bits.push(`${shown}%`);
  }
  if (p.fps > 0) bits.push(`${Math.round(p.fps)} fps`);
  if (p.speed > 0) bits.push(`${p.speed.toFixed(1)}x`);
  if (FINAL_STATUSES.has(video.status)) {
    if (typeof p.elapsed === 'number') bits.push(`took ${formatSeconds(p.elapsed)}`);
  } else if (typeof p.eta === 'number') {
    bits.push(`ETA ${formatSeconds(p.eta)}`);
  }
  return bits.join(' · ');
}
