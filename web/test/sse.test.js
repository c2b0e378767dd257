// The page's event-stream parser against the WHATWG rules, fed the way a network delivers:
// whole, in arbitrary chunks, and split inside line endings. Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SseParser } from '../sse.js';

/** Every event the parser dispatches for `chunks`, fed one after the other. */
function parse(chunks, lastEventId = null) {
  const events = [];
  const parser = new SseParser((event) => { events.push(event); }, lastEventId);
  for (const chunk of chunks) parser.push(chunk);
  return { events, parser };
}

/** `text` cut at every position into two chunks, and into single characters. */
function splits(text) {
  const ways = [[text], [...text]];
  for (let i = 1; i < text.length; i += 1) ways.push([text.slice(0, i), text.slice(i)]);
  return ways;
}

const STREAM = 'id: 2\nevent: status\ndata: {"status":"processing"}\n\n'
  + ': keep-alive\n\n'
  + 'id: 3\r\nevent: progress\r\ndata: {"frames_done":31}\r\n\r\n'
  + 'data: first line\rdata: second line\r\r';

const EXPECTED = [
  { type: 'status', id: '2', data: '{"status":"processing"}' },
  { type: 'progress', id: '3', data: '{"frames_done":31}' },
  { type: 'message', id: '3', data: 'first line\nsecond line' },
];

test('the same events come out however the stream is cut into chunks', () => {
  for (const chunks of splits(STREAM)) {
    assert.deepEqual(parse(chunks).events, EXPECTED, JSON.stringify(chunks));
  }
});

test('a CR LF split between two chunks ends one line, not two', () => {
  const { events } = parse(['data: a\r', '\ndata: b\r', '\n\r', '\n']);
  assert.deepEqual(events, [{ type: 'message', id: null, data: 'a\nb' }]);
});

test('comments, unknown fields and events without data dispatch nothing', () => {
  const { events } = parse([': ping\n\nretry: 5000\n\nevent: status\n\nfoo: bar\n\n']);
  assert.deepEqual(events, []);
});

test('a field without a colon is a field with an empty value; one leading space is dropped', () => {
  const { events } = parse(['data\ndata:  two spaces\ndata:none\n\n']);
  assert.deepEqual(events, [{ type: 'message', id: null, data: '\n two spaces\nnone' }]);
});

test('the last event id carries over, and an id with NUL is ignored', () => {
  const { events, parser } = parse(['id: 7\ndata: a\n\n', 'data: b\n\n', 'id: x\0y\ndata: c\n\n'], '5');
  assert.deepEqual(events.map((e) => e.id), ['7', '7', '7']);
  assert.equal(parser.lastEventId, '7');
  const resumed = parse(['data: d\n\n'], '9').events;
  assert.deepEqual(resumed, [{ type: 'message', id: '9', data: 'd' }]);
});

test('an incomplete event at the end of the stream is not dispatched', () => {
  assert.deepEqual(parse(['data: half\n']).events, []);
  assert.deepEqual(parse(['data: half']).events, []);
});

test('a byte order mark opening the stream is dropped, and only there', () => {
  const { events } = parse(['\uFEFFdata: a\n\n', '\uFEFFdata: b\n\n']);
  assert.deepEqual(events.map((e) => e.data), ['a']);
});

test('push() stops at the event its handler refuses more after, leaving the rest unparsed', () => {
  const seen = [];
  const parser = new SseParser((event) => { seen.push(event.data); return event.data === 'stop'; });
  assert.equal(parser.push('data: a\n\ndata: stop\n\ndata: after\n\n'), true);
  assert.deepEqual(seen, ['a', 'stop']);
});
