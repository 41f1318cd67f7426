import { isIP } from 'node:net';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { allowsAnyone } from './source-filter';

/** What decides who may call /prestop and /drain/abort. */
export type AdmissionConfig = Pick<Config, 'token' | 'allowedSources' | 'allowedSourcesFrom' | 'nodeIp' | 'podGateways'>;

export interface SourceAdvice {
  /** Why the caller was refused, in the configuration's own terms. */
  readonly why: string;
  /** Each setting that would admit it, exact enough to paste into the pod spec. */
  readonly admitWith: readonly string[];
}

/** With a token and no DRAINER_ALLOWED_SOURCES, the token is the guard and any source that sends it is admitted. */
const TOKEN_ADVICE = 'DRAINER_TOKEN=<a secret of 16+ characters> with the same value in the preStop hook’s httpHeaders (X-Drainer-Token), and no DRAINER_ALLOWED_SOURCES';

/**
 * Pure: why the allow-list refused `source`, and the settings that would let
 * it in. The suggested list is today's list plus the caller, because setting
 * DRAINER_ALLOWED_SOURCES replaces the default (loopback, NODE_IP and the
 * pod's gateways) instead of adding to it.
 */
export function sourceAdvice(config: AdmissionConfig, source: string): SourceAdvice {
  const shown = source.slice(0, 64);
  // A link-local peer carries its zone (fe80::1%eth0); the allow-list has no interfaces.
  const address = source.includes('%') ? source.slice(0, source.indexOf('%')) : source;
  const family = isIP(address);
  const widened = family === 0 ? [] : [`DRAINER_ALLOWED_SOURCES=${[...config.allowedSources, `${address}/${family === 4 ? 32 : 128}`].join(',')}`];
  const notAnAddress = family === 0 ? ` (${JSON.stringify(shown)} is not an IP address, so no list can name it)` : '';
  switch (config.allowedSourcesFrom) {
    case 'NODE_IP': {
      const gateways = config.podGateways.length === 0 ? 'none: the pod has no default route' : config.podGateways.join(', ');
      return {
        why: `${shown} is not loopback, NODE_IP (${config.nodeIp}) or a default gateway of the pod (${gateways}); with no DRAINER_TOKEN only those may call${notAnAddress}`,
        admitWith: [...widened, TOKEN_ADVICE],
      };
    }
    case 'DRAINER_ALLOWED_SOURCES':
      return { why: `${shown} is not in DRAINER_ALLOWED_SOURCES=${config.allowedSources.join(',')}${notAnAddress}`, admitWith: widened };
    case 'none':
      return { why: 'no source allow-list is in force', admitWith: [] };
  }
}

/** One start-up warning about who may call: the log line's fields and message. */
export interface AdmissionWarning {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/**
 * Pure: what an SRE must know at start-up about who may start a drain.
 * - Anyone may (no token, and a list that admits every address).
 * - No token and no default route in the pod: only loopback and NODE_IP are
 *   admitted, but with bridge or Cilium network plugins the kubelet calls from
 *   the node's address on the pod network (the pod's gateway, which we could
 *   not find), so its preStop is refused and the app stops undrained.
 */
export function admissionWarnings(config: AdmissionConfig): AdmissionWarning[] {
  const warnings: AdmissionWarning[] = [];
  if (config.token === undefined && allowsAnyone(config.allowedSources)) {
    warnings.push({
      fields: {},
      message: 'no DRAINER_TOKEN and a source allow-list that admits any address (empty, *, or a /0 block; see NODE_IP / DRAINER_ALLOWED_SOURCES): anyone who reaches the pod can start a drain',
    });
  }
  if (config.token === undefined && config.allowedSourcesFrom === 'NODE_IP' && config.podGateways.length === 0) {
    warnings.push({
      fields: {
        allowedSources: config.allowedSources,
        admitWith: [`DRAINER_ALLOWED_SOURCES=${[...config.allowedSources, '<the node’s address on the pod network>/32'].join(',')}`, TOKEN_ADVICE],
      },
      message:
        'no DRAINER_TOKEN and no default route in the pod, so no gateway address is admitted: only loopback and NODE_IP may call /prestop. A kubelet that calls from another node-side address (bridge and Cilium network plugins call from the node’s address on the pod network) is refused, and the app then stops WITHOUT a drain. Set one of admitWith; a refusal logs the caller’s address',
    });
  }
  return warnings;
}

export function logAdmissionWarnings(config: AdmissionConfig, logger: Logger): void {
  for (const warning of admissionWarnings(config)) logger.warn(warning.fields, warning.message);
}
