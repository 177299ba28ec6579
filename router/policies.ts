// The per-route policies a router applies, chosen by prefix as Linkerd 1
// does: `client` parameters by the bound name (balancer, failure accrual,
// attempt timeout, requeue budget, concurrency limit), `service`
// parameters by the logical name (total timeout, retries with a budget and
// backoff, the response classifier, fault injection). Matching static
// configs all apply, later ones overriding earlier ones.
import { Prefix, type Path } from "../dtab/index.ts";
import { balancerFromConfig, panicModeFromConfig, type Balancer, type PanicMode } from "./balancer/index.ts";
import type { ClientConfig, ClientParams, ServiceConfig, ServiceParams } from "./config.ts";
import {
  DEFAULT_CLASSIFIER,
  type RetryBudget,
  backoffFromConfig,
  failureAccrualFromConfig,
  responseClassifier,
  retryBudgetFromConfig,
  type Backoff,
  type FailureAccrual,
  type ResponseClassifier,
} from "./policy/index.ts";

/** Request bodies up to this size are buffered for retries unless a service says otherwise (bytes). */
export const DEFAULT_RETRY_BUFFER_BYTES = 64 * 1024;

/** Monotonic milliseconds, for budgets, accrual and balancers. */
export const monotonicNow = (): number => performance.now();

function merged<P extends object>(config: { configs?: readonly (P & { prefix: string })[] } & P, name: Path): P {
  if (config.configs === undefined) return config;
  let out = {} as P;
  for (const { prefix, ...params } of config.configs) {
    if (Prefix.read(prefix).matches(name)) out = { ...out, ...(params as unknown as P) };
  }
  return out;
}

/** The client parameters that apply to a bound name (its name as shown, with /%/ transformer prefixes). */
export function clientParamsFor(config: ClientConfig, name: Path): ClientParams {
  return merged<ClientParams>(config as never, name);
}

/** The service parameters that apply to a logical name. */
export function serviceParamsFor(config: ServiceConfig, name: Path): ServiceParams {
  return merged<ServiceParams>(config as never, name);
}

/** What one concrete client (one bound name) runs with. */
export interface ClientPolicy {
  readonly balancer: Balancer;
  readonly panic: PanicMode;
  /** A fresh failure-accrual state machine for one endpoint. */
  newAccrual(): FailureAccrual;
  readonly attemptTimeoutMs: number | undefined;
  readonly maxConcurrentRequests: number | undefined;
  /** Connection-level re-sends (nothing was written yet): immediate, any method. */
  readonly requeueBudget: RetryBudget;
}

export function clientPolicy(params: ClientParams, random: () => number = Math.random): ClientPolicy {
  return {
    balancer: balancerFromConfig(params.loadBalancer, random),
    panic: panicModeFromConfig(params.loadBalancer),
    newAccrual: () => failureAccrualFromConfig(params.failureAccrual, random),
    attemptTimeoutMs: params.requestAttemptTimeoutMs,
    maxConcurrentRequests: params.maxConcurrentRequests,
    requeueBudget: retryBudgetFromConfig(params.requeueBudget ?? {}, monotonicNow),
  };
}

/** What one logical name runs with; its retry budget is its own, not shared. */
export interface ServicePolicy {
  readonly totalTimeoutMs: number | undefined;
  readonly budget: RetryBudget;
  /** A fresh backoff for one request's retries. */
  newBackoff(): Backoff;
  readonly classifier: ResponseClassifier;
  readonly retryBufferBytes: number;
  readonly faults: ServiceParams["faults"];
}

export function servicePolicy(params: ServiceParams, random: () => number = Math.random): ServicePolicy {
  const retries = params.retries;
  return {
    totalTimeoutMs: params.totalTimeoutMs,
    budget: retryBudgetFromConfig(retries?.budget ?? {}, monotonicNow),
    newBackoff: () => backoffFromConfig(retries?.backoff ?? { kind: "constant", ms: 0 }, random),
    classifier: responseClassifier(params.responseClassifier?.kind ?? DEFAULT_CLASSIFIER),
    retryBufferBytes: params.retryBufferBytes ?? DEFAULT_RETRY_BUFFER_BYTES,
    faults: params.faults,
  };
}
