import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type BridgeMetrics,
  METRICS_NAMESPACE,
  type MetricName,
  type MetricsService,
  noopMetrics,
} from "../core/metrics.ts";

export {
  METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  noopMetrics,
  PUBLISH_RESULT,
} from "../core/metrics.ts";

/**
 * Metrics as CloudWatch Embedded Metric Format lines on stdout (Powertools Metrics): no API call, no
 * latency; CloudWatch extracts them from the function's logs. One EMF document per dimension set.
 */
export class EmfMetrics implements BridgeMetrics {
  private readonly plain: Metrics;
  /** One Powertools instance per distinct dimension set (default dimensions survive a flush). */
  private readonly withDimensions = new Map<string, Metrics>();

  constructor(private readonly service: MetricsService) {
    this.plain = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
  }

  count(name: MetricName, value = 1, dimensions?: Record<string, string>): void {
    this.target(dimensions).addMetric(name, MetricUnit.Count, value);
  }

  flush(): void {
    for (const metrics of [this.plain, ...this.withDimensions.values()]) {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  }

  private target(dimensions: Record<string, string> | undefined): Metrics {
    if (!dimensions || Object.keys(dimensions).length === 0) return this.plain;
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let metrics = this.withDimensions.get(key);
    if (!metrics) {
      metrics = new Metrics({
        namespace: METRICS_NAMESPACE,
        serviceName: this.service,
        defaultDimensions: dimensions,
      });
      this.withDimensions.set(key, metrics);
    }
    return metrics;
  }
}

/**
 * EMF metrics on Lambda (`AWS_LAMBDA_FUNCTION_NAME` is set, also under `sam local invoke`), a no-op
 * elsewhere (`npm start`, tests, `npm run invoke`), so local logs stay readable.
 * `POWERTOOLS_METRICS_DISABLED=true` silences them on Lambda too.
 */
export function createMetrics(
  service: MetricsService,
  env: Record<string, string | undefined> = process.env,
): BridgeMetrics {
  return env.AWS_LAMBDA_FUNCTION_NAME ? new EmfMetrics(service) : noopMetrics;
}
