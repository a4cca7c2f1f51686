import { EmfMetrics } from "../../functions/adapters/metrics.ts";
import type { BridgeMetrics, MetricName, MetricsService } from "../../functions/core/metrics.ts";

/**
 * The functions' own EMF metrics (Powertools, as on Lambda), their lines counted instead of printed:
 * the bytes CloudWatch Logs would ingest for them, so `npm run cost` prices measured bytes, not a guess.
 */
export class MeasuredEmfMetrics implements BridgeMetrics {
  bytes = 0;
  lines = 0;
  private readonly emf: EmfMetrics;

  constructor(service: MetricsService) {
    this.emf = new EmfMetrics(service);
  }

  count(name: MetricName, value?: number, dimensions?: Record<string, string>): void {
    this.emf.count(name, value, dimensions);
  }

  /** Powertools writes each EMF document with one `console.log` on stdout: caught here for the flush. */
  flush(): void {
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      this.bytes += Buffer.byteLength(chunk);
      this.lines += String(chunk).split("\n").length - 1;
      return true;
    }) as typeof process.stdout.write;
    try {
      this.emf.flush();
    } finally {
      process.stdout.write = write;
    }
  }
}
