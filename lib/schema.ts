// Schema pieces every meshd config shares (ports, addresses, durations,
// `kind` names with aliases, and the Linkerd kinds and keys meshd knows but
// does not implement), so the router and namer configs read alike.
import { isIP } from "node:net";
import { z } from "zod";

/** A TCP port, 1–65535 (0 is allowed where noted: "any free port", for tests). */
export const port = z.number().int().min(0).max(65535);

/** An IP address to listen on or connect to (IPv4 or IPv6 literal). */
export const ip = z.string().refine((s) => isIP(s) !== 0, { message: "expected an IPv4 or IPv6 address such as 127.0.0.1" });

/** A whole number of milliseconds. */
export const millis = z.number().int().min(0);

export const positiveInt = z.number().int().min(1);

export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * What meshd knows about a schema beyond its shape, for error messages: the
 * Linkerd names (`kind` values of a union, keys of an object) it recognises
 * but does not implement, each with the reason shown to the user, and the
 * `kind` aliases it accepts. lib/config.ts reads it when a config is rejected.
 */
export interface LinkerdNotes {
  /** Unsupported `kind` values of a discriminated union → why. */
  readonly kinds?: Readonly<Record<string, string>>;
  /** Unsupported keys of an object → why. */
  readonly keys?: Readonly<Record<string, string>>;
  /** Accepted `kind` aliases → the canonical kind. */
  readonly aliases?: Readonly<Record<string, string>>;
}

export const linkerdNotes = z.registry<LinkerdNotes>();

function note(schema: z.ZodType, notes: LinkerdNotes): void {
  const had = linkerdNotes.get(schema);
  linkerdNotes.add(schema, {
    ...had,
    ...(notes.kinds === undefined ? {} : { kinds: { ...had?.kinds, ...notes.kinds } }),
    ...(notes.keys === undefined ? {} : { keys: { ...had?.keys, ...notes.keys } }),
    ...(notes.aliases === undefined ? {} : { aliases: { ...had?.aliases, ...notes.aliases } }),
  });
}

/**
 * Normalises `kind` aliases before validation, so short names (`memory`) and
 * Linkerd's (`io.l5d.inMemory`) both reach the same schema branch. `unsupported`
 * lists Linkerd kinds meshd does not implement, with the reason: a config
 * naming one is rejected with that reason and the kinds that are supported.
 */
export function withKindAliases<S extends z.ZodType>(aliases: Readonly<Record<string, string>>, schema: S, unsupported: Readonly<Record<string, string>> = {}) {
  note(schema, { kinds: unsupported, aliases });
  return z.preprocess((value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const kind = (value as Record<string, unknown>)["kind"];
    if (typeof kind !== "string" || !Object.hasOwn(aliases, kind)) return value;
    return { ...value, kind: aliases[kind] };
  }, schema);
}

/**
 * Marks `kind` values of a discriminated union that Linkerd has and meshd does
 * not (for a union that takes no aliases; see withKindAliases). Returns the
 * same schema, its types unchanged.
 */
export function withUnsupportedKinds<S extends z.ZodType>(schema: S, kinds: Readonly<Record<string, string>>): S {
  note(schema, { kinds });
  return schema;
}

/**
 * Marks keys of a strict object that Linkerd has and meshd does not: the
 * object still rejects them, and the error gives the reason instead of
 * "unknown key". Returns the same schema.
 */
export function withUnsupportedKeys<S extends z.ZodType>(schema: S, keys: Readonly<Record<string, string>>): S {
  note(schema, { keys });
  return schema;
}

/** Why shared Linkerd keys are rejected wherever they appear (servers, clients, interfaces, admin). */
export const UNSUPPORTED = {
  tls: "TLS is not implemented: meshd serves and sends plain HTTP",
  socketOptions: "socket options are not configurable in meshd",
  thrift: "a thrift router key; meshd routes HTTP/1.1",
  h2: "an HTTP/2 key; meshd routes HTTP/1.1",
} as const;
