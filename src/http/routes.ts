import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from '../config';
import type { DrainController } from '../drain/controller';
import { createLogLimiter } from './log-limiter';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { describeFit, type Plan } from '../plan';
import { sourceAdvice, type SourceAdvice } from './source-advice';
import { parseSourceRule, sourceFilter, type SourceRule } from './source-filter';

export interface HttpDeps {
  readonly config: Config;
  readonly plan: Plan;
  readonly controller: DrainController;
  readonly registry: Registry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** False once the process is shutting down for good. */
  readonly isReady?: () => boolean;
}

/** Bodies are never needed; anything larger than this is refused. */
const MAX_BODY_BYTES = 1024;

/** Routes only; main.ts listens. */
export function createApp(deps: HttpDeps): express.Express {
  const { config, plan, controller, registry, logger, metrics } = deps;
  const log = logger.child({ component: 'http' });
  const sourceAllowed = sourceFilter(config.allowedSources.map(parseSourceRule).filter((r): r is SourceRule => r !== undefined));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);

  app.use((req, res, next) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY_BYTES) {
      res.status(413).json({ error: 'payload_too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` });
      return;
    }
    next();
  });

  // Anyone who reaches the port can be refused as fast as they can send; the
  // metric counts every refusal, the log gets one line per kind per interval.
  // A refusal by source says why and what would admit the caller (src/http/source-advice.ts), computed only for lines logged.
  const refusalLog = createLogLimiter();
  const advice = (kind: 'forbidden' | 'unauthorized', source: string): SourceAdvice | Record<string, never> => (kind === 'forbidden' ? sourceAdvice(config, source) : {});
  const logRefusal = (kind: 'forbidden' | 'unauthorized', source: string, path: string, message: string): void => {
    const admitted = refusalLog.admit(kind);
    if (admitted === undefined) return;
    log.warn({ source: source.slice(0, 64), path: path.slice(0, 64), ...advice(kind, source), ...(admitted.suppressed > 0 ? { suppressed: admitted.suppressed } : {}) }, message);
  };

  // A refused preStop does not stop the kubelet: it sends the app SIGTERM at
  // once, undrained. That is the one refusal an SRE must hear about.
  const kubeletLog = createLogLimiter();
  const refusedKubelet = (req: Request, reason: 'forbidden' | 'unauthorized', source: string): void => {
    const agent = req.headers['user-agent'];
    if (typeof agent !== 'string' || !agent.startsWith('kube-lifecycle/') || !req.path.startsWith('/prestop')) return;
    metrics.kubeletHookRefused(reason);
    const admitted = kubeletLog.admit(reason);
    if (admitted !== undefined) {
      log.error(
        { source: source.slice(0, 64), path: req.path.slice(0, 64), userAgent: agent.slice(0, 64), ...advice(reason, source), ...(admitted.suppressed > 0 ? { suppressed: admitted.suppressed } : {}) },
        reason === 'unauthorized'
          ? "the kubelet's preStop call was refused: its token does not match DRAINER_TOKEN. The app is being stopped WITHOUT a drain. Make the pod spec's httpHeaders token and the drainer's token the same value (see docs/troubleshooting.md#refused-trigger)"
          : "the kubelet's preStop call was refused: its source address is not allowed (see why). The app is being stopped WITHOUT a drain. Set one of admitWith",
      );
    }
    controller.hookRefused();
  };

  // The token's digest once, here: a /prestop spends its CPU on the override, not on hashing a constant (issue 23).
  const tokenDigest = config.token === undefined ? undefined : digest(config.token);
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    const source = normalizeAddress(req.socket.remoteAddress ?? '');
    if (!sourceAllowed(source)) {
      metrics.prestopRequest('forbidden');
      refusedKubelet(req, 'forbidden', source);
      logRefusal('forbidden', source, req.path, 'refused a call from a source outside DRAINER_ALLOWED_SOURCES');
      res.status(403).json({ error: 'forbidden', message: 'source address not allowed (see DRAINER_ALLOWED_SOURCES / NODE_IP)' });
      return;
    }
    if (tokenDigest !== undefined && !tokenMatches(req, tokenDigest)) {
      metrics.prestopRequest('unauthorized');
      refusedKubelet(req, 'unauthorized', source);
      logRefusal('unauthorized', source, req.path, 'refused a call without a valid token');
      res.status(401).json({ error: 'unauthorized', message: 'send the token as "Authorization: Bearer <token>" or "X-Drainer-Token: <token>"' });
      return;
    }
    next();
  };

  const prestop = async (_req: Request, res: Response): Promise<void> => {
    const report = await controller.prestop();
    res.status(200).json(report);
  };
  app.get('/prestop', guard, prestop);
  app.post('/prestop', guard, prestop);
  // The drainer container's own preStop: joins the drain the app's preStop
  // starts; answers quickly when none does (a restart of this container alone).
  const join = async (_req: Request, res: Response): Promise<void> => {
    res.status(200).json(await controller.join());
  };
  app.get('/prestop/join', guard, join);
  app.post('/prestop/join', guard, join);

  app.get('/drain', (_req, res) => {
    res.json({ ...controller.snapshot(), plan: planJson(plan) });
  });
  app.post('/drain/abort', guard, async (_req, res) => {
    const result = await controller.abort();
    res.status(result.aborted ? 200 : 409).json(result);
  });
  app.get('/plan', (_req, res) => {
    res.json(planJson(plan));
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady?.() ?? true;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'shutting_down', phase: controller.currentPhase });
  });
  app.get('/metrics', async (_req, res) => {
    metrics.setRemaining(controller.remainingMs() / 1000);
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });

  const known = new Set(['/prestop', '/prestop/join', '/drain', '/drain/abort', '/plan', '/healthz', '/readyz', '/metrics']);
  app.use((req, res) => {
    if (known.has(req.path)) {
      res.status(405).json({ error: 'method_not_allowed', message: `${req.method.slice(0, 16)} is not allowed on ${req.path}` });
      return;
    }
    res.status(404).json({ error: 'not_found', message: 'unknown path', paths: [...known] });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    log.error({ err: error }, 'request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'the drainer failed to answer; see its log' });
  });
  return app;
}

export function planJson(plan: Plan): Record<string, unknown> {
  return {
    terms: plan.terms.map((t) => ({ name: t.name, seconds: t.ms / 1000, source: t.source })),
    selectSeconds: plan.selectMs / 1000,
    drainSeconds: plan.drainMs / 1000,
    requiredGraceSeconds: plan.requiredGraceMs / 1000,
    gracePeriodSeconds: plan.gracePeriodMs / 1000,
    drainBudgetSeconds: plan.drainBudgetMs / 1000,
    fits: plan.fits,
    summary: describeFit(plan),
  };
}

/** RFC 7235: the scheme is case-insensitive and 1*SP separates it from the credentials; we also take tabs. */
const BEARER = /^bearer[ \t]+(\S+)$/i;

function tokenMatches(req: Request, tokenDigest: Buffer): boolean {
  const bearer = BEARER.exec(req.headers.authorization ?? '');
  const presented = bearer ? bearer[1] : req.headers['x-drainer-token'];
  if (typeof presented !== 'string') return false;
  // Hashing first gives equal lengths, so neither the comparison's time nor
  // an early length check tells a caller how long the token is.
  return timingSafeEqual(digest(presented), tokenDigest);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** "::ffff:10.0.0.1" → "10.0.0.1", so IPv4 allow-lists match dual-stack sockets. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
