// Benchmark: how long a dtab update takes to reach 1,000 open watch streams.
// Each round PUTs a new dtab and times its arrival on every stream; p50/p99
// are over all (stream, round) deliveries. Printed beside a reference run in
// the same invocation: a bare Node HTTP server that only broadcasts a line to
// the same number of held-open responses (the floor for fan-out here).
// Targets: the namer on its embedded store, and on Redis when redis-server exists.
// Run: npm run bench:namer   (or: node bench/namer-watch.ts [--streams 1000] [--rounds 30])
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
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
const ROUNDS = arg("rounds", 30);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

interface Target {
  readonly name: string;
  readonly watchUrl: string;
  /** Publishes `marker` and resolves when the server accepted it. */
  publish(marker: string, round: number): Promise<void>;
  stop(): Promise<void>;
}

/** Opens a held-open GET and calls `onLine` for every line it carries. */
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

function send(url: string, method: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { "content-type": "application/dtab", ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The reference: a plain node:http server that broadcasts each POSTed body as one line to every open GET. */
const BROADCAST_SERVER = `
import { createServer } from "node:http";
const clients = new Set();
const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.flushHeaders();
    clients.add(res);
    res.on("close", () => clients.delete(res));
    return;
  }
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    for (const c of clients) c.write(body + "\\n");
    res.writeHead(204).end();
  });
});
server.listen(Number(process.argv[2]), "127.0.0.1", () => console.log("broadcast listening"));
`;

async function referenceTarget(dir: string): Promise<Target> {
  const port = await freePort();
  const file = join(dir, "broadcast.mjs");
  writeFileSync(file, BROADCAST_SERVER);
  const proc = new ManagedProcess(file, [String(port)]);
  await proc.waitFor("broadcast listening");
  const url = `http://127.0.0.1:${port}`;
  return {
    name: "reference: bare node:http broadcast",
    watchUrl: `${url}/watch`,
    publish: async (marker) => {
      await send(url, "POST", marker);
    },
    stop: async () => void (await proc.stop()),
  };
}

async function namerTarget(dir: string, name: string, storage: Record<string, unknown>): Promise<Target> {
  const port = await freePort();
  const adminPort = await freePort();
  const configFile = join(dir, `namer-${port}.yaml`);
  writeFileSync(
    configFile,
    stringify({
      storage,
      interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port, watchKeepAliveMs: 0 }],
      admin: { ip: "127.0.0.1", port: adminPort },
      logging: { level: "warn" },
    }),
  );
  const proc = new ManagedProcess(MESHD, ["namer", "--config", configFile]);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => ((await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, `${name} ready`);
  const status = await send(`${url}/api/1/dtabs/bench`, "POST", "/svc=>/#/io.l5d.fs");
  if (status !== 204) throw new Error(`${name}: creating the namespace answered ${status}`);
  return {
    name,
    watchUrl: `${url}/api/1/dtabs/bench?watch=true`,
    publish: async (marker, round) => {
      const code = await send(`${url}/api/1/dtabs/bench`, "PUT", `/svc=>/${marker}`, { "if-match": String(round + 1) });
      if (code !== 204) throw new Error(`${name}: PUT answered ${code}`);
    },
    stop: async () => void (await proc.stop()),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function measure(target: Target): Promise<{ p50: number; p99: number; max: number; samples: number }> {
  const arrivals = new Map<string, number[]>();
  const closers = [];
  for (let i = 0; i < STREAMS; i += 100) {
    closers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, STREAMS - i) }, () =>
          openStream(target.watchUrl, (line) => {
            const m = /m(\d+)x/.exec(line);
            if (m !== null) arrivals.get(m[1] as string)?.push(performance.now());
          }),
        ),
      )),
    );
  }
  await new Promise((r) => setTimeout(r, 200));
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const key = String(round);
    const got: number[] = [];
    arrivals.set(key, got);
    const started = performance.now();
    await target.publish(`m${key}x`, round);
    await eventually(() => (got.length >= STREAMS ? true : undefined), 30_000, `round ${round} on ${target.name}`);
    for (const t of got) latencies.push(t - started);
  }
  for (const close of closers) close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) as number, samples: latencies.length };
}

const dir = mkdtempSync(join(tmpdir(), "meshd-bench-"));
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;
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
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
agent.destroy();
