import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import {
  METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricName,
  type MetricsService,
  PUBLISH_RESULT,
} from "../../functions/core/metrics.ts";

const FIVE_MINUTES = Duration.minutes(5);

export interface AlarmThresholds {
  /** Quarantined messages per 15 minutes (a misbehaving device or firmware); default 10. */
  quarantinedPer15Minutes?: number;
  /** 503 answers per 5 minutes (DynamoDB/SQS trouble; EMQX retries them); default 5. */
  unavailablePer5Minutes?: number;
  /** Commands EMQX refused or that must be retried, per 5 minutes; default 1. */
  publishFailuresPer5Minutes?: number;
}

export interface BridgeObservabilityProps {
  functions: Record<"ingest" | "api" | "publisher", IFunction>;
  queues: { events: IQueue; eventsDlq: IQueue; commands: IQueue; commandsDlq: IQueue };
  /**
   * The events topic: its `NumberOfMessagesPublished` (free, from SNS) is the dashboard's count of events
   * published, since a request whose events are simply stored writes no metrics line.
   */
  eventsTopic: ITopic;
  /**
   * Other dead-letter queues, each alarmed at one message and shown on the dashboard (the feed's, the
   * webhooks', the gap tracker's reports): id -> the queue and what a message there means.
   */
  deadLetterQueues?: Record<string, { queue: IQueue; description: string }>;
  /** The gap tracker's counts (functions/gaps/handler.ts); an alarm on GapsUnrecoverable. */
  gapTracker?: { metric(name: string, period?: Duration): IMetric };
  thresholds?: AlarmThresholds;
  /** Where alarms (and their recovery) are sent; none: they only show in the console and dashboard. */
  alarmTopic?: ITopic;
}

/** A bridge metric (EMF, `functions/adapters/metrics.ts`) exactly as the function emits it. */
export function bridgeMetric(
  service: MetricsService,
  metricName: MetricName,
  dimensions: Record<string, string> = {},
  period: Duration = FIVE_MINUTES,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service, ...dimensions },
    statistic: "Sum",
    period,
  });
}

/** A graph of every dimension value of one metric, whichever function emits it. */
function searchExpression(metricName: MetricName, dimension: string, label: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,${dimension}} MetricName="${metricName}"', 'Sum', 300)`,
    usingMetrics: {},
    label,
    period: FIVE_MINUTES,
  });
}

/**
 * Alarms on what loses or delays data (DLQ depth, function errors and throttles, quarantine growth, EMQX
 * publish failures, 503s) and one dashboard with their graphs.
 */
export class BridgeObservability extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: BridgeObservabilityProps) {
    super(scope, id);
    const thresholds = props.thresholds ?? {};
    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
    ) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        created.addAlarmAction(new SnsAction(props.alarmTopic));
        created.addOkAction(new SnsAction(props.alarmTopic));
      }
      this.alarms.push(created);
      return created;
    };

    const { ingest, api, publisher } = props.functions;
    alarm(
      "EventsDlqDepth",
      props.queues.eventsDlq.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: FIVE_MINUTES,
      }),
      1,
      "Fan-out messages your consumers failed 5 times are in the events DLQ: inspect, fix, redrive.",
    );
    alarm(
      "CommandsDlqDepth",
      props.queues.commandsDlq.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: FIVE_MINUTES,
      }),
      1,
      "Commands the publisher could not hand to EMQX in 10 receives (EMQX down or refusing the API key).",
    );
    const deadLetters = Object.entries(props.deadLetterQueues ?? {});
    for (const [dlqId, { queue, description }] of deadLetters) {
      alarm(
        `${dlqId}Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: FIVE_MINUTES }),
        1,
        description,
      );
    }
    if (props.gapTracker) {
      alarm(
        "GapsUnrecoverable",
        props.gapTracker.metric("GapsUnrecoverable"),
        1,
        "Punch numbers a device could not resend after every attempt (gap_unrecoverable events): those punches are lost; GET /v1/gaps?open=true.",
      );
    }
    const functionAlarms: Array<[string, IFunction, string]> = [
      ["Ingest", ingest, "EMQX gets a 502 for an ingest error and DROPS that message (not retried)."],
      ["Api", api, "API clients got a 502."],
      ["Publisher", publisher, "A command batch failed as a whole and comes back from the queue."],
    ];
    for (const [name, fn, consequence] of functionAlarms) {
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
        1,
        `The ${name.toLowerCase()} function failed (crash, timeout or cold-start failure). ${consequence}`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
        1,
        `The ${name.toLowerCase()} function was throttled (concurrency limit); callers got 429 and retry.`,
      );
    }
    alarm(
      "QuarantineGrowth",
      bridgeMetric(METRICS_SERVICE.ingest, METRIC.Quarantined, {}, Duration.minutes(15)),
      thresholds.quarantinedPer15Minutes ?? 10,
      "Messages are being quarantined (bad payloads, a misbehaving device): list them with the API.",
    );
    alarm(
      "Unavailable503",
      bridgeMetric(METRICS_SERVICE.ingest, METRIC.Unavailable503),
      thresholds.unavailablePer5Minutes ?? 5,
      "The ingest answers 503 (DynamoDB or SQS unavailable/throttled); EMQX retries for up to request_ttl.",
    );
    alarm(
      "PublishFailures",
      new MathExpression({
        expression: "failed + retry",
        usingMetrics: {
          failed: bridgeMetric(METRICS_SERVICE.publisher, METRIC.EmqxPublishResults, {
            result: PUBLISH_RESULT.failed,
          }),
          retry: bridgeMetric(METRICS_SERVICE.publisher, METRIC.EmqxPublishResults, {
            result: PUBLISH_RESULT.retry,
          }),
        },
        label: "EMQX publish failed or retried",
        period: FIVE_MINUTES,
      }),
      thresholds.publishFailuresPer5Minutes ?? 1,
      "EMQX refused commands (failed) or could not take them (retry: EMQX down, 5xx, 401/403).",
    );

    this.dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    const perFunction = (label: string, metric: (fn: IFunction) => IMetric) =>
      new GraphWidget({
        title: label,
        width: 8,
        left: [metric(ingest), metric(api), metric(publisher)],
      });
    const ingestMetric = (name: MetricName) =>
      bridgeMetric(METRICS_SERVICE.ingest, name, {}, Duration.minutes(1));
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "## emqx-serverless-bridge\nIngest answers, commands, the functions and the queues. Alarms at the bottom.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Events published (all functions) and the ingest's duplicates (per minute)",
        width: 12,
        left: [
          props.eventsTopic.metricNumberOfMessagesPublished({
            period: Duration.minutes(1),
            statistic: "Sum",
            label: "events published",
          }),
          ingestMetric(METRIC.Duplicates),
        ],
      }),
      new GraphWidget({
        title: "Ingest: quarantined and 503s (per minute)",
        width: 12,
        left: [ingestMetric(METRIC.Quarantined), ingestMetric(METRIC.Unavailable503)],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Commands by status",
        width: 12,
        left: [searchExpression(METRIC.CommandsByStatus, "status", "")],
      }),
      new GraphWidget({
        title: "EMQX publish results",
        width: 12,
        left: [searchExpression(METRIC.EmqxPublishResults, "result", "")],
      }),
    );
    this.dashboard.addWidgets(
      perFunction("Errors", (fn) => fn.metricErrors({ period: Duration.minutes(1) })),
      perFunction("Throttles", (fn) => fn.metricThrottles({ period: Duration.minutes(1) })),
      perFunction("Duration p99", (fn) =>
        fn.metricDuration({ statistic: "p99", period: Duration.minutes(1) }),
      ),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Queue depth",
        width: 8,
        left: [
          props.queues.events.metricApproximateNumberOfMessagesVisible({ label: "events" }),
          props.queues.commands.metricApproximateNumberOfMessagesVisible({ label: "commands" }),
        ],
      }),
      new GraphWidget({
        title: "DLQ depth",
        width: 8,
        left: [
          props.queues.eventsDlq.metricApproximateNumberOfMessagesVisible({ label: "events DLQ" }),
          props.queues.commandsDlq.metricApproximateNumberOfMessagesVisible({ label: "commands DLQ" }),
        ],
      }),
      new GraphWidget({
        title: "Oldest message age (s)",
        width: 8,
        left: [
          props.queues.events.metricApproximateAgeOfOldestMessage({ label: "events" }),
          props.queues.commands.metricApproximateAgeOfOldestMessage({ label: "commands" }),
        ],
      }),
    );
    if (props.gapTracker) {
      const gaps = props.gapTracker;
      this.dashboard.addWidgets(
        new GraphWidget({
          title: "Gap tracker: gaps opened, unrecoverable, clock drift (per pass)",
          width: 12,
          left: ["GapsOpened", "GapsUnrecoverable", "ClockDrift"].map((name) => gaps.metric(name)),
        }),
      );
    }
    if (deadLetters.length) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: "Other DLQs depth",
          width: 12,
          left: deadLetters.map(([label, { queue }]) =>
            queue.metricApproximateNumberOfMessagesVisible({ label }),
          ),
        }),
      );
    }
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: "Alarms", width: 24, alarms: this.alarms }));
  }
}
