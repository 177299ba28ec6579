// Benchmark: how long a dtab update takes to reach 1,000 open watch streams.
// Each round PUTs a new dtab and times its arrival on every stream; p50/p99
// are over all (stream, round) deliveries. Printed beside a reference run in
// the same invocation: a bare Node HTTP server that only broadcasts a line to
// the same number of held-open responses (the floor for fan-out here).
// Targets: the namer on its embedded store, and on Redis when redis-server exists.
// Run: npm run bench:namer   (or: node bench/namer-watch.ts [--streams 1000] [--rounds 30])
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../test/support/process.ts";
import { startRedis, type RedisServer } from "../test/support/redis.ts";
import { agent, formatTable, hasRedisServer, latencies, type Latencies, numberArg, openStreams, send, startBroadcast, startNamer } from "./support.ts";

const STREAMS = numberArg("streams", 1000);
const ROUNDS = numberArg("rounds", 30);

interface Target {
  readonly name: string;
  readonly watchUrl: string;
  /** Publishes `marker` and resolves when the server accepted it. */
  publish(marker: string, round: number): Promise<void>;
  stop(): Promise<void>;
}

async function referenceTarget(dir: string): Promise<Target> {
  const broadcast = await startBroadcast(dir);
  return {
    name: "reference: bare node:http broadcast",
    watchUrl: `${broadcast.url}/watch`,
    publish: async (marker) => {
      await send(broadcast.url, "POST", marker, "application/dtab");
    },
    stop: broadcast.stop,
  };
}

async function namerTarget(dir: string, name: string, storage: Record<string, unknown>): Promise<Target> {
  const namer = await startNamer(dir, name, { storage });
  const dtabUrl = `${namer.url}/api/1/dtabs/bench`;
  const status = await send(dtabUrl, "POST", "/svc=>/#/io.l5d.fs", "application/dtab");
  if (status !== 204) throw new Error(`${name}: creating the namespace answered ${status}`);
  return {
    name,
    watchUrl: `${dtabUrl}?watch=true`,
    publish: async (marker, round) => {
      const code = await send(dtabUrl, "PUT", `/svc=>/${marker}`, "application/dtab", { "if-match": String(round + 1) });
      if (code !== 204) throw new Error(`${name}: PUT answered ${code}`);
    },
    stop: namer.stop,
  };
}

async function measure(target: Target): Promise<Latencies> {
  const arrivals = new Map<string, number[]>();
  const close = await openStreams(target.watchUrl, STREAMS, () => (line) => {
    const m = /m(\d+)x/.exec(line);
    if (m !== null) arrivals.get(m[1] as string)?.push(performance.now());
  });
  await new Promise((r) => setTimeout(r, 200));
  const measured: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const key = String(round);
    const got: number[] = [];
    arrivals.set(key, got);
    const started = performance.now();
    await target.publish(`m${key}x`, round);
    await eventually(() => (got.length >= STREAMS ? true : undefined), 30_000, `round ${round} on ${target.name}`);
    for (const t of got) measured.push(t - started);
  }
  close();
  return latencies(measured);
}

const dir = mkdtempSync(join(tmpdir(), "meshd-bench-"));
const hasRedis = hasRedisServer();
let redis: RedisServer | undefined;
const rows: string[][] = [];
const builders: [string, () => Promise<Target>][] = [
  ["reference", () => referenceTarget(dir)],
  ["embedded", () => namerTarget(dir, "meshd namer, embedded store", { kind: "io.l5d.inMemory" })],
];
if (hasRedis) {
  builders.push([
    "redis",
    async () => {
      redis = await startRedis();
      return namerTarget(dir, "meshd namer, Redis store", { kind: "redis", url: redis.url, prefix: "bench:" });
    },
  ]);
}

console.log(`meshd namer watch-delivery benchmark (node ${process.version}): ${STREAMS} streams × ${ROUNDS} updates`);
let reference: number | undefined;
for (const [, build] of builders) {
  const target = await build();
  try {
    const r = await measure(target);
    reference ??= r.p50;
    rows.push([target.name, String(r.samples), r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(2), (r.p50 / reference).toFixed(2) + "×"]);
    process.stderr.write(`  measured ${target.name}\n`);
  } finally {
    await target.stop();
  }
}
await redis?.stop();
if (!hasRedis) rows.push(["meshd namer, Redis store", "-", "-", "-", "-", "skipped: no redis-server"]);

const header = ["target", "deliveries", "p50 ms", "p99 ms", "max ms", "p50 vs ref"];
console.log(formatTable(header, rows));
agent.destroy();
