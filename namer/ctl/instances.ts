// Registry instances on namerctl's command line: HOST:PORT and --meta k=v as
// operators type them, and the instances table with how long each has left.
import { InvalidArgumentError } from "commander";
import type { Instance } from "./answers.ts";
import { isServiceName } from "./client.ts";
import { formatTable } from "./format.ts";

export interface HostPort {
  /** Without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
  /** The registry's id for it: host:port, [v6]:port. */
  readonly id: string;
}

/** HOST:PORT or [IPv6]:PORT, as the registry names instances; commander's argument parser (bad input exits 2). */
export function parseHostPort(raw: string): HostPort {
  const hint = "give HOST:PORT, e.g. 10.0.0.1:8080, users-1.internal:8080 or [fd00::1]:8080";
  const m = /^\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]:(\d{1,5})$/.exec(raw) ?? /^([^\s/:[\]@]+):(\d{1,5})$/.exec(raw);
  if (m === null) {
    if (/^[0-9A-Fa-f:]+:\d+$/.test(raw) && raw.split(":").length > 2) throw new InvalidArgumentError(`put an IPv6 address in brackets, e.g. [${raw.slice(0, raw.lastIndexOf(":"))}]:${raw.slice(raw.lastIndexOf(":") + 1)}`);
    throw new InvalidArgumentError(hint);
  }
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`the port must be 1–65535, not ${m[2]}`);
  return { host, port, id: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}` };
}

/** A service name the registry takes (and that survives a URL); commander's argument parser. */
export function parseService(raw: string): string {
  if (!isServiceName(raw)) throw new InvalidArgumentError("a service name is 1–253 letters, digits and _ : . $ % - (not . or ..)");
  return raw;
}

/** --ttl: seconds, above 0 (the namer has the upper limit and says so). */
export function parseTtl(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)s?$/.exec(raw.trim());
  const seconds = m === null ? NaN : Number(m[1]);
  if (!(seconds > 0)) throw new InvalidArgumentError("give the TTL in seconds, above 0, e.g. 30");
  return seconds;
}

/**
 * One --meta k=v, added to the ones before it. `weight` is a number (the
 * registry balances by it); every other value is kept as the string typed.
 */
export function parseMeta(raw: string, previous: Readonly<Record<string, string | number>> | undefined): Record<string, string | number> {
  const eq = raw.indexOf("=");
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) throw new InvalidArgumentError("give meta as key=value, e.g. zone=eu-1a, nodeName=node-7 or weight=2");
  const value = raw.slice(eq + 1);
  const meta: Record<string, string | number> = { ...previous };
  if (Object.hasOwn(meta, key)) throw new InvalidArgumentError(`meta ${key} is given twice`);
  if (key === "weight") {
    const weight = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
    if (!(weight > 0)) throw new InvalidArgumentError("weight must be a number above 0");
    meta[key] = weight;
  } else {
    meta[key] = value;
  }
  return meta;
}

/** A duration left, coarse enough to read at a glance: 45s, 4m05s, 1h02m; "expired" at or below zero. */
export function formatRemaining(ms: number): string {
  if (!(ms > 0)) return "expired";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const KNOWN = new Set(["zone", "nodeName", "weight"]);

/** `instances`: id, zone, node, weight, time left; a META column only when some instance has other meta. */
export function formatInstances(service: string, instances: readonly Instance[], now: number): string {
  if (instances.length === 0) return `no live instances of ${service}`;
  const other = (i: Instance): string =>
    Object.entries(i.meta)
      .filter(([k]) => !KNOWN.has(k))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(" ");
  const withMeta = instances.some((i) => other(i) !== "");
  const cell = (v: string | number | undefined, fallback: string): string => (v === undefined || v === "" ? fallback : String(v));
  return formatTable(
    ["ID", "ZONE", "NODE", "WEIGHT", "EXPIRES IN", ...(withMeta ? ["META"] : [])],
    instances.map((i) => [
      i.id,
      cell(i.meta["zone"], "-"),
      cell(i.meta["nodeName"], "-"),
      // The registry's documented default, so the column always says what the balancer uses.
      cell(i.meta["weight"], "1"),
      formatRemaining(Date.parse(i.expiresAt) - now),
      ...(withMeta ? [other(i)] : []),
    ]),
  );
}
