// What the API's route plugins share: the store, write policy, open streams
// and metrics, built once per interface.
import type { NameInterpreter } from "../interpreter/interpreter.ts";
import type { DtabStore } from "../store/types.ts";
import type { NamerMetrics } from "../metrics.ts";
import type { loadWriteTokens } from "./auth.ts";
import type { StreamRegistry } from "./stream.ts";

export interface ApiContext {
  readonly store: DtabStore;
  readonly tokens: Awaited<ReturnType<typeof loadWriteTokens>>;
  readonly allowUnconditionalWrites: boolean;
  readonly keepAliveMs: number;
  readonly streams: StreamRegistry;
  readonly metrics: NamerMetrics;
  /** Binding and discovery; without it the name endpoints are not served. */
  readonly interpreter: NameInterpreter | undefined;
  /** How long a one-shot bind/addr/resolve waits for discovery to answer (ms). */
  readonly nameTimeoutMs: number;
  /** How long a delegation waits for pending answers (ms); Linkerd's is 2 s. */
  readonly delegateTimeoutMs: number;
}
