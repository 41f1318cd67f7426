import { parseDefaultGateways, readDefaultGateways } from '../../src/pod-gateway';

// As a pod's network namespace shows them (flannel: default via the cni0 bridge address 10.244.0.1).
const IPV4 = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100F40A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000F40A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
const IPV6 = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

test('the default routes\' gateways, IPv4 from little-endian hex and IPv6 compacted', () => {
  expect(parseDefaultGateways(IPV4, IPV6)).toEqual(['10.244.0.1', 'fd00::1']);
});

test('routes that are not a default via a gateway are ignored: link routes, the reject route on lo, a zero gateway', () => {
  const linkOnly = IPV4.split('\n').filter((l) => !l.startsWith('eth0\t00000000')).join('\n');
  expect(parseDefaultGateways(linkOnly, '')).toEqual([]);
  const noGatewayFlag = IPV4.replace('0100F40A\t0003', '0100F40A\t0001');
  expect(parseDefaultGateways(noGatewayFlag, '')).toEqual([]);
  expect(parseDefaultGateways('', IPV6.split('\n')[2]!)).toEqual([]);
});

test('IPv6 next hops keep their non-zero groups and compact the longest zero run only', () => {
  const hop = (hex: string): string => `${'0'.repeat(32)} 00 ${'0'.repeat(32)} 00 ${hex} 00000400 00000002 00000000 00000003 eth0`;
  expect(parseDefaultGateways('', hop('fe80000000000000020c29fffe3b4c5d'))).toEqual(['fe80::20c:29ff:fe3b:4c5d']);
  expect(parseDefaultGateways('', hop('20010db8000100000000000000000001'))).toEqual(['2001:db8:1::1']);
});

test('garbage or unreadable tables give no gateway, never an error (not Linux, no /proc)', () => {
  expect(parseDefaultGateways('garbage\nmore garbage zz', 'x y z')).toEqual([]);
  expect(readDefaultGateways(() => {
    throw new Error('ENOENT');
  })).toEqual([]);
  expect(readDefaultGateways((path) => (path === '/proc/net/route' ? IPV4 : IPV6))).toEqual(['10.244.0.1', 'fd00::1']);
});
