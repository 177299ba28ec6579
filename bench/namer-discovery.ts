// Benchmark: how long an address change in discovery takes to reach 1,000
// open bind watch streams on the namer — an io.l5d.fs file rewritten, and
// a registry instance that stops heartbeating (TTL expiry, on Redis). Each
// round times the change's arrival on every stream; p50/p99 over all
// (stream, round) deliveries. Printed beside a reference measured in the
// same run: a bare node:http server pushing a line to the same number of
// held-open responses the moment it is told to (the fan-out floor).
// Run: npm run bench:discovery   [--streams 1000] [--rounds 10]
import { spawnSync } from "node:child_process";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { Agent, get, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, MESHD, eventually } from "../test/support/process.ts";
import { freePort, startRedis, type RedisServer } from "../test/support/redis.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const STREAMS = arg("streams", 1000);
const ROUNDS = arg("rounds", 10);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const dir = mkdtempSync(join(tmpdir(), "meshd-bench-disco-"));

function openStream(url: string, onLine: (line: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      });
      resolve(() => req.destroy());
    });
    req.on("error", reject);
  });
}

function post(url: string, body: string, type = "application/json"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": type } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Scenario {
  readonly name: string;
  readonly watchUrl: string;
  /** Makes round `round`'s change; resolves with the moment it took effect (performance.now()). */
  change(round: number): Promise<number>;
  /** The text that shows round `round`'s change arrived. */
  marker(round: number): string;
  stop(): Promise<void>;
}

async function measure(s: Scenario): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const arrivals: { round: number; marker: string; at: number[] } = { round: -1, marker: "\u0000", at: [] };
  const closers: (() => void)[] = [];
  for (let i = 0; i < STREAMS; i += 100) {
    closers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, STREAMS - i) }, () => {
          let seenRound = -1;
          return openStream(s.watchUrl, (line) => {
            if (seenRound !== arrivals.round && line.includes(arrivals.marker)) {
              seenRound = arrivals.round;
              arrivals.at.push(performance.now());
            }
          });
        }),
      )),
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    arrivals.round = round;
    arrivals.marker = s.marker(round);
    arrivals.at = [];
    const started = await s.change(round);
    await eventually(() => (arrivals.at.length >= STREAMS ? true : undefined), 60_000, `round ${round} of ${s.name}`);
    for (const t of arrivals.at) latencies.push(t - started);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const close of closers) close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) as number, samples: latencies.length };
}

const BROADCAST = `
import { createServer } from "node:http";
const clients = new Set();
createServer((req, res) => {
  if (req.method === "GET") { res.writeHead(200); res.flushHeaders(); clients.add(res); res.on("close", () => clients.delete(res)); return; }
  let body = ""; req.on("data", (c) => (body += c)); req.on("end", () => { for (const c of clients) c.write(body + "\\n"); res.writeHead(204).end(); });
}).listen(Number(process.argv[2]), "127.0.0.1", () => console.log("broadcast listening"));
`;

async function reference(): Promise<Scenario> {
  const port = await freePort();
  writeFileSync(join(dir, "broadcast.mjs"), BROADCAST);
  const proc = new ManagedProcess(join(dir, "broadcast.mjs"), [String(port)]);
  await proc.waitFor("broadcast listening");
  return {
    name: "reference: bare node:http push",
    watchUrl: `http://127.0.0.1:${port}/`,
    change: async (round) => {
      const at = performance.now();
      await post(`http://127.0.0.1:${port}/`, `change-${round}-x`, "text/plain");
      return at;
    },
    marker: (round) => `change-${round}-x`,
    stop: async () => void (await proc.stop()),
  };
}

async function startNamer(name: string, config: Record<string, unknown>): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const adminPort = await freePort();
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ ...config, interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port, watchKeepAliveMs: 0 }], admin: { ip: "127.0.0.1", port: adminPort }, logging: { level: "warn" } }));
  const proc = new ManagedProcess(MESHD, ["namer", "--config", file]);
  await eventually(async () => ((await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, `${name} ready`);
  return { url: `http://127.0.0.1:${port}`, stop: async () => void (await proc.stop()) };
}

async function fsScenario(): Promise<Scenario> {
  const disco = join(dir, "disco");
  spawnSync("mkdir", ["-p", disco]);
  writeFileSync(join(disco, "web"), "127.0.0.1 10000\n");
  const namer = await startNamer("fs", { storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc=>/#/io.l5d.fs" } }, namers: [{ kind: "io.l5d.fs", rootDir: disco }] });
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
  const namer = await startNamer("registry", {
    storage: { kind: "redis", url: redis.url, prefix: "bench:" },
    namers: [{ kind: "meshd.registry", defaultTtlSeconds: 1 }],
  });
  await post(`${namer.url}/api/1/dtabs/default`, JSON.stringify([{ prefix: "/svc", dst: "/#/registry" }]));
  // A long-lived instance keeps the service bound; each round adds one that then stops heartbeating.
  await post(`${namer.url}/api/1/registry/pay`, JSON.stringify({ host: "127.0.0.1", port: 30000, ttlSeconds: 3600 }));
  return {
    name: "meshd namer: registry heartbeat lost (TTL 1 s, Redis)",
    watchUrl: `${namer.url}/api/1/bind/default?path=/svc/pay&watch=true`,
    change: async (round) => {
      // Register an instance with a 1 s TTL and let it lapse: what is timed is its expiry reaching the streams.
      const before = performance.now();
      await post(`${namer.url}/api/1/registry/pay`, JSON.stringify({ host: "127.0.0.1", port: 31000 + round, ttlSeconds: 1 }));
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
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
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
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log("fs includes the namer's 100 ms settle (a file must read the same for 100 ms before it is believed); registry latency is measured from the TTL's end.");
agent.destroy();
