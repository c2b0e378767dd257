// The storyboard: the WebVTT file of seek-bar thumbnails a completed video has
// (storyboard_url), read into cues, and the cue for a moment. Pure, unit-tested in
// web/test/storyboard.test.js.

/** Seconds of a WebVTT timestamp, `hh:mm:ss.ttt` or `mm:ss.ttt`; NaN when it is not one. */
export function vttSeconds(stamp) {
  const match = /^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$/.exec(stamp.trim());
  if (!match) return Number.NaN;
  const [, hours = '0', minutes, seconds, millis] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(millis) / 1000;
}

/**
 * The cues of a storyboard: `{start, end, url, x, y, width, height}`, the sheet's URL
 * resolved against `base` (the WebVTT file's own URL). Cues whose payload is not an image
 * with an `#xywh=` fragment are left out.
 */
export function parseStoryboard(text, base) {
  const cues = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const timing = /^(\S+)\s+-->\s+(\S+)/.exec(lines[i]);
    if (!timing) continue;
    const payload = (lines[i + 1] || '').trim();
    const fragment = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload);
    const [start, end] = [vttSeconds(timing[1]), vttSeconds(timing[2])];
    if (!fragment || Number.isNaN(start) || Number.isNaN(end)) continue;
    const [, file, x, y, width, height] = fragment;
    cues.push({
      start, end, url: new URL(file, base).href, x: Number(x), y: Number(y), width: Number(width), height: Number(height),
    });
  }
  return cues;
}

/** The cue showing moment `seconds`: the last one starting at or before it; null before any. */
export function cueAt(cues, seconds) {
  let found = null;
  for (const cue of cues) {
    if (cue.start > seconds) break;
    found = cue;
  }
  return found;
}
