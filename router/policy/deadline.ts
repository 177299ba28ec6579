// Deadlines carried between hops in `l5d-ctx-deadline` (Linkerd 1 / Finagle's
// Deadline context): reading and writing the header, keeping the strictest of
// several, and combining one with the router's own total timeout so that a
// request never outlives the deadline it arrived with.

/** The context header Linkerd reads from requests and writes on the requests it sends. */
export const DEADLINE_HEADER = "l5d-ctx-deadline";

/**
 * Finagle's `Deadline`: when it was set and when it passes, both in
 * nanoseconds since the Unix epoch. Kept as bigint because epoch nanoseconds
 * (~1.8 × 10¹⁸) are far beyond a double's exact integers, and the header must
 * round-trip to the digit.
 */
export interface Deadline {
  readonly timestampNs: bigint;
  readonly deadlineNs: bigint;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** An optional minus sign and up to 19 digits: what fits a Java Long, which is what Linkerd parses with. */
const INT64 = /^-?\d{1,19}$/;

/**
 * Parses one header value, `"<timestamp> <deadline>"`: two decimal integers
 * (nanoseconds since the epoch) separated by one space, exactly what Linkerd's
 * `Deadline.write` produces. Anything else is undefined: Linkerd ignores a
 * value it cannot read rather than failing the request.
 */
export function parseDeadline(value: string): Deadline | undefined {
  const parts = value.trim().split(" ");
  if (parts.length !== 2) return undefined;
  const [timestamp, deadline] = parts as [string, string];
  if (!INT64.test(timestamp) || !INT64.test(deadline)) return undefined;
  const timestampNs = BigInt(timestamp);
  const deadlineNs = BigInt(deadline);
  if (timestampNs < INT64_MIN || timestampNs > INT64_MAX || deadlineNs < INT64_MIN || deadlineNs > INT64_MAX) return undefined;
  return { timestampNs, deadlineNs };
}

/**
 * Reads every `l5d-ctx-deadline` value a request carries (repeated headers,
 * or one joined with commas as Node joins repeats) and keeps the strictest
 * combination of the readable ones (Linkerd's `Deadline.get`).
 */
export function readDeadlineHeader(values: string | readonly string[] | undefined): Deadline | undefined {
  if (values === undefined) return undefined;
  const list = typeof values === "string" ? [values] : values;
  let result: Deadline | undefined;
  for (const joined of list) {
    for (const value of joined.split(",")) {
      const deadline = parseDeadline(value);
      if (deadline !== undefined) result = result === undefined ? deadline : combineDeadlines(result, deadline);
    }
  }
  return result;
}

/** The header value for a deadline (Linkerd's `Deadline.write`). */
export function showDeadline(deadline: Deadline): string {
  return `${deadline.timestampNs} ${deadline.deadlineNs}`;
}

/** The strictest of two deadlines: the later timestamp and the earlier deadline (Finagle's `Deadline.combined`). */
export function combineDeadlines(a: Deadline, b: Deadline): Deadline {
  return {
    timestampNs: a.timestampNs > b.timestampNs ? a.timestampNs : b.timestampNs,
    deadlineNs: a.deadlineNs < b.deadlineNs ? a.deadlineNs : b.deadlineNs,
  };
}

/** A deadline set now that passes after `timeoutMs` (Finagle's `Deadline.ofTimeout`). `nowMs` is epoch time. */
export function deadlineAfter(nowMs: number, timeoutMs: number): Deadline {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`a timeout must be a finite number of ms ≥ 0 (got ${timeoutMs})`);
  const timestampNs = msToNs(nowMs);
  return { timestampNs, deadlineNs: timestampNs + msToNs(timeoutMs) };
}

/**
 * The deadline a request runs under: the one it arrived with, the router's
 * total timeout counted from now, whichever passes first; undefined when
 * there is neither. The result is never later than either, so a hop never
 * extends what the hop above allowed. An incoming deadline was set on another
 * host's clock and is read against this one's (as in Linkerd), so clock skew
 * between hosts shifts it; `nowMs` must be epoch time, not a monotonic clock.
 */
export function requestDeadline(nowMs: number, incoming: Deadline | undefined, totalTimeoutMs: number | undefined): Deadline | undefined {
  const local = totalTimeoutMs === undefined ? undefined : deadlineAfter(nowMs, totalTimeoutMs);
  if (incoming === undefined) return local;
  if (local === undefined) return incoming;
  return combineDeadlines(incoming, local);
}

/** Milliseconds left before the deadline passes (negative once it has). */
export function remainingMs(deadline: Deadline, nowMs: number): number {
  return nsToMs(deadline.deadlineNs - msToNs(nowMs));
}

/** Whether the deadline has passed (Finagle: expired once now ≥ deadline). */
export function isExpired(deadline: Deadline, nowMs: number): boolean {
  return msToNs(nowMs) >= deadline.deadlineNs;
}

/** Epoch milliseconds (fractions allowed, to the nanosecond) as epoch nanoseconds. */
export function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite time in ms: ${ms}`);
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** Nanoseconds as milliseconds (a double: exact to well under a microsecond for epoch times). */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}
