// Benchmark: how long an address change in discovery takes to reach 1,000
// open bind watch streams on the namer — an io.l5d.fs file rewritten, and
// a registry instance that stops heartbeating (TTL expiry, on Redis). Each
// round times the change's arrival on every stream; p50/p99 over all
// (stream, round) deliveries. Printed beside a reference measured in the
// same run: a bare node:http server pushing a line to the same number of
// held-open responses the moment it is told to (the fan-out floor).
// Run: npm run bench:discovery   [--streams 1000] [--rounds 10]
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../test/support/process.ts";
import { startRedis, type RedisServer } from "../test/support/redis.ts";
import { agent, formatTable, hasRedisServer, latencies, type Latencies, numberArg, openStreams, send, startBroadcast, startNamer } from "./support.ts";

const STREAMS = numberArg("streams", 1000);
const ROUNDS = numberArg("rounds", 10);
const dir = mkdtempSync(join(tmpdir(), "meshd-bench-disco-"));

interface Scenario {
  readonly name: string;
  readonly watchUrl: string;
  /** Makes round `round`'s change; resolves with the moment it took effect (performance.now()). */
  change(round: number): Promise<number>;
  /** The text that shows round `round`'s change arrived. */
  marker(round: number): string;
  stop(): Promise<void>;
}

async function measure(s: Scenario): Promise<Latencies> {
  const arrivals: { round: number; marker: string; at: number[] } = { round: -1, marker: "\u0000", at: [] };
  const close = await openStreams(s.watchUrl, STREAMS, () => {
    let seenRound = -1;
    return (line) => {
      if (seenRound !== arrivals.round && line.includes(arrivals.marker)) {
        seenRound = arrivals.round;
        arrivals.at.push(performance.now());
      }
    };
  });
  await new Promise((r) => setTimeout(r, 500));
  const measured: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    arrivals.round = round;
    arrivals.marker = s.marker(round);
    arrivals.at = [];
    const started = await s.change(round);
    await eventually(() => (arrivals.at.length >= STREAMS ? true : undefined), 60_000, `round ${round} of ${s.name}`);
    for (const t of arrivals.at) measured.push(t - started);
    await new Promise((r) => setTimeout(r, 200));
  }
  close();
  return latencies(measured);
}

async function reference(): Promise<Scenario> {
  const broadcast = await startBroadcast(dir);
  return {
    name: "reference: bare node:http push",
    watchUrl: `${broadcast.url}/`,
    change: async (round) => {
      const at = performance.now();
      await send(`${broadcast.url}/`, "POST", `change-${round}-x`, "text/plain");
      return at;
    },
    marker: (round) => `change-${round}-x`,
    stop: broadcast.stop,
  };
}

async function fsScenario(): Promise<Scenario> {
  const disco = join(dir, "disco");
  mkdirSync(disco, { recursive: true });
  writeFileSync(join(disco, "web"), "127.0.0.1 10000\n");
  const namer = await startNamer(dir, "fs", { storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc=>/#/io.l5d.fs" } }, namers: [{ kind: "io.l5d.fs", rootDir: disco }] });
  return {
    name: "meshd namer: io.l5d.fs file rewritten",
    watchUrl: `${namer.url}/api/1/bind/default?path=/svc/web&watch=true`,
    change: async (round) => {
      // An editor-style save: write a new file, rename it over the old one.
      writeFileSync(join(disco, ".web.tmp"), `127.0.0.1 ${20000 + round}\n`);
      renameSync(join(disco, ".web.tmp"), join(disco, "web"));
      return performance.now();
    },
    marker: (round) => `"port":${20000 + round}`,
    stop: namer.stop,
  };
}

async function registryScenario(redis: RedisServer): Promise<Scenario> {
  const namer = await startNamer(dir, "registry", {
    storage: { kind: "redis", url: redis.url, prefix: "bench:" },
    namers: [{ kind: "meshd.registry", defaultTtlSeconds: 1 }],
  });
  await send(`${namer.url}/api/1/dtabs/default`, "POST", JSON.stringify([{ prefix: "/svc", dst: "/#/registry" }]), "application/json");
  // A long-lived instance keeps the service bound; each round adds one that then stops heartbeating.
  await send(`${namer.url}/api/1/registry/pay`, "POST", JSON.stringify({ host: "127.0.0.1", port: 30000, ttlSeconds: 3600 }), "application/json");
  return {
    name: "meshd namer: registry heartbeat lost (TTL 1 s, Redis)",
    watchUrl: `${namer.url}/api/1/bind/default?path=/svc/pay&watch=true`,
    change: async (round) => {
      // Register an instance with a 1 s TTL and let it lapse: what is timed is its expiry reaching the streams.
      const before = performance.now();
      await send(`${namer.url}/api/1/registry/pay`, "POST", JSON.stringify({ host: "127.0.0.1", port: 31000 + round, ttlSeconds: 1 }), "application/json");
      const expires = before + 1_000;
      await new Promise((r) => setTimeout(r, Math.max(0, expires - performance.now())));
      return expires;
    },
    // The expiry shows as a document with the long-lived instance alone again.
    marker: () => `"port":30000,"meta":{}}],"meta"`,
    stop: namer.stop,
  };
}

const rows: string[][] = [];
console.log(`meshd namer discovery-delivery benchmark (node ${process.version}): ${STREAMS} bind watch streams × ${ROUNDS} changes`);
const hasRedis = hasRedisServer();
let redis: RedisServer | undefined;
const builders: (() => Promise<Scenario>)[] = [reference, fsScenario];
if (hasRedis) {
  builders.push(async () => {
    redis = await startRedis();
    return registryScenario(redis);
  });
}
let ref: number | undefined;
for (const build of builders) {
  const s = await build();
  try {
    const r = await measure(s);
    ref ??= r.p50;
    rows.push([s.name, String(r.samples), r.p50.toFixed(1), r.p99.toFixed(1), r.max.toFixed(1)]);
    process.stderr.write(`  measured ${s.name}\n`);
  } finally {
    await s.stop();
  }
}
await redis?.stop();
if (!hasRedis) rows.push(["meshd namer: registry heartbeat lost", "-", "-", "-", "skipped: no redis-server"]);
const header = ["scenario", "deliveries", "p50 ms", "p99 ms", "max ms"];
console.log(formatTable(header, rows));
console.log("fs includes the namer's 100 ms settle (a file must read the same for 100 ms before it is believed); registry latency is measured from the TTL's end.");
agent.destroy();
