// Reading the storyboard's WebVTT file: `node --test web/test/` (in `make test`).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cueAt, parseStoryboard, vttSeconds } from '../storyboard.js';

const BOARD = 'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite_001.jpg#xywh=0,0,160,90\n\n'
  + '00:00:02.000 --> 01:00:04.500\nsprite_001.jpg#xywh=160,0,160,90\n\n'
  + '01:00:04.500 --> 01:00:05.000\nnot-a-thumbnail.txt\n';

test('timestamps with and without hours', () => {
  assert.equal(vttSeconds('00:00:02.000'), 2);
  assert.equal(vttSeconds('01:00:04.500'), 3604.5);
  assert.equal(vttSeconds('02:03.250'), 123.25);
  assert.ok(Number.isNaN(vttSeconds('2.0')));
});

test('cues name a sheet resolved against the file and a rectangle in it', () => {
  const cues = parseStoryboard(BOARD, 'https://cdn.example/v/1/storyboard/storyboard.vtt?sig=x');
  assert.equal(cues.length, 2);
  assert.deepEqual(cues[1], {
    start: 2, end: 3604.5, url: 'https://cdn.example/v/1/storyboard/sprite_001.jpg', x: 160, y: 0, width: 160, height: 90,
  });
  // Presigned sheets (private playback) are absolute already.
  const signed = parseStoryboard('WEBVTT\n\n00:00.000 --> 00:02.000\nhttps://s3.example/a.jpg?X-Amz=1#xywh=0,90,160,90\n', 'https://api.example/x.vtt');
  assert.equal(signed[0].url, 'https://s3.example/a.jpg?X-Amz=1');
  assert.equal(signed[0].y, 90);
});

test('the cue for a moment is the last one started', () => {
  const cues = parseStoryboard(BOARD, 'https://cdn.example/storyboard.vtt');
  assert.equal(cueAt(cues, -1), null);
  assert.equal(cueAt(cues, 0).x, 0);
  assert.equal(cueAt(cues, 1.999).x, 0);
  assert.equal(cueAt(cues, 2).x, 160);
  assert.equal(cueAt(cues, 99999).x, 160);
});
