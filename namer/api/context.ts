// What the API's route plugins share: the store, write policy, open streams
// and metrics, built once per interface.
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
}
