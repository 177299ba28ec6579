// How verbs report: data on stdout (only JSON with --json), watch streams as
// one rendering per change, and the namer's errors in an operator's words.
import { ApiError, CtlError } from "./errors.ts";
import type { NamerctlIo } from "./io.ts";

export const print = (io: NamerctlIo, text: string): void => io.stdout(text.endsWith("\n") || text === "" ? text : text + "\n");
export const printJson = (io: NamerctlIo, value: unknown): void => io.stdout(JSON.stringify(value, null, 2) + "\n");

/** The namer's error in an operator's words, with what to do next where there is an obvious next step. */
export function explain(e: ApiError): string {
  switch (e.status) {
    case 401:
      return `unauthorized: ${e.message}\nhint: pass the write token with --token or NAMERCTL_TOKEN`;
    case 403:
      return `forbidden: ${e.message}`;
    case 404:
      return `not found: ${e.message}`;
    case 409:
      return `already exists: ${e.message}\nhint: use \`namerctl dtab update\` or \`namerctl dtab apply\` to change an existing namespace`;
    case 412:
      return `conflict: ${e.message}`;
    default:
      return e.status >= 500 ? `the namer failed (HTTP ${e.status}): ${e.message}` : `refused (HTTP ${e.status}): ${e.message}`;
  }
}

/** A failure of one step of a command: a namer error comes out naming the step. */
export function failed(what: string, e: unknown, words: (e: ApiError) => string = explain): unknown {
  return e instanceof ApiError ? new CtlError(`${what}: ${words(e)}`, { cause: e }) : e;
}

/** Runs one API step of a command. */
export async function step<T>(what: string, fn: () => Promise<T>, words?: (e: ApiError) => string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw failed(what, e, words);
  }
}

/** ISO-8601 to the millisecond, in UTC, for the line between two renderings of a watch. */
export function watchSeparator(at: number): string {
  return `--- ${new Date(at).toISOString()} ---`;
}

/**
 * Prints every document of a watch as it comes: with --json one compact JSON
 * document a line (what `jq` and line readers want), else the text rendering
 * with a timestamped separator line between two renderings.
 */
export async function printWatch<T>(io: NamerctlIo, documents: AsyncIterable<T>, options: { json: boolean; render: (doc: T) => string; raw?: (doc: T) => unknown }): Promise<void> {
  let first = true;
  for await (const doc of documents) {
    if (options.json) {
      io.stdout(JSON.stringify(options.raw === undefined ? doc : options.raw(doc)) + "\n");
      continue;
    }
    if (!first) io.stdout(watchSeparator(io.now?.() ?? Date.now()) + "\n");
    first = false;
    print(io, options.render(doc));
  }
}
