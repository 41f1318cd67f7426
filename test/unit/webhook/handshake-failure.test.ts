import { CERTIFICATE_HINT, describeHandshakeFailure, peerOf } from '../../../src/webhook/handshake-failure';

/** The shape of the errors Node's TLS server emits on 'tlsClientError' (OpenSSL errors carry `reason`). */
function opensslError(code: string, reason: string): Error {
  return Object.assign(new Error(`00E3F6DF2E7F0000:error:0A000418:SSL routines:ssl3_read_bytes:${reason}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:`), { code, reason, library: 'SSL routines' });
}

describe('a failed TLS handshake, described', () => {
  test.each([
    // What Go's crypto/tls (the apiserver) sends when the caBundle does not hold the issuing CA.
    ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', 'ssl/tls alert bad certificate'],
    // What OpenSSL clients send for the same.
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca'],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'sslv3 alert certificate expired'],
  ])('%s: the caller rejected our certificate; the short reason and the caBundle hint', (code, reason) => {
    expect(describeHandshakeFailure(opensslError(code, reason))).toEqual({ kind: 'rejected', reason, code, hint: CERTIFICATE_HINT });
  });

  test('another alert from the caller (no shared protocol version): rejected, without the certificate hint', () => {
    expect(describeHandshakeFailure(opensslError('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version'))).toEqual({
      kind: 'rejected',
      reason: 'tlsv1 alert protocol version',
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
  });

  test('a connection closed before the handshake ended, or plain HTTP on the TLS port: failed, with the message', () => {
    expect(describeHandshakeFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toEqual({ kind: 'failed', reason: 'socket hang up', code: 'ECONNRESET' });
    expect(describeHandshakeFailure(opensslError('ERR_SSL_HTTP_REQUEST', 'http request'))).toEqual({ kind: 'failed', reason: 'http request', code: 'ERR_SSL_HTTP_REQUEST' });
  });

  test('anything else thrown: its text, cut to 200 characters, no code', () => {
    expect(describeHandshakeFailure('x'.repeat(500))).toEqual({ kind: 'failed', reason: 'x'.repeat(200) });
    expect(describeHandshakeFailure(undefined)).toEqual({ kind: 'failed', reason: 'undefined' });
  });
});

describe('the peer of a socket', () => {
  test('IPv4, IPv6 (bracketed), IPv4-mapped (shown as IPv4), and a socket already closed', () => {
    expect(peerOf({ remoteAddress: '10.213.0.2', remotePort: 51234 })).toBe('10.213.0.2:51234');
    expect(peerOf({ remoteAddress: 'fd00::2', remotePort: 443 })).toBe('[fd00::2]:443');
    // The apiserver as the webhook's dual-stack listener (::) sees it on the real cluster.
    expect(peerOf({ remoteAddress: '::ffff:10.214.0.1', remotePort: 53504 })).toBe('10.214.0.1:53504');
    expect(peerOf({ remoteAddress: '::ffff:abcd', remotePort: 1 })).toBe('[::ffff:abcd]:1');
    expect(peerOf({ remoteAddress: '10.213.0.2' })).toBe('10.213.0.2');
    expect(peerOf({})).toBeUndefined();
  });
});
