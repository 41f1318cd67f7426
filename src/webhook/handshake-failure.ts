/**
 * What a failed TLS handshake on the webhook's port means, for its warn line. Pure.
 *
 * When the apiserver does not trust the served certificate (a caBundle that names another CA, a
 * certificate issued for another name), it ends the handshake with a TLS alert, fails open
 * (failurePolicy: Ignore) and admits the pod without the drainer. The webhook sees nothing but this
 * failure: no review arrives, no review metric moves. So the line says who rejected what, and where
 * to look.
 */

/** `rejected`: the caller sent a TLS alert (it refused our certificate, or we refused its offer). `failed`: anything else. */
export type HandshakeFailureKind = 'rejected' | 'failed';

export interface HandshakeFailure {
  readonly kind: HandshakeFailureKind;
  /** OpenSSL's short reason ("tlsv1 alert unknown ca"), or the error's message. */
  readonly reason: string;
  readonly code?: string;
  /** What the operator checks, for a kind that has a known cause. */
  readonly hint?: string;
}

/** Node's name for an alert the peer sent: ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE, … */
const PEER_ALERT = /^ERR_SSL_.*ALERT_/;

/** The alerts a client sends when it does not accept the server's certificate chain. */
const CERTIFICATE_ALERT = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED)$/;

export const CERTIFICATE_HINT =
  'the caller does not trust the certificate served here; pods it admits meanwhile start without the drainer. ' +
  "Check that the MutatingWebhookConfiguration's caBundle is the CA that issued this certificate (fingerprint256 of the served one is in this line) " +
  'and that the certificate names the Service (docs/kubernetes.md#the-webhook)';

export function describeHandshakeFailure(error: unknown): HandshakeFailure {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const reason =
    typeof fields.reason === 'string' && fields.reason !== ''
      ? fields.reason
      : typeof fields.message === 'string' && fields.message !== ''
        ? fields.message.slice(0, 200)
        : String(error).slice(0, 200);
  const kind: HandshakeFailureKind = code !== undefined && PEER_ALERT.test(code) ? 'rejected' : 'failed';
  const hint = code !== undefined && CERTIFICATE_ALERT.test(code) ? CERTIFICATE_HINT : undefined;
  return { kind, reason, ...(code === undefined ? {} : { code }), ...(hint === undefined ? {} : { hint }) };
}

/** An IPv4 peer of a dual-stack listener, as Node shows it: ::ffff:a.b.c.d. */
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * `address:port` (an IPv4-mapped address as the IPv4 address the operator knows), `[v6]:port`, or undefined when
 * the socket closed before its address was read.
 */
export function peerOf(socket: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined }): string | undefined {
  if (socket.remoteAddress === undefined) return undefined;
  const address = IPV4_MAPPED.exec(socket.remoteAddress)?.[1] ?? socket.remoteAddress;
  const host = address.includes(':') ? `[${address}]` : address;
  return socket.remotePort === undefined ? host : `${host}:${socket.remotePort}`;
}
