// Response classifiers (Linkerd's `responseClassifier`): whether one attempt
// of a request succeeded, failed, or failed in a way that is safe to retry.
// Stats, failure accrual and the retry filter all read the same verdict.

/** A classifier's verdict on one attempt. */
export type ResponseClass = "success" | "failure" | "retryable-failure";

/**
 * Why an attempt ended without a response. The router's endpoint tier maps
 * its transport errors onto these.
 */
export type FailureKind =
  /** The request never reached the backend: refused, unreachable, connect timeout, TLS handshake, or the connection failed before any byte of the request was written. */
  | "connect"
  /** This attempt's own timeout (`requestAttemptTimeoutMs`) fired. */
  | "attempt-timeout"
  /** The connection closed or reset after the request was (partly) written and before the whole response head arrived. */
  | "connection-closed"
  /** The response was malformed or badly framed. */
  | "protocol"
  /** The logical request's total timeout or deadline passed: no time is left for another attempt. */
  | "total-timeout"
  /** The downstream client went away; the attempt says nothing about the backend. */
  | "cancelled"
  /** Anything else. */
  | "other";

/** What a classifier sees: the request method and either the response or why there was none. */
export type ClassifierInput = ResponseInput | ErrorInput;

export interface ResponseInput {
  /** The request method, as sent (methods are case-sensitive: "GET", not "get"). */
  readonly method: string;
  /** The response status. */
  readonly status: number;
  /** The response's `l5d-retryable` header, when it has one. */
  readonly l5dRetryable?: string | undefined;
  /**
   * False when the request body cannot be sent again (streamed, not buffered):
   * such a request is never retryable (Linkerd: chunked requests are never retried).
   */
  readonly replayable?: boolean;
}

export interface ErrorInput {
  readonly method: string;
  readonly error: FailureKind;
  readonly replayable?: boolean;
}

/** A classifier: a named function from one attempt to its verdict. */
export type ResponseClassifier = (input: ClassifierInput) => ResponseClass;

/** The classifier kinds, by Linkerd's names. */
export const CLASSIFIER_KINDS = [
  "io.l5d.http.nonRetryable5XX",
  "io.l5d.http.retryableRead5XX",
  "io.l5d.http.retryableIdempotent5XX",
  "io.l5d.http.retryableAll5XX",
  "io.l5d.http.allSuccessful",
] as const;

export type ClassifierKind = (typeof CLASSIFIER_KINDS)[number];

/** Linkerd's default classifier. */
export const DEFAULT_CLASSIFIER: ClassifierKind = "io.l5d.http.nonRetryable5XX";

/** Methods that only read (RFC 9110 "safe"): Linkerd's `ReadOnly`. */
export const READ_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Read methods plus PUT and DELETE (RFC 9110 "idempotent"): Linkerd's `Idempotent`. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([...READ_METHODS, "PUT", "DELETE"]);

/** The header a router sets on a failure response to tell the hop above whether retrying is safe. */
export const L5D_RETRYABLE = "l5d-retryable";

/**
 * Errors a retrying classifier may retry for the methods it covers: Finagle's
 * `TimeoutAndWriteExceptionsOnly`, `ChannelClosedExceptionsOnly` and Linkerd's
 * framing errors. A total timeout is never retried (no time is left), nor is
 * an unknown error.
 */
const RETRYABLE_ERRORS: ReadonlySet<FailureKind> = new Set(["connect", "attempt-timeout", "connection-closed", "protocol"]);

/**
 * Whether a failed attempt may be re-sent at once whatever the method and
 * classifier: only when the request never reached the backend. This is the
 * requeue decision (Linkerd's `requeueBudget`, no backoff), separate from the
 * classifier's retry decision (`retries.budget`, with backoff).
 */
export function isRequeueable(error: FailureKind): boolean {
  return error === "connect";
}

/** Builds the classifier of a kind. */
export function responseClassifier(kind: ClassifierKind): ResponseClassifier {
  switch (kind) {
    case "io.l5d.http.nonRetryable5XX":
      return function nonRetryable5XX(input) {
        return withRetryableHeader(input, isFailure(input) ? "failure" : "success");
      };
    case "io.l5d.http.retryableRead5XX":
      return retryableFor("retryableRead5XX", READ_METHODS);
    case "io.l5d.http.retryableIdempotent5XX":
      return retryableFor("retryableIdempotent5XX", IDEMPOTENT_METHODS);
    case "io.l5d.http.retryableAll5XX":
      return retryableFor("retryableAll5XX", undefined);
    case "io.l5d.http.allSuccessful":
      // Every response counts as a success, whatever its status; an attempt
      // with no response at all is still a failure (Finagle's default).
      return function allSuccessful(input) {
        return "status" in input ? "success" : withRetryableHeader(input, "failure");
      };
    default:
      return unreachable(kind);
  }
}

/** Builds the classifier a `responseClassifier` config block names. */
export function responseClassifierFromConfig(config: { readonly kind: ClassifierKind }): ResponseClassifier {
  return responseClassifier(config.kind);
}

/** The `l5d-success-class` header value for a verdict (Linkerd writes the success fraction: 1.0 or 0.0). */
export function successClassHeader(verdict: ResponseClass): string {
  return verdict === "success" ? "1.0" : "0.0";
}

/** 5xx responses (Finagle's `ServerErrorsAsFailures`) and attempts with no response are failures. */
function isFailure(input: ClassifierInput): boolean {
  return "status" in input ? input.status >= 500 && input.status <= 599 : true;
}

function retryableFor(name: string, methods: ReadonlySet<string> | undefined): ResponseClassifier {
  const classify = (input: ClassifierInput): ResponseClass => {
    if (!isFailure(input)) return "success";
    const retryableCause = "status" in input || RETRYABLE_ERRORS.has(input.error);
    const retryableMethod = methods === undefined || methods.has(input.method);
    return withRetryableHeader(input, retryableCause && retryableMethod ? "retryable-failure" : "failure");
  };
  Object.defineProperty(classify, "name", { value: name });
  return classify;
}

/**
 * Applies the rules that sit on top of every classifier, in Linkerd's order:
 * a failure response carrying `l5d-retryable: true` is retryable (the hop below
 * says the request was never delivered); meshd also honours `false`, which
 * makes a retryable failure final (the hop below has already retried or knows
 * the request arrived, so retrying again only multiplies load); and a request
 * whose body cannot be replayed is never retryable.
 */
function withRetryableHeader(input: ClassifierInput, verdict: ResponseClass): ResponseClass {
  let result = verdict;
  if (result !== "success" && "status" in input && input.l5dRetryable !== undefined) {
    const header = input.l5dRetryable.trim().toLowerCase();
    if (header === "true") result = "retryable-failure";
    else if (header === "false") result = "failure";
  }
  if (result === "retryable-failure" && input.replayable === false) result = "failure";
  return result;
}

function unreachable(value: never): never {
  throw new Error(`unknown response classifier ${JSON.stringify(value)}`);
}
