import { Readable, addAbortSignal } from 'node:stream';
import { BodyTooLargeError } from '../errors';

/** How far a body read got; the client names it when the read fails part-way. */
export interface ReadProgress {
  bytes: number;
}

/**
 * Reads a whole response body of at most `limit` bytes, counting the bytes
 * after decompression (a 200 KiB gzip can inflate to 200 MiB). Past the limit
 * it destroys the stream, which closes the socket, and throws
 * BodyTooLargeError: nothing beyond `limit` plus one chunk is ever held.
 * A declared Content-Length over the limit is refused before reading; it
 * counts compressed bytes, and gzip never shrinks a body's inflated size below
 * its compressed one by more than a few bytes of header.
 */
export async function readBody(
  stream: Readable,
  limit: number,
  options: { readonly declaredLength?: number; readonly signal?: AbortSignal; readonly progress?: ReadProgress } = {},
): Promise<Buffer> {
  if (options.declaredLength !== undefined && options.declaredLength > limit) {
    stream.destroy();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of withSignal(stream, options.signal)) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (options.progress) options.progress.bytes = total;
    if (total > limit) {
      stream.destroy();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * The first `max` bytes of a body whose content does not matter beyond a hint
 * for an error message (a 5xx page) or not at all (a write's answer). A short
 * body is read to its end, so a keep-alive socket stays usable; a long one is
 * cut off. Never fails: a broken body is just a shorter hint.
 */
export async function readPrefix(stream: Readable, max: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of withSignal(stream, signal)) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      chunks.push(buffer);
      total += buffer.length;
      if (total >= max) {
        stream.destroy();
        break;
      }
    }
  } catch {
    // the hint is best effort; the status code is the answer
  }
  return Buffer.concat(chunks, total).subarray(0, max);
}

/**
 * The stream, ended by `signal` too: the HTTP client stops watching its own
 * signal once the headers are in, so a server that sends headers and then
 * stalls would otherwise hold the read forever.
 */
function withSignal(stream: Readable, signal: AbortSignal | undefined): Readable {
  return signal ? addAbortSignal(signal, stream) : stream;
}
