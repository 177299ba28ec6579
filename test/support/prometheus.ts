// Reading a meshd process's /metrics in tests: Prometheus text exposition,
// parsed strictly so a malformed line fails the test instead of being skipped.

/**
 * Parses Prometheus text exposition: every sample line must be `name{labels} value`.
 * Values are Go floats, whose NaN and Inf Prometheus reads in any case (prom-client writes `Nan`).
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-][Ii][Nn][Ff])$/.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return samples;
}

/** Every sample an admin port's /metrics shows now, by `name{labels}`. */
export async function scrape(adminUrl: string): Promise<Map<string, number>> {
  return parsePrometheus(await (await fetch(`${adminUrl}/metrics`)).text());
}
