// Trace context on the wire: W3C `traceparent` (+ `tracestate`), and
// Zipkin's B3 as one `b3` header or as X-B3-* headers. Each router hop is a
// span: it reads the caller's context, makes a span id of its own, and
// sends the context on in the formats the caller used (W3C always), so
// applications on either convention keep their traces whole.
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** The B3 forms a request used; W3C is always sent on. */
export interface B3Forms {
  readonly single: boolean;
  readonly multi: boolean;
}

export interface TraceContext {
  /** 32 lowercase hex digits (a 64-bit B3 id is left-padded with zeros). */
  readonly traceId: string;
  /** The caller's span (16 hex digits): this hop's parent. */
  readonly parentSpanId: string | undefined;
  /** The caller's sampling decision; undefined when it deferred (B3 without a flag). */
  readonly sampled: boolean | undefined;
  /** Whether the caller sent a context at all (false: this hop starts the trace). */
  readonly continued: boolean;
  /** The B3 forms to send on (a new trace gets the single `b3` header). */
  readonly b3: B3Forms;
  /** The B3 trace id as the caller wrote it (16 or 32 digits), echoed back in B3 headers. */
  readonly b3TraceId: string;
  readonly tracestate: string | undefined;
}

/** The trace headers a router reads and rewrites (lower case). */
export const TRACE_HEADERS: ReadonlySet<string> = new Set(["traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]);

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO = /^0+$/;

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function validTraceId(id: string): boolean {
  return (HEX32.test(id) || HEX16.test(id)) && !ZERO.test(id);
}

function validSpanId(id: string): boolean {
  return HEX16.test(id) && !ZERO.test(id);
}

/** W3C Trace Context §3.2: version-traceid-parentid-flags; future versions may append fields. */
function readTraceparent(value: string): { traceId: string; parentSpanId: string; sampled: boolean } | undefined {
  const v = value.trim();
  if (v.length < 55) return undefined;
  const version = v.slice(0, 2);
  if (!/^[0-9a-f]{2}$/.test(version) || version === "ff") return undefined;
  if (version === "00" ? v.length !== 55 : v.length > 55 && v[55] !== "-") return undefined;
  const [, traceId = "", parentSpanId = "", flags = ""] = v.slice(0, 55).split("-");
  if (v[2] !== "-" || v[35] !== "-" || v[52] !== "-") return undefined;
  if (!HEX32.test(traceId) || ZERO.test(traceId) || !validSpanId(parentSpanId) || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  return { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

function b3Sampled(flag: string | undefined): boolean | undefined {
  if (flag === "1" || flag === "d" || flag === "true") return true;
  if (flag === "0" || flag === "false") return false;
  return undefined;
}

function readB3Single(value: string | undefined): { traceId: string; spanId: string; sampled: boolean | undefined } | undefined {
  if (value === undefined) return undefined;
  const [traceId = "", spanId = "", flag, parent] = value.trim().toLowerCase().split("-");
  if (!validTraceId(traceId) || !validSpanId(spanId) || (parent !== undefined && !validSpanId(parent))) return undefined;
  return { traceId, spanId, sampled: b3Sampled(flag) };
}

function readB3Multi(headers: IncomingHttpHeaders): { traceId: string; spanId: string; sampled: boolean | undefined } | undefined {
  const traceId = one(headers["x-b3-traceid"])?.trim().toLowerCase();
  const spanId = one(headers["x-b3-spanid"])?.trim().toLowerCase();
  if (traceId === undefined || spanId === undefined || !validTraceId(traceId) || !validSpanId(spanId)) return undefined;
  const debug = one(headers["x-b3-flags"])?.trim() === "1";
  return { traceId, spanId, sampled: debug ? true : b3Sampled(one(headers["x-b3-sampled"])?.trim().toLowerCase()) };
}

/**
 * The context a request carries: traceparent first, then `b3`, then X-B3-*;
 * undefined when it carries none (or only broken ones). The B3 forms present
 * are remembered so the next hop gets them too.
 */
export function readTraceContext(headers: IncomingHttpHeaders): TraceContext | undefined {
  const traceparent = one(headers["traceparent"]);
  const w3c = traceparent === undefined ? undefined : readTraceparent(traceparent);
  const single = readB3Single(one(headers["b3"]));
  const multi = readB3Multi(headers);
  const b3 = { single: single !== undefined, multi: multi !== undefined };
  const b3Id = single?.traceId ?? multi?.traceId;
  if (w3c !== undefined) {
    // A B3 id naming the same trace keeps its own length; one naming another trace is overruled.
    const b3TraceId = b3Id !== undefined && b3Id.padStart(32, "0") === w3c.traceId ? b3Id : w3c.traceId;
    return { ...w3c, continued: true, b3, b3TraceId, tracestate: one(headers["tracestate"]) };
  }
  const found = single ?? multi;
  if (found === undefined) return undefined;
  return { traceId: found.traceId.padStart(32, "0"), parentSpanId: found.spanId, sampled: found.sampled, continued: true, b3, b3TraceId: found.traceId, tracestate: undefined };
}

/** A new trace, started by this hop. */
export function newTraceContext(): TraceContext {
  const traceId = newTraceId();
  return { traceId, parentSpanId: undefined, sampled: undefined, continued: false, b3: { single: true, multi: false }, b3TraceId: traceId, tracestate: undefined };
}

export function newTraceId(): string {
  let id = randomBytes(16).toString("hex");
  while (ZERO.test(id)) id = randomBytes(16).toString("hex");
  return id;
}

export function newSpanId(): string {
  let id = randomBytes(8).toString("hex");
  while (ZERO.test(id)) id = randomBytes(8).toString("hex");
  return id;
}

/**
 * The headers that carry this hop's span to the next one (flat name/value
 * list): traceparent always, tracestate untouched, and B3 in the forms the
 * caller used (`b3` when the trace starts here).
 */
export function traceHeaders(ctx: TraceContext, spanId: string, sampled: boolean): string[] {
  const out = ["traceparent", `00-${ctx.traceId}-${spanId}-${sampled ? "01" : "00"}`];
  if (ctx.tracestate !== undefined) out.push("tracestate", ctx.tracestate);
  if (ctx.b3.multi) {
    out.push("x-b3-traceid", ctx.b3TraceId, "x-b3-spanid", spanId, "x-b3-sampled", sampled ? "1" : "0");
    if (ctx.parentSpanId !== undefined) out.push("x-b3-parentspanid", ctx.parentSpanId);
  }
  if (ctx.b3.single) out.push("b3", `${ctx.b3TraceId}-${spanId}-${sampled ? "1" : "0"}${ctx.parentSpanId === undefined ? "" : `-${ctx.parentSpanId}`}`);
  return out;
}
