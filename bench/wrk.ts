// Reading wrk's report: requests per second, the latency distribution
// (`--latency`), and the errors it counted.

export interface WrkResult {
  readonly rps: number;
  /** Milliseconds; NaN when the report has no distribution. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx responses. */
  readonly errors: number;
}

/** A wrk duration ("512.00us", "1.23ms", "2.00s") in milliseconds; NaN if it is none. */
export function wrkMillis(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/** One percentile line of the distribution ("     99%    1.23ms"), not a stats column that ends in "99%". */
function percentile(report: string, p: number): number {
  return wrkMillis(new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, "m").exec(report)?.[1] ?? "");
}

export function parseWrk(report: string): WrkResult {
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(report)?.[1] ?? 0),
    p50: percentile(report, 50),
    p99: percentile(report, 99),
    requests: Number(/(\d+) requests in/.exec(report)?.[1] ?? 0),
    errors:
      [...report.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0) + Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0),
  };
}
