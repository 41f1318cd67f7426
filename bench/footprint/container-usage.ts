/**
 * A container's memory and CPU as the kubelet reads them on cgroup v1 (cAdvisor, the cgroupfs driver). The working
 * set is memory.usage_in_bytes minus total_inactive_file from memory.stat (0 if that is negative); `kubectl top` and
 * the eviction manager use it, and it is what a memory request should cover. The memory limit bounds
 * memory.usage_in_bytes, page cache included (reclaimed first when the limit is reached).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupMemory {
  readonly usageBytes: number;
  readonly inactiveFileBytes: number;
  readonly workingSetBytes: number;
  /** total_rss: anonymous memory (the process's heap, V8's pages, thread stacks). */
  readonly rssBytes: number;
  /** total_cache: page cache charged to the container (its files read, e.g. the image's node binary). */
  readonly cacheBytes: number;
  /** memory.max_usage_in_bytes: the cgroup's peak usage since it was made. */
  readonly maxUsageBytes: number;
}

/** memory.stat: `name value` lines. */
export function parseMemoryStat(text: string): Map<string, number> {
  const stat = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name && value !== undefined) stat.set(name, Number(value));
  }
  return stat;
}

/** cAdvisor's working set: usage minus inactive file pages, never below 0. */
export function workingSet(usageBytes: number, stat: ReadonlyMap<string, number>): number {
  const inactiveFile = stat.get('total_inactive_file') ?? 0;
  return usageBytes < inactiveFile ? 0 : usageBytes - inactiveFile;
}

const QOS_FOLDER: Readonly<Record<string, string>> = { Guaranteed: '', Burstable: 'burstable', BestEffort: 'besteffort' };

/** The container's cgroup of one controller (its root, e.g. /sys/fs/cgroup/memory) under the kubelet's cgroupfs layout: kubepods/[qos/]pod<uid>/<container id>. */
export function containerCgroupDir(root: string, qosClass: string, podUid: string, containerID: string): string {
  const qos = QOS_FOLDER[qosClass];
  if (qos === undefined) throw new Error(`unknown pod QoS class ${JSON.stringify(qosClass)} (want Guaranteed, Burstable or BestEffort)`);
  const id = /^containerd:\/\/([0-9a-f]{64})$/.exec(containerID)?.[1];
  if (!id) throw new Error(`container ID ${JSON.stringify(containerID)} is not containerd://<64 hex digits>`);
  return join(root, 'kubepods', qos, `pod${podUid}`, id);
}

export function readCgroupMemory(dir: string): CgroupMemory {
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  const usageBytes = Number(read('memory.usage_in_bytes'));
  const stat = parseMemoryStat(read('memory.stat'));
  return {
    usageBytes,
    inactiveFileBytes: stat.get('total_inactive_file') ?? 0,
    workingSetBytes: workingSet(usageBytes, stat),
    rssBytes: stat.get('total_rss') ?? 0,
    cacheBytes: stat.get('total_cache') ?? 0,
    maxUsageBytes: Number(read('memory.max_usage_in_bytes')),
  };
}

/** One process's resident memory by kind (/proc/PID/smaps_rollup), whatever cgroup its pages are charged to. */
export interface ProcessMemory {
  readonly rssBytes: number;
  readonly anonymousBytes: number;
  /** Rss − Anonymous: mapped file pages (the node binary, its libraries), charged to the cgroup that first read them. */
  readonly fileBytes: number;
}

export function parseSmapsRollup(text: string): ProcessMemory {
  const kB = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`smaps_rollup has no ${name} line`);
    return Number(m[1]) * 1024;
  };
  const rssBytes = kB('Rss');
  const anonymousBytes = kB('Anonymous');
  return { rssBytes, anonymousBytes, fileBytes: rssBytes - anonymousBytes };
}

export function readProcessMemory(pid: number): ProcessMemory {
  return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
}

/** CPU time the container's processes used so far (cpuacct.usage, in the cpuacct controller's cgroup). */
export function readCpuSeconds(dir: string): number {
  return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;
}
