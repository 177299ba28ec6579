// `namerctl register --heartbeat`: registers again every third of the TTL so
// the instance never expires while namerctl runs, rides out a namer that is
// briefly away, and stops when the operator interrupts.
import type { Instance } from "./answers.ts";
import { ApiError, UnreachableError } from "./errors.ts";

export interface HeartbeatDeps {
  /** One registration (a heartbeat, as the registry counts it). */
  readonly register: () => Promise<Instance>;
  /** Aborts when the operator interrupts: the loop then returns. */
  readonly signal: AbortSignal;
  /** Waits `ms`, or less when `signal` aborts (injected so tests need no clock). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Progress for the operator (stderr): a failed heartbeat, and the first good one after. */
  readonly say: (text: string) => void;
  /** Called after every good heartbeat. */
  readonly onBeat?: (instance: Instance) => void;
}

/** Never beat faster than this, whatever the TTL (ms): a tiny TTL must not become a busy loop. */
export const MIN_HEARTBEAT_MS = 50;

/** A third of the TTL: two beats can fail before the instance expires. */
export function heartbeatInterval(ttlSeconds: number): number {
  return Math.max(MIN_HEARTBEAT_MS, Math.round((ttlSeconds * 1000) / 3));
}

/**
 * Worth retrying: the namer could not be reached or failed on its side (5xx:
 * Redis away, shutting down). A 4xx will not change by itself (a bad
 * registration, a token refused, no registry), so it ends the loop.
 */
export function isTransient(e: unknown): boolean {
  return e instanceof UnreachableError || (e instanceof ApiError && e.status >= 500);
}

/** Registers again every ttl/3 until `signal` aborts; returns the last instance the namer acknowledged. */
export async function keepRegistered(first: Instance, deps: HeartbeatDeps): Promise<Instance> {
  let current = first;
  let failing = false;
  while (!deps.signal.aborted) {
    await deps.sleep(heartbeatInterval(current.ttlSeconds), deps.signal);
    if (deps.signal.aborted) break;
    try {
      current = await deps.register();
      if (failing) deps.say(`heartbeat ok again: ${current.service} ${current.id} expires at ${current.expiresAt}`);
      failing = false;
      deps.onBeat?.(current);
    } catch (e) {
      if (!isTransient(e)) throw e;
      failing = true;
      deps.say(`heartbeat failed (${(e as Error).message}); retrying in ${heartbeatInterval(current.ttlSeconds)} ms`);
    }
  }
  return current;
}

/** The real sleep: a timer that an abort cuts short (and that never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
