// Reading and writing trace context (W3C Trace Context, B3 single and
// multi) and the access log's query redaction, on the edge cases callers
// get wrong.
import { describe, expect, it } from "vitest";
import { redactTarget } from "../../router/telemetry/access-log.ts";
import { newTraceContext, readTraceContext, traceHeaders } from "../../router/telemetry/trace-context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("readTraceContext", () => {
  it("reads a valid traceparent and its sampled flag", () => {
    expect(readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-01` })).toMatchObject({ traceId: TRACE, parentSpanId: SPAN, sampled: true, continued: true });
    expect(readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-00` })?.sampled).toBe(false);
    // Other flag bits do not matter; only bit 0 is "sampled".
    expect(readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-03` })?.sampled).toBe(true);
  });

  it.each([
    ["version ff", `ff-${TRACE}-${SPAN}-01`],
    ["upper-case hex", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["an all-zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["a short trace id", `00-${TRACE.slice(2)}-${SPAN}-01`],
    ["version 00 with extra fields", `00-${TRACE}-${SPAN}-01-extra`],
    ["a missing dash", `00-${TRACE}${SPAN}-01`],
  ])("ignores a traceparent with %s", (_what, value) => {
    expect(readTraceContext({ traceparent: value })).toBeUndefined();
  });

  it("accepts a future version's extra fields", () => {
    expect(readTraceContext({ traceparent: `01-${TRACE}-${SPAN}-01-future` })?.traceId).toBe(TRACE);
  });

  it("reads B3 single, including a deferred decision and debug", () => {
    expect(readTraceContext({ b3: `${TRACE}-${SPAN}-1` })).toMatchObject({ traceId: TRACE, parentSpanId: SPAN, sampled: true, b3: { single: true, multi: false } });
    expect(readTraceContext({ b3: `${TRACE}-${SPAN}` })?.sampled).toBeUndefined();
    expect(readTraceContext({ b3: `${TRACE}-${SPAN}-d` })?.sampled).toBe(true);
    expect(readTraceContext({ b3: "0" })).toBeUndefined();
  });

  it("reads B3 multi with 64-bit ids, padding the trace id for W3C but echoing it as sent", () => {
    const ctx = readTraceContext({ "x-b3-traceid": "a3ce929d0e0e4736", "x-b3-spanid": SPAN, "x-b3-flags": "1" });
    expect(ctx).toMatchObject({ traceId: "0000000000000000a3ce929d0e0e4736", b3TraceId: "a3ce929d0e0e4736", sampled: true, b3: { single: false, multi: true } });
    const headers = traceHeaders(ctx as NonNullable<typeof ctx>, "1111111111111111", true);
    expect(headers).toEqual([
      "traceparent",
      "00-0000000000000000a3ce929d0e0e4736-1111111111111111-01",
      "x-b3-traceid",
      "a3ce929d0e0e4736",
      "x-b3-spanid",
      "1111111111111111",
      "x-b3-sampled",
      "1",
      "x-b3-parentspanid",
      SPAN,
    ]);
  });

  it("prefers traceparent but keeps sending the B3 forms the caller used", () => {
    const ctx = readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-01`, b3: `${TRACE}-${SPAN}-1`, tracestate: "a=b" });
    expect(ctx?.b3).toEqual({ single: true, multi: false });
    expect(traceHeaders(ctx as NonNullable<typeof ctx>, "2222222222222222", true)).toEqual(["traceparent", `00-${TRACE}-2222222222222222-01`, "tracestate", "a=b", "b3", `${TRACE}-2222222222222222-1-${SPAN}`]);
  });

  it("starts new traces with a random id, sent as traceparent and b3", () => {
    const a = newTraceContext();
    const b = newTraceContext();
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.traceId).not.toBe(b.traceId);
    const headers = traceHeaders(a, "3333333333333333", false);
    expect(headers).toEqual(["traceparent", `00-${a.traceId}-3333333333333333-00`, "b3", `${a.traceId}-3333333333333333-0`]);
  });
});

describe("redactTarget", () => {
  it("hides values of credential-looking query parameters and keeps the rest", () => {
    expect(redactTarget("/a?id=1&access_token=x&API_KEY=y&page=2&password=z")).toBe("/a?id=1&access_token=[redacted]&API_KEY=[redacted]&page=2&password=[redacted]");
    expect(redactTarget("/plain/path")).toBe("/plain/path");
    expect(redactTarget("/a?%74oken=secret")).toBe("/a?%74oken=[redacted]");
    expect(redactTarget("/a?flag&x=%zz")).toBe("/a?flag&x=%zz");
  });
});
