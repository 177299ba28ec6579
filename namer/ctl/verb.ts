// What a group of verbs is given by the program that holds it: the process,
// a way to add a verb that takes the connection options, and the API client
// those options describe.
import type { Command } from "commander";
import type { NamerClient } from "./client.ts";
import type { NamerctlIo } from "./io.ts";

export interface VerbContext {
  readonly io: NamerctlIo;
  /** Adds `name` under `parent` with --namer, --token and --timeout. */
  readonly verb: (parent: Command, name: string) => Command;
  /** The client for a verb's options (the nearest --namer/--token/--timeout wins, then the environment). */
  readonly clientOf: (cmd: Command) => NamerClient;
}

/** The operator's interrupt, or a signal that never aborts when the process around namerctl has none. */
export function interruptOf(io: NamerctlIo): AbortSignal {
  return io.interrupted?.() ?? new AbortController().signal;
}
