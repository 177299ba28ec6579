// The router's statistics past the series cap: services beyond MAX_SERIES
// are counted together as "other", and every series, the histogram's
// included, appears once in the Prometheus text with the sum of what was
// folded into it.
import { describe, expect, it } from "vitest";
import { MAX_SERIES, RouterMetrics } from "../../router/telemetry/metrics.ts";

describe("router metrics past the series cap", () => {
  it("folds services beyond MAX_SERIES into one 'other' series for counters and the latency histogram", async () => {
    const metrics = new RouterMetrics();
    const extra = 3;
    for (let i = 0; i < MAX_SERIES + extra; i++) metrics.service("out", `/svc/s${i}`).done(200, true, 0.002, "127.0.0.1:4140");
    const text = await metrics.registry.metrics();
    const lines = (prefix: string): string[] => text.split("\n").filter((l) => l.startsWith(prefix));
    expect(lines('rt_request_duration_seconds_count{rt="out",service="other"}')).toEqual([`rt_request_duration_seconds_count{rt="out",service="other"} ${extra}`]);
    expect(lines('rt_request_duration_seconds_bucket{rt="out",service="other",le="+Inf"}')).toEqual([`rt_request_duration_seconds_bucket{rt="out",service="other",le="+Inf"} ${extra}`]);
    expect(lines('rt_service_success_total{rt="out",service="other"}')).toEqual([`rt_service_success_total{rt="out",service="other"} ${extra}`]);
    expect(lines('rt_requests_total{rt="out",service="other",')).toEqual([`rt_requests_total{rt="out",service="other",server="127.0.0.1:4140",status_class="2XX"} ${extra}`]);
    expect(lines("rt_request_duration_seconds_count{")).toHaveLength(MAX_SERIES + 1);
  });

  it("keeps nothing per name past the cap: every new service and client shares one entry (a flood of names cannot grow it)", () => {
    const metrics = new RouterMetrics();
    for (let i = 0; i < MAX_SERIES; i++) {
      metrics.service("out", `/svc/s${i}`);
      metrics.client("out", `/$/inet/10.0.0.1/${i}`);
    }
    expect(metrics.service("out", "/svc/new-1")).toBe(metrics.service("out", "/svc/new-2"));
    expect(metrics.client("out", "/$/inet/10.0.0.2/1")).toBe(metrics.client("out", "/$/inet/10.0.0.2/2"));
    // Names shown before the cap keep their own.
    expect(metrics.service("out", "/svc/s0")).not.toBe(metrics.service("out", "/svc/new-1"));
    expect(metrics.service("out", "/svc/s0")).toBe(metrics.service("out", "/svc/s0"));
  });
});
