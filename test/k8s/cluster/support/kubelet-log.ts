/**
 * What the real kubelet did to a pod's containers, read from its own log (klog, --v=3): the lines of
 * pkg/kubelet/kuberuntime/kuberuntime_container.go executePreStopHook and killContainer (v1.37.2):
 *
 *   "Running preStop hook"                   V(3), before the hook's call
 *   "PreStop hook completed"                 V(3), the hook returned within the grace period
 *   "PreStop hook not completed in grace period"  V(2)
 *   "Killing container with a grace period"  V(2), right before the runtime's StopContainer (SIGTERM)
 *   "Container exited normally"              V(3), StopContainer returned
 */
import { readFileSync } from 'node:fs';
import { kubeletLogPath } from './kube';

export interface KubeletEvent {
  readonly container: string;
  /** epoch ms (klog writes local time with microseconds; the machine runs in UTC). */
  readonly at: number;
  readonly gracePeriod?: number;
}

export interface KubeletEvents {
  readonly preStop: KubeletEvent[];
  readonly preStopCompleted: KubeletEvent[];
  readonly preStopNotCompleted: KubeletEvent[];
  readonly kill: KubeletEvent[];
  readonly exited: KubeletEvent[];
}

const LINE = /^[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s+\d+ \S+\] "([^"]+)" (.*)$/;

function field(rest: string, name: string): string | undefined {
  return new RegExp(`(?:^| )${name}="?([^" ]*)"?`).exec(rest)?.[1];
}

/** The kubelet's events for pod `name` (any namespace) since `since` (epoch ms). */
export function kubeletEvents(name: string, since: number, path = kubeletLogPath()): KubeletEvents {
  const out: KubeletEvents = { preStop: [], preStopCompleted: [], preStopNotCompleted: [], kill: [], exited: [] };
  const year = new Date(since).getUTCFullYear();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, mo, d, h, mi, s, us, msg, rest] = m;
    const pod = field(rest!, 'pod');
    if (!pod || pod.split('/')[1] !== name) continue;
    const at = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + Math.floor(Number(us) / 1000);
    if (at < since) continue;
    const container = field(rest!, 'containerName') ?? '';
    const grace = field(rest!, 'gracePeriod');
    const event: KubeletEvent = { container, at, ...(grace === undefined ? {} : { gracePeriod: Number(grace) }) };
    if (msg === 'Running preStop hook') out.preStop.push(event);
    else if (msg === 'PreStop hook completed') out.preStopCompleted.push(event);
    else if (msg === 'PreStop hook not completed in grace period') out.preStopNotCompleted.push(event);
    else if (msg === 'Killing container with a grace period') out.kill.push(event);
    else if (msg === 'Container exited normally') out.exited.push(event);
  }
  return out;
}
