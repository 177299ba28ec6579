import { describe, expect, it } from "vitest";
import { parseWrk, wrkMillis } from "../../bench/wrk.ts";

// A real report (wrk 4.2, --latency) whose stats columns end in "99%" and "50%".
const REPORT = `Running 5s test @ http://127.0.0.1:14140/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.47ms   11.98ms 201.18ms   97.99%
    Req/Sec    16.81k     5.74k   21.68k    62.50%
  Latency Distribution
     50%    2.51ms
     75%    3.13ms
     90%    5.49ms
     99%   59.88ms
  83689 requests in 5.00s, 22.75MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  16725.11
Transfer/sec:      4.55MB
`;

describe("wrk's report", () => {
  it("reads the distribution's own lines, not stats columns ending in the same percentage", () => {
    const r = parseWrk(REPORT);
    expect(r.p50).toBe(2.51);
    expect(r.p99).toBe(59.88);
    expect(r.rps).toBe(16725.11);
    expect(r.requests).toBe(83689);
    expect(r.errors).toBe(7);
  });

  it("gives NaN percentiles for a report without a distribution", () => {
    const r = parseWrk(REPORT.replace(/ {2}Latency Distribution[\s\S]*?99%.*\n/, ""));
    expect(r.p50).toBeNaN();
    expect(r.p99).toBeNaN();
  });

  it("converts wrk's units to milliseconds", () => {
    expect(wrkMillis("512.00us")).toBe(0.512);
    expect(wrkMillis("1.23ms")).toBe(1.23);
    expect(wrkMillis("2.00s")).toBe(2000);
    expect(wrkMillis("Latency")).toBeNaN();
  });
});
