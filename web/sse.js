// The event-stream parser of the page: text/event-stream as the WHATWG HTML standard
// defines it (section 9.2.6, "Interpreting an event stream"), fed incrementally, because the
// page reads its event streams with fetch() (EventSource cannot send an Authorization
// header). Unit-tested with `node --test web/test/` (make test).

/**
 * An incremental text/event-stream parser (the WHATWG algorithm): feed it decoded text with
 * push(); it calls onEvent({type, id, data}) for each event. push() returns true as soon as
 * onEvent returns true (the caller wants no more), leaving the rest unparsed.
 */
export class SseParser {
  constructor(onEvent, lastEventId = null) {
    this.onEvent = onEvent;
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
    this.buffer = '';
    this.afterCr = false;
    this.data = [];
    this.type = '';
    this.started = false;
  }

  push(text) {
    if (!this.started && text.length > 0) {
      // A byte order mark at the very start of the stream is not part of the first line.
      if (text.startsWith('\uFEFF')) text = text.slice(1);
      this.started = true;
    }
    this.buffer += text;
    // A CR that ended the previous chunk ended its line; a LF right after it belongs to it.
    if (this.afterCr && this.buffer.length > 0) {
      if (this.buffer.startsWith('\n')) this.buffer = this.buffer.slice(1);
      this.afterCr = false;
    }
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    let stop = false;
    while (!stop) {
      lineEnd.lastIndex = start;
      const match = lineEnd.exec(this.buffer);
      if (!match) break;
      const line = this.buffer.slice(start, match.index);
      start = match.index + match[0].length;
      if (match[0] === '\r' && start === this.buffer.length) this.afterCr = true;
      stop = this.line(line);
    }
    this.buffer = this.buffer.slice(start);
    return stop;
  }

  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return false; // a comment, e.g. a keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = value;
    return false;
  }

  dispatch() {
    this.lastEventId = this.idBuffer;
    const { data, type } = this;
    this.data = [];
    this.type = '';
    if (data.length === 0) return false;
    return this.onEvent({ type: type || 'message', id: this.lastEventId, data: data.join('\n') }) === true;
  }
}
