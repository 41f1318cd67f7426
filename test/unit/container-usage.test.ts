/** bench/footprint/container-usage.ts: the kubelet's working set from a cgroup v1 memory controller, as cAdvisor computes it. */
import { describe, expect, test } from '@jest/globals';
import { containerCgroupDir, parseMemoryStat, parseSmapsRollup, workingSet } from '../../bench/footprint/container-usage';

const STAT = `cache 1000
rss 5000
total_cache 8192
total_rss 40960
total_inactive_file 4096
total_active_file 2048
`;

describe('working set', () => {
  test('is usage minus total_inactive_file (the hierarchy total, not the cgroup-local inactive_file)', () => {
    const stat = parseMemoryStat(`inactive_file 1\n${STAT}`);
    expect(workingSet(50_000, stat)).toBe(50_000 - 4096);
  });

  test('is 0, not negative, when more is inactive than used', () => {
    expect(workingSet(1000, parseMemoryStat(STAT))).toBe(0);
  });

  test('is the usage when memory.stat has no total_inactive_file', () => {
    expect(workingSet(7000, parseMemoryStat('total_rss 7000\n'))).toBe(7000);
  });
});

describe('containerCgroupDir', () => {
  const id = 'a'.repeat(64);
  test('follows the kubelet cgroupfs layout per QoS class', () => {
    expect(containerCgroupDir('/cg', 'Burstable', 'u-1', `containerd://${id}`)).toBe(`/cg/kubepods/burstable/podu-1/${id}`);
    expect(containerCgroupDir('/cg', 'BestEffort', 'u-1', `containerd://${id}`)).toBe(`/cg/kubepods/besteffort/podu-1/${id}`);
    expect(containerCgroupDir('/cg', 'Guaranteed', 'u-1', `containerd://${id}`)).toBe(`/cg/kubepods/podu-1/${id}`);
  });

  test('refuses an unknown QoS class or a container ID of another runtime, naming it', () => {
    expect(() => containerCgroupDir('/cg', 'Gold', 'u-1', `containerd://${id}`)).toThrow('unknown pod QoS class "Gold"');
    expect(() => containerCgroupDir('/cg', 'Burstable', 'u-1', `docker://${id}`)).toThrow(`container ID "docker://${id}" is not containerd://<64 hex digits>`);
  });
});

test('parseSmapsRollup splits RSS into anonymous and file-backed pages', () => {
  const text = '55588f461000-7ffe1084a000 ---p 00000000 00:00 0  [rollup]\nRss:                1712 kB\nPss:  255 kB\nAnonymous:           116 kB\n';
  expect(parseSmapsRollup(text)).toEqual({ rssBytes: 1712 * 1024, anonymousBytes: 116 * 1024, fileBytes: (1712 - 116) * 1024 });
  expect(() => parseSmapsRollup('Rss: 1 kB\n')).toThrow('smaps_rollup has no Anonymous line');
});
