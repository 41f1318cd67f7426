import { connect } from 'node:net';

/** One response as read off the wire. */
export interface RawResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** Interim (1xx) responses seen before this one. */
  readonly interim: readonly number[];
}

export interface RawExchangeOptions {
  readonly port: number;
  readonly host?: string;
  /** Written in order; a small pause between chunks splits a frame across reads. */
  readonly chunks: readonly Buffer[];
  readonly pauseMs?: number;
  /** Which of the expected responses answer a HEAD (no body on the wire). */
  readonly heads: readonly boolean[];
  /** Stop reading (and destroy the socket) once this many final responses arrived. */
  readonly expectResponses: number;
  /** Half-close after writing, so the server sees the end of the stream. */
  readonly halfClose: boolean;
  /** Hard bound for the whole exchange. */
  readonly timeoutMs: number;
}

export interface RawExchangeResult {
  readonly responses: RawResponse[];
  /** How the exchange ended: got what it expected, the server closed, our timeout, or a socket error. */
  readonly end: 'done' | 'closed' | 'timeout' | 'error';
  readonly error?: string;
  /** Bytes after the last complete response that do not form a response (non-empty = malformed). */
  readonly leftover: Buffer;
  /** A description of why the bytes on the wire are not a well-formed response, if they are not. */
  readonly malformed?: string;
  /** The first bytes the server sent, for reports. */
  readonly received: Buffer;
  readonly ms: number;
}

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEAD_BYTES = 64 * 1024;

type Parsed = { kind: 'response'; response: RawResponse; consumed: number } | { kind: 'incomplete' } | { kind: 'malformed'; reason: string };

/**
 * Parses one HTTP/1.x response from the start of `buf`. `head` means the
 * request was a HEAD (no body whatever the headers say). `closed` means no
 * more bytes will come, so a body without a length ends here.
 */
export function parseResponse(buf: Buffer, head: boolean, closed: boolean, interim: number[] = []): Parsed {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (buf.length > MAX_HEAD_BYTES) return { kind: 'malformed', reason: `no end of head in ${buf.length} bytes` };
    return closed && buf.length > 0 ? { kind: 'malformed', reason: 'connection closed inside a response head' } : { kind: 'incomplete' };
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/.exec(lines[0] ?? '');
  if (!statusLine) return { kind: 'malformed', reason: `bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}` };
  const status = Number(statusLine[1]);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TOKEN_CHARS.test(name)) return { kind: 'malformed', reason: `bad header line ${JSON.stringify(line.slice(0, 80))}` };
    // eslint-disable-next-line no-control-regex -- control characters are what it refuses
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return { kind: 'malformed', reason: `control character in header ${name}` };
    headers.push([name.toLowerCase(), value]);
  }
  const bodyStart = headEnd + 4;
  if (status >= 100 && status < 200) {
    if (status === 101) return { kind: 'malformed', reason: '101 Switching Protocols (nothing here upgrades)' };
    const rest = parseResponse(buf.subarray(bodyStart), head, closed, [...interim, status]);
    return rest.kind === 'response' ? { ...rest, consumed: rest.consumed + bodyStart } : rest;
  }
  const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
  const encodings = headers.filter(([n]) => n === 'transfer-encoding').map(([, v]) => v.toLowerCase());
  if (lengths.length > 1) return { kind: 'malformed', reason: `${lengths.length} Content-Length headers` };
  if (lengths.length === 1 && encodings.length > 0) return { kind: 'malformed', reason: 'both Content-Length and Transfer-Encoding' };
  const done = (body: Buffer, end: number): Parsed => ({ kind: 'response', response: { status, headers, body, interim }, consumed: end });
  if (head || status === 204 || status === 304) {
    if (lengths.length === 1 && !/^\d+$/.test(lengths[0]!)) return { kind: 'malformed', reason: `bad Content-Length ${lengths[0]}` };
    return done(Buffer.alloc(0), bodyStart);
  }
  if (encodings.length > 0) {
    if (encodings.join(',').replace(/\s/g, '') !== 'chunked') return { kind: 'malformed', reason: `unexpected Transfer-Encoding ${encodings.join(',')}` };
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return closed ? { kind: 'malformed', reason: 'closed inside a chunk size line' } : { kind: 'incomplete' };
      const sizeText = buf.subarray(at, lineEnd).toString('latin1');
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return { kind: 'malformed', reason: `bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}` };
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        // No trailers from this server: the last chunk is followed by a bare CRLF.
        if (buf.length < lineEnd + 4) return closed ? { kind: 'malformed', reason: 'closed before the last chunk ended' } : { kind: 'incomplete' };
        if (buf.subarray(lineEnd + 2, lineEnd + 4).toString('latin1') !== '\r\n') return { kind: 'malformed', reason: 'trailers or garbage after the last chunk' };
        return done(Buffer.concat(parts), lineEnd + 4);
      }
      if (buf.length < lineEnd + 2 + size + 2) return closed ? { kind: 'malformed', reason: 'closed inside a chunk' } : { kind: 'incomplete' };
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      if (buf.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString('latin1') !== '\r\n') return { kind: 'malformed', reason: 'chunk not followed by CRLF' };
      at = lineEnd + 4 + size;
    }
  }
  if (lengths.length === 1) {
    if (!/^\d+$/.test(lengths[0]!)) return { kind: 'malformed', reason: `bad Content-Length ${lengths[0]}` };
    const length = Number(lengths[0]);
    if (buf.length < bodyStart + length) return closed ? { kind: 'malformed', reason: `closed after ${buf.length - bodyStart} of ${length} body bytes` } : { kind: 'incomplete' };
    return done(Buffer.from(buf.subarray(bodyStart, bodyStart + length)), bodyStart + length);
  }
  // No length: the body runs to the close (only legal when the server closes).
  if (!closed) return { kind: 'incomplete' };
  return done(Buffer.from(buf.subarray(bodyStart)), buf.length);
}

/**
 * Writes raw bytes to a server and reads back whole responses, so malformed
 * frames can be sent and the answers checked byte by byte. Always settles
 * within `timeoutMs` (the socket is destroyed then).
 */
export function rawExchange(options: RawExchangeOptions): Promise<RawExchangeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ port: options.port, host: options.host ?? '127.0.0.1', allowHalfOpen: true });
    let buffer: Buffer = Buffer.alloc(0);
    const responses: RawResponse[] = [];
    let finished = false;
    let malformed: string | undefined;
    const received: Buffer[] = [];
    let receivedBytes = 0;

    const finish = (end: RawExchangeResult['end'], error?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (end !== 'done' && malformed === undefined) drain(true);
      resolve({
        responses,
        end,
        ...(error !== undefined ? { error } : {}),
        leftover: buffer,
        ...(malformed !== undefined ? { malformed } : {}),
        received: Buffer.concat(received),
        ms: Date.now() - started,
      });
    };
    const drain = (closed: boolean): void => {
      while (malformed === undefined && buffer.length > 0) {
        const head = options.heads[responses.length] ?? false;
        const parsed = parseResponse(buffer, head, closed);
        if (parsed.kind === 'incomplete') return;
        if (parsed.kind === 'malformed') {
          malformed = parsed.reason;
          return;
        }
        responses.push(parsed.response);
        buffer = buffer.subarray(parsed.consumed);
      }
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);

    socket.on('data', (chunk: Buffer) => {
      if (receivedBytes < 4096) received.push(chunk.subarray(0, 4096 - receivedBytes));
      receivedBytes += chunk.length;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      drain(false);
      if (malformed !== undefined) finish('done');
      else if (responses.length >= options.expectResponses) finish('done');
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => finish('error', error.code ?? error.message));
    socket.once('connect', () => {
      void (async () => {
        for (let i = 0; i < options.chunks.length && !finished; i++) {
          if (i > 0 && options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
          if (finished || socket.destroyed) return;
          socket.write(options.chunks[i]!);
        }
        if (options.halfClose && !finished && !socket.destroyed) socket.end();
      })();
    });
  });
}
