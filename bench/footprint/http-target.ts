/**
 * GETs to one HTTP server (a drainer, a bare Node server): on one keep-alive connection, as a scraper does, or
 * on a fresh connection each (probes, /prestop).
 */
import http from 'node:http';

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export class HttpTarget {
  private readonly keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  get(path: string, options: { readonly fresh?: boolean; readonly timeoutMs?: number } = {}): Promise<Answer> {
    const timeout = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: this.host, port: this.port, path, agent: options.fresh ? false : this.keepAlive, timeout, headers: this.headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${this.host}:${this.port} timed out after ${timeout} ms`)));
      req.on('error', reject);
    });
  }

  destroy(): void {
    this.keepAlive.destroy();
  }
}
