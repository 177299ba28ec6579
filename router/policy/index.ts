// The resilience policies' public surface: retry budget, backoff, response
// classifiers, failure accrual, deadlines, and their config blocks. All pure:
// time and randomness are injected.
export type { Clock, Random } from "./clock.ts";
export { DEFAULT_RETRY_BUDGET, RETRY_BUDGET_LIMITS, RetryBudget, retryBudgetFromConfig } from "./retry-budget.ts";
export type { RetryBudgetOptions } from "./retry-budget.ts";
export {
  ConstantBackoff,
  DEFAULT_ACCRUAL_BACKOFF,
  DEFAULT_BACKOFF_MULTIPLIER,
  DEFAULT_CONSTANT_BACKOFF_MS,
  DecorrelatedJitteredBackoff,
  EqualJitteredBackoff,
  ExponentialBackoff,
  backoffFromConfig,
} from "./backoff.ts";
export type { Backoff } from "./backoff.ts";
export {
  CLASSIFIER_KINDS,
  DEFAULT_CLASSIFIER,
  IDEMPOTENT_METHODS,
  L5D_RETRYABLE,
  READ_METHODS,
  isRequeueable,
  responseClassifier,
  responseClassifierFromConfig,
  successClassHeader,
} from "./classifier.ts";
export type { ClassifierInput, ClassifierKind, ErrorInput, FailureKind, ResponseClass, ResponseClassifier, ResponseInput } from "./classifier.ts";
export {
  ConsecutiveFailuresPolicy,
  DEFAULT_CONSECUTIVE_FAILURES,
  FailureAccrual,
  NeverMarkDeadPolicy,
  SuccessRatePerRequestsPolicy,
  SuccessRateWindowedPolicy,
  failureAccrualFromConfig,
} from "./failure-accrual.ts";
export type { AccrualAttempt, AccrualState, AccrualStats, FailureAccrualPolicy } from "./failure-accrual.ts";
export {
  DEADLINE_HEADER,
  combineDeadlines,
  deadlineAfter,
  isExpired,
  msToNs,
  nsToMs,
  parseDeadline,
  readDeadlineHeader,
  remainingMs,
  requestDeadline,
  showDeadline,
} from "./deadline.ts";
export type { Deadline } from "./deadline.ts";
export { backoffConfig, failureAccrualConfig, responseClassifierConfig, retriesConfig, retryBudgetConfig } from "./config.ts";
export type { BackoffConfig, FailureAccrualConfig, ResponseClassifierConfig, RetriesConfig, RetryBudgetConfig } from "./config.ts";
