import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../metrics';
import { REVIEW_RESULTS, type ReviewResult, type ReviewRoute } from './review';

/** The webhook's metrics; a registry of its own (the webhook is its own process). */
export interface WebhookMetrics {
  review(route: ReviewRoute, result: ReviewResult, seconds: number): void;
  certificateLoaded(notAfterSeconds: number): void;
  certificateRejected(): void;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  const reviews = new Counter({
    name: `${METRIC_PREFIX}webhook_reviews_total`,
    help: 'AdmissionReviews answered, by result: injected, unchanged (not opted in, opted out, already injected, not mutated), refused (the pod cannot be injected), error (the injection failed), malformed (not a readable review, or too large).',
    labelNames: ['result'],
    registers,
  });
  for (const result of REVIEW_RESULTS) reviews.inc({ result }, 0);
  const duration = new Histogram({
    name: `${METRIC_PREFIX}webhook_review_duration_seconds`,
    help: 'Seconds from the end of the request body to the answer, by route (namespace: /inject, pod: /inject-pod).',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const reloads = new Counter({
    name: `${METRIC_PREFIX}webhook_certificate_loads_total`,
    help: 'TLS certificate and key pairs read from the files, by result: loaded, or rejected (unreadable, or the key does not match; the previous pair is kept).',
    labelNames: ['result'],
    registers,
  });
  reloads.inc({ result: 'loaded' }, 0);
  reloads.inc({ result: 'rejected' }, 0);
  const notAfter = new Gauge({
    name: `${METRIC_PREFIX}webhook_certificate_expiry_timestamp_seconds`,
    help: 'When the certificate being served expires (Unix seconds).',
    registers,
  });
  return {
    review: (route, result, seconds) => {
      reviews.inc({ result });
      duration.observe({ route }, seconds);
    },
    certificateLoaded: (seconds) => {
      reloads.inc({ result: 'loaded' });
      notAfter.set(seconds);
    },
    certificateRejected: () => reloads.inc({ result: 'rejected' }),
  };
}
