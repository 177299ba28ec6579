// Schema pieces every meshd config shares (ports, addresses, durations,
// `kind` names with aliases), so the router and namer configs read alike.
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
 * Normalises `kind` aliases before validation, so short names (`memory`) and
 * Linkerd's (`io.l5d.inMemory`) both reach the same schema branch.
 */
export function withKindAliases<S extends z.ZodType>(aliases: Readonly<Record<string, string>>, schema: S) {
  return z.preprocess((value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const kind = (value as Record<string, unknown>)["kind"];
    if (typeof kind !== "string" || !(kind in aliases)) return value;
    return { ...value, kind: aliases[kind] };
  }, schema);
}
