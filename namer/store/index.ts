// The namer's dtab stores: the contract, the embedded store (the default)
// and the Redis store, with the helpers callers need to configure them.

export type {
  AuditEntry,
  DtabStore,
  HistoryAction,
  HistoryEntry,
  StoreHealth,
  Unsubscribe,
  VersionedDtab,
  WriteContext,
  WriteResult,
} from "./types.ts";
export { DEFAULT_AUDIT_SIZE, DEFAULT_HISTORY_SIZE } from "./state.ts";
export { DATA_FILE, MemoryDtabStore } from "./memory.ts";
export type { MemoryDtabStoreOptions } from "./memory.ts";
export { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_URL } from "../redis/connection.ts";
export {
  DEFAULT_PREFIX,
  DEFAULT_VERSION_CHECK_INTERVAL_MS,
  dtabKeys,
  eventsChannel,
  RedisDtabStore,
} from "./redis.ts";
export type { RedisDtabStoreOptions } from "./redis.ts";
