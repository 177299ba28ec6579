// The router's view of the namer: the io.l5d.namerd.http interpreter (live
// bindings over the namer's watch streams, last good kept, snapshot on disk).
export { RemoteNameInterpreter } from "./remote-interpreter.ts";
export type { BindingInterpreter, RemoteBindingInfo, RemoteInterpreterOptions } from "./remote-interpreter.ts";
export { backoffMs, DEFAULT_RETRY, retryFromSeconds } from "./backoff.ts";
export type { RetryPolicy } from "./backoff.ts";
export { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, snapshotFile } from "./snapshot.ts";
export type { SnapshotEntryJson, SnapshotFileJson } from "./snapshot.ts";
export type { WatchState, WatchStatus } from "./ndjson-watch.ts";
export type { Binding, BoundLeaf, LiveValue } from "../interpreter/interpreter.ts";
