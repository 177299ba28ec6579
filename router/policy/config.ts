// The config blocks of the resilience policies, with Linkerd 1's key and
// `kind` names so Linkerd configs carry over: `backoff`, `retries` (service),
// `requeueBudget`, `failureAccrual` (client), `responseClassifier`. The
// router's config embeds these; the policies' factories take their types.
import { z } from "zod";
import { millis, positiveInt, withKindAliases } from "../../lib/schema.ts";
import { DEFAULT_ACCRUAL_BACKOFF, DEFAULT_BACKOFF_MULTIPLIER, DEFAULT_CONSTANT_BACKOFF_MS } from "./backoff.ts";
import { CLASSIFIER_KINDS } from "./classifier.ts";
import { DEFAULT_CONSECUTIVE_FAILURES } from "./failure-accrual.ts";
import { DEFAULT_RETRY_BUDGET, RETRY_BUDGET_LIMITS } from "./retry-budget.ts";

/**
 * `withKindAliases` with its input type kept: the aliases are accepted at run
 * time, while code that builds configs by hand uses the canonical kinds.
 */
function aliased<S extends z.ZodType>(aliases: Readonly<Record<string, string>>, schema: S, unsupported: Readonly<Record<string, string>> = {}): z.ZodType<z.output<S>, z.input<S>> {
  return withKindAliases(aliases, schema, unsupported) as unknown as z.ZodType<z.output<S>, z.input<S>>;
}

/** The refinement every ranged backoff shares: Finagle requires start ≤ maximum. */
const minMaxMs = (kind: string): [(b: { readonly minMs: number; readonly maxMs: number }) => boolean, { message: string; path: string[] }] => [
  (b) => b.minMs <= b.maxMs,
  { message: `${kind} backoff: maxMs must be at least minMs`, path: ["maxMs"] },
];

const backoffKinds = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("constant"),
    /** The delay (ms). */
    ms: millis.default(DEFAULT_CONSTANT_BACKOFF_MS),
  }),
  z
    .strictObject({
      /** Decorrelated jitter (Finagle's `decorrelatedJittered`): minMs, then each delay drawn from [previous, 3 × previous), capped at maxMs. */
      kind: z.literal("jittered"),
      /** The first delay (ms, > 0). */
      minMs: positiveInt,
      /** The longest delay (ms). */
      maxMs: positiveInt,
    })
    .refine(...minMaxMs("jittered")),
  z
    .strictObject({
      /** meshd: Finagle's `equalJittered`, failure accrual's default: minMs, then h + U[0, h) with h doubling, capped at maxMs. */
      kind: z.literal("equalJittered"),
      minMs: positiveInt,
      maxMs: positiveInt,
    })
    .refine(...minMaxMs("equalJittered")),
  z
    .strictObject({
      /** meshd: minMs × multiplierⁿ capped at maxMs; with `jitter: full`, drawn from [minMs, that]. */
      kind: z.literal("exponential"),
      minMs: positiveInt,
      maxMs: positiveInt,
      /** Growth per attempt (≥ 1). */
      multiplier: z.number().min(1).default(DEFAULT_BACKOFF_MULTIPLIER),
      jitter: z.enum(["none", "full"]).default("none"),
    })
    .refine(...minMaxMs("exponential")),
]);

/** A `backoff` block: `constant` (`ms`) or `jittered` (`minMs`, `maxMs`), as in Linkerd, plus meshd's `equalJittered` and `exponential`. */
export const backoffConfig = aliased({ decorrelatedJittered: "jittered" }, backoffKinds);
export type BackoffConfig = z.input<typeof backoffConfig>;

/** A retry budget block (Linkerd's `retries.budget` and `requeueBudget`), Finagle's limits. */
export const retryBudgetConfig = z.strictObject({
  /** How long a request's retry credit lasts (seconds, 1–60). */
  ttlSecs: z.number().int().min(RETRY_BUDGET_LIMITS.minTtlSecs).max(RETRY_BUDGET_LIMITS.maxTtlSecs).default(DEFAULT_RETRY_BUDGET.ttlSecs),
  /** Retries per second allowed whatever the traffic (whole number ≥ 0). */
  minRetriesPerSec: z.number().int().min(0).max(RETRY_BUDGET_LIMITS.maxMinRetriesPerSec).default(DEFAULT_RETRY_BUDGET.minRetriesPerSec),
  /** Retries each request earns (0–1000; 0.2 = one retry per five requests). */
  percentCanRetry: z
    .number()
    .min(0)
    .max(RETRY_BUDGET_LIMITS.maxPercentCanRetry)
    .refine((p) => p === 0 || p >= RETRY_BUDGET_LIMITS.minNonZeroPercentCanRetry, {
      message: `percentCanRetry must be 0 or at least ${RETRY_BUDGET_LIMITS.minNonZeroPercentCanRetry}`,
    })
    .default(DEFAULT_RETRY_BUDGET.percentCanRetry),
});
export type RetryBudgetConfig = z.input<typeof retryBudgetConfig>;

/** A service's `retries` block: the budget and the backoff between retries (Linkerd's default: constant 0 ms). */
export const retriesConfig = z.strictObject({
  budget: retryBudgetConfig.prefault({}),
  backoff: backoffConfig.default({ kind: "constant", ms: DEFAULT_CONSTANT_BACKOFF_MS }),
});
export type RetriesConfig = z.input<typeof retriesConfig>;

/**
 * A `responseClassifier` block: one of Linkerd's HTTP classifier kinds (short
 * names such as `retryableRead5XX` work too). Absent, Linkerd uses
 * `DEFAULT_CLASSIFIER` (`io.l5d.http.nonRetryable5XX`).
 */
export const responseClassifierConfig = aliased(
  Object.fromEntries(
    CLASSIFIER_KINDS.flatMap((kind) => {
      const short = kind.slice("io.l5d.http.".length);
      // `retryableRead5XX`, and the pre-1.0 names (`io.l5d.retryableRead5XX`) from before the `http.` prefix.
      return [
        [short, kind],
        [`io.l5d.${short}`, kind],
      ];
    }),
  ),
  z.strictObject({ kind: z.enum(CLASSIFIER_KINDS) }),
  Object.fromEntries(
    [
      "io.l5d.h2.nonRetryable5XX",
      "io.l5d.h2.retryableRead5XX",
      "io.l5d.h2.retryableIdempotent5XX",
      "io.l5d.h2.retryableAll5XX",
      "io.l5d.h2.allSuccessful",
      "io.l5d.h2.grpc.default",
      "io.l5d.h2.grpc.compliant",
      "io.l5d.h2.grpc.alwaysRetryable",
      "io.l5d.h2.grpc.neverRetryable",
      "io.l5d.h2.grpc.retryableStatusCodes",
    ].map((kind) => [kind, "an HTTP/2 classifier; meshd routes HTTP/1.1, use the io.l5d.http.* kinds"]),
  ),
);
export type ResponseClassifierConfig = z.input<typeof responseClassifierConfig>;

/** Every failure accrual kind takes the backoff a dead endpoint waits before its probe (default: equal-jittered 5–300 s). */
const accrualBackoff = backoffConfig.default(DEFAULT_ACCRUAL_BACKOFF);
const successRate = z.number().min(0).max(1);

const failureAccrualKinds = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("io.l5d.consecutiveFailures"),
    /** Failures in a row that mark an endpoint dead. */
    failures: positiveInt.default(DEFAULT_CONSECUTIVE_FAILURES),
    backoff: accrualBackoff,
  }),
  z.strictObject({
    kind: z.literal("io.l5d.successRate"),
    /** Marked dead when the success rate (0–1) over about `requests` requests falls below this. */
    successRate,
    /** The window, in requests. */
    requests: positiveInt,
    backoff: accrualBackoff,
  }),
  z.strictObject({
    kind: z.literal("io.l5d.successRateWindowed"),
    successRate,
    /** The window (seconds). */
    window: positiveInt,
    backoff: accrualBackoff,
  }),
  z.strictObject({
    /** Never marks an endpoint dead (Linkerd accepts a backoff here too, and ignores it). */
    kind: z.literal("none"),
    backoff: accrualBackoff,
  }),
]);

/**
 * A client's `failureAccrual` block (short names such as `consecutiveFailures`
 * work too). Absent, `failureAccrualFromConfig` uses Linkerd's default: 5
 * consecutive failures, equal-jittered 5–300 s.
 */
export const failureAccrualConfig = aliased(
  { consecutiveFailures: "io.l5d.consecutiveFailures", successRate: "io.l5d.successRate", successRateWindowed: "io.l5d.successRateWindowed" },
  failureAccrualKinds,
);
export type FailureAccrualConfig = z.input<typeof failureAccrualConfig>;
