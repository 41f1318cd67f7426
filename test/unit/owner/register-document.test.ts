import { expect } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../src/clock';
import type { EurekaServerConfig } from '../../../src/config';
import { EurekaClient } from '../../../src/eureka/client';
import { parseOwnerConfig } from '../../../src/owner/config';
import { buildInstanceInfo, encodeInstanceDocument } from '../../../src/owner/instance';

describe('EurekaClient.registerDocument (the real client, a loopback server)', () => {
  let server: Server;
  let eureka: EurekaServerConfig;
  const seen: { method?: string; url?: string; type?: string; body: string }[] = [];
  let answer = 204;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
        res.statusCode = answer;
        res.end(answer === 400 ? 'Missing instanceId' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eureka/`;
    eureka = { url, label: url };
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const config = parseOwnerConfig({}, { appName: 'demo', appPort: 8080, podIp: '10.0.0.7', podName: 'demo-abc' });
  const document = encodeInstanceDocument(buildInstanceInfo(config, 'UP', 1));
  const client = new EurekaClient({ timeoutMs: 2_000, retries: 0, clock: systemClock });

  test('POSTs the document as JSON to apps/{APP}', async () => {
    answer = 204;
    await client.registerDocument(eureka, 'demo', document);
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/eureka/apps/DEMO', type: 'application/json', body: document });
  });

  test("a 400 is an error carrying the status and the server's text, which names the field", async () => {
    answer = 400;
    await expect(client.registerDocument(eureka, 'demo', document)).rejects.toMatchObject({ status: 400, message: expect.stringContaining('"Missing instanceId"') });
  });
});
