// Benchmark: the router as a keep-alive reverse proxy, side by side with
// the references measured in the same run — the backend directly, nginx and
// haproxy (one worker each), and a naive undici proxy (the Node floor, bare
// and carrying the packages the design has every meshd process load) —
// under wrk: saturation at fixed connections (rps, p50/p99) and a paced
// ~1,000 req/s run (added p99 over direct), with each proxy's CPU µs per
// request and peak RSS. Loopback only; it stops everything it started.
// Run: npm run bench:proxy   [--duration 10] [--connections 50] [--rounds 1] [--rate 1000] [--node-flags "--max-semi-space-size=4"]
// (the router runs with the Node flags on bin/meshd.js's #! line unless --node-flags is given; "" for none)
// Needs wrk, nginx and haproxy (Debian: apt-get install wrk nginx haproxy).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import buildIfStale from "../test/support/global-setup.ts";
import { binNodeFlags, eventually, procStatusField } from "../test/support/process.ts";
import { freePort } from "../test/support/redis.ts";
import { parseWrk, type WrkResult } from "./wrk.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESHD_BIN = new URL("../bin/meshd.js", import.meta.url).pathname;
const DURATION = arg("duration", 10);
const CONNECTIONS = arg("connections", 50);
const ROUNDS = arg("rounds", 1);
const RATE = arg("rate", 1000);

for (const tool of ["wrk", "nginx", "haproxy"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.error(`bench/proxy needs ${tool}: apt-get install wrk nginx haproxy`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), "meshd-bench-proxy-"));
const children: ChildProcess[] = [];
// SIGTERM stops nginx's master and its worker together (SIGKILL would orphan the worker).
let stopped = false;
const stopAll = (): void => {
  if (stopped) return;
  stopped = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
};
process.on("exit", stopAll);
// A signal would end Node without its exit handlers: stop the children first.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1)));

function start(cmd: string, args: string[], options: { cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: options.cwd ?? dir, stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return child;
}

async function waitHttp(url: string, headers: Record<string, string> = {}): Promise<void> {
  await eventually(
    async () => {
      const r = await fetch(url, { headers });
      if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
      return true;
    },
    15_000,
    url,
  );
}

// The backend: node:http answering a 19-byte body, as in the research runs.
const BACKEND = `
import { createServer } from "node:http";
const body = Buffer.from("hello from backend\\n");
createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); })
  .listen(Number(process.argv[2]), "127.0.0.1");
`;
const PACED = `
-- Open-loop pacing: exponential gaps so the whole run averages the target rate.
local mean_ms = 0
function init(args) mean_ms = tonumber(args[1]) end
function delay() return -math.log(1 - math.random()) * mean_ms end
`;

const backendPort = await freePort();
writeFileSync(join(dir, "backend.mjs"), BACKEND);
writeFileSync(join(dir, "paced.lua"), PACED);
start(process.execPath, [join(dir, "backend.mjs"), String(backendPort)]);
await waitHttp(`http://127.0.0.1:${backendPort}/`);

interface Target {
  readonly name: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Processes whose CPU and memory count for this target. */
  pids(): number[];
}

const targets: Target[] = [{ name: "direct (backend)", url: `http://127.0.0.1:${backendPort}/`, headers: {}, pids: () => [] }];

// nginx: one worker, keep-alive to the backend.
const nginxPort = await freePort();
writeFileSync(
  join(dir, "nginx.conf"),
  `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 4096; }
http { access_log off; upstream b { server 127.0.0.1:${backendPort}; keepalive 64; }
  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
`,
);
const nginx = start("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")]);
await waitHttp(`http://127.0.0.1:${nginxPort}/`);
targets.push({
  name: "nginx (1 worker)",
  url: `http://127.0.0.1:${nginxPort}/`,
  headers: {},
  pids: () => {
    const master = nginx.pid as number;
    const workers = execFileSync("pgrep", ["-P", String(master)]).toString().trim().split("\n").filter(Boolean).map(Number);
    return [master, ...workers];
  },
});

// haproxy: one thread, connection reuse.
const haproxyPort = await freePort();
writeFileSync(
  join(dir, "haproxy.cfg"),
  `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:${haproxyPort}
  default_backend b
backend b
  server s1 127.0.0.1:${backendPort} maxconn 64
`,
);
const haproxy = start("haproxy", ["-f", join(dir, "haproxy.cfg"), "-db"]);
await waitHttp(`http://127.0.0.1:${haproxyPort}/`);
targets.push({ name: "haproxy (1 thread)", url: `http://127.0.0.1:${haproxyPort}/`, headers: {}, pids: () => [haproxy.pid as number] });

// The Node floor: node:http in front of one undici Pool (the module meshd's
// endpoints use), with no routing, balancing, retries or metrics. It runs with
// the router's Node flags, so the gap between the two rows is what meshd's
// features cost, and the gap to nginx what Node costs. Given an admin port,
// it also loads what the design has every meshd process carry, and leaves it
// idle: a YAML config, a pino logger, prom-client's default metrics and a
// fastify admin server serving them (set up as meshd's, without schema
// compilers) — the floor for a router built on those packages.
const NAIVE = `
import { createServer } from "node:http";
import { createRequire } from "node:module";
const [port, upstream, project, adminPort] = process.argv.slice(2);
const require = createRequire(project);
const Pool = require("undici/lib/dispatcher/pool.js");
if (adminPort !== undefined) {
  const config = require("yaml").parse("admin: {ip: 127.0.0.1, port: " + adminPort + "}\\n");
  const log = require("pino")({ name: "naive" });
  const prom = require("prom-client");
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const noSchemas = () => { throw new Error("no schemas"); };
  const admin = require("fastify").fastify({ schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } } });
  admin.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  await admin.listen({ host: config.admin.ip, port: config.admin.port });
  log.info({ port: config.admin.port }, "admin listening");
}
const pool = new Pool(upstream, { pipelining: 1 });
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);
createServer((req, res) => {
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (!hopByHop.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const body = req.method === "GET" || req.method === "HEAD" ? null : req;
  pool.dispatch({ method: req.method, path: req.url, headers, body }, {
    onRequestStart() {},
    onResponseStart(_c, status, h) {
      const out = [];
      for (const k in h) if (!hopByHop.has(k)) out.push(k, h[k]);
      res.writeHead(status, out);
    },
    onResponseData(_c, chunk) { res.write(chunk); },
    onResponseEnd() { res.end(); },
    onResponseError(_c, err) { if (res.headersSent) res.destroy(err); else res.writeHead(502).end(); },
  });
}).listen(Number(port), "127.0.0.1");
`;

// meshd: a router with one route; p2c, failure accrual and the retry budget armed as by default.
const routerPort = await freePort();
const adminPort = await freePort();
writeFileSync(
  join(dir, "router.yaml"),
  stringify({
    admin: { ip: "127.0.0.1", port: adminPort },
    // Any Host routes to the backend (the rest of the name is a residual).
    routers: [{ protocol: "http", dtab: `/svc => /$/inet/127.0.0.1/${backendPort}`, servers: [{ ip: "127.0.0.1", port: routerPort }] }],
  }),
);
// The router as users run it: the built package's bin (rebuilt first if the sources are newer).
buildIfStale();
// Node flags: those on the bin's #! line (what an installed meshd runs with), unless --node-flags says otherwise.
const nodeFlags = process.argv.includes("--node-flags")
  ? (process.argv[process.argv.indexOf("--node-flags") + 1] ?? "").split(" ").filter((f) => f !== "")
  : binNodeFlags();
writeFileSync(join(dir, "naive-proxy.mjs"), NAIVE);
/** Starts the naive proxy (with the design's packages when given an admin port) and adds it as a target. */
async function startNaive(name: string, adminPort?: number): Promise<ChildProcess> {
  const port = await freePort();
  const args = [...nodeFlags, join(dir, "naive-proxy.mjs"), String(port), `http://127.0.0.1:${backendPort}`, new URL("../package.json", import.meta.url).pathname];
  const child = start(process.execPath, adminPort === undefined ? args : [...args, String(adminPort)]);
  await waitHttp(`http://127.0.0.1:${port}/`);
  if (adminPort !== undefined) await waitHttp(`http://127.0.0.1:${adminPort}/metrics`);
  targets.push({ name, url: `http://127.0.0.1:${port}/`, headers: {}, pids: () => [child.pid as number] });
  return child;
}
const naive = await startNaive("naive undici proxy");
const packaged = await startNaive("naive + design's packages", await freePort());

const router = spawn(process.execPath, [...nodeFlags, MESHD_BIN, "router", "--config", join(dir, "router.yaml")], { stdio: ["ignore", "ignore", "inherit"] });
children.push(router);
await waitHttp(`http://127.0.0.1:${routerPort}/`);
// wrk adds its own Host unless one is given as "Host" (a second one would rightly be refused with 400).
targets.push({ name: "meshd router", url: `http://127.0.0.1:${routerPort}/`, headers: { Host: "bench" }, pids: () => [router.pid as number] });

/** utime+stime of the processes, in µs (clock ticks of 10 ms). */
function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10_000;
}

function peakRssMiB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) kb += procStatusField(pid, "VmHWM");
  return kb / 1024;
}

function wrk(t: Target, connections: number, seconds: number, paced?: number): WrkResult {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency"];
  for (const [k, v] of Object.entries(t.headers)) args.push("-H", `${k}: ${v}`);
  if (paced !== undefined) args.push("-s", join(dir, "paced.lua"));
  args.push(t.url);
  if (paced !== undefined) args.push("--", String((connections / paced) * 1000));
  const out = execFileSync("wrk", args, { encoding: "utf8" });
  const result = parseWrk(out);
  if (Number.isNaN(result.p50) || Number.isNaN(result.p99)) console.error(`  wrk's latency distribution for ${t.name} could not be read (left out of the means); its output:\n${out}`);
  return result;
}

interface Row {
  rps: number[];
  p50: number[];
  p99: number[];
  cpu: number[];
  pacedP99: number[];
  errors: number;
}
const rows = new Map<string, Row>(targets.map((t) => [t.name, { rps: [], p50: [], p99: [], cpu: [], pacedP99: [], errors: 0 }]));
/** The mean of the figures a run produced (one wrk could not be read does not poison the rest). */
const mean = (all: readonly number[]): number => {
  const xs = all.filter(Number.isFinite);
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
};

console.error(`bench/proxy: ${ROUNDS} round(s), ${DURATION}s at ${CONNECTIONS} connections, then ${Math.max(5, DURATION)}s paced at ~${RATE} req/s`);
for (const t of targets) wrk(t, CONNECTIONS, 2); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order between rounds so no target always runs first.
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const row = rows.get(t.name) as Row;
    const before = cpuMicros(t.pids());
    const sat = wrk(t, CONNECTIONS, DURATION);
    const used = cpuMicros(t.pids()) - before;
    row.rps.push(sat.rps);
    row.p50.push(sat.p50);
    row.p99.push(sat.p99);
    if (t.pids().length > 0) row.cpu.push(used / Math.max(1, sat.requests));
    // As long as the saturation run: a p99 rests on its worst 1 % (100 requests in 10 s at 1,000/s), and a short run's moves with one GC pause.
    const paced = wrk(t, CONNECTIONS, Math.max(5, DURATION), RATE);
    row.pacedP99.push(paced.p99);
    row.errors += sat.errors + paced.errors;
    console.error(`  ${t.name}: ${Math.round(sat.rps)} rps, paced p99 ${paced.p99.toFixed(2)} ms`);
  }
}

const direct = rows.get("direct (backend)") as Row;
const nginxRow = rows.get("nginx (1 worker)") as Row;
const header = ["target", "rps", "×nginx", "p50 ms", "p99 ms", `p99 @${RATE}/s`, "added p99", "CPU µs/req", "peak RSS MiB", "errors"];
const table = targets.map((t) => {
  const r = rows.get(t.name) as Row;
  const isDirect = t.name.startsWith("direct");
  return [
    t.name,
    Math.round(mean(r.rps)).toLocaleString("en-US"),
    (mean(r.rps) / mean(nginxRow.rps)).toFixed(2),
    mean(r.p50).toFixed(2),
    mean(r.p99).toFixed(2),
    mean(r.pacedP99).toFixed(3),
    isDirect ? "-" : `+${(mean(r.pacedP99) - mean(direct.pacedP99)).toFixed(3)}`,
    r.cpu.length === 0 ? "-" : mean(r.cpu).toFixed(1),
    t.pids().length === 0 ? "-" : peakRssMiB(t.pids()).toFixed(1),
    String(r.errors),
  ];
});
const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => (r[c] as string).length)));
const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
console.log(`meshd proxy benchmark (node ${process.version}${nodeFlags.length > 0 ? ` ${nodeFlags.join(" ")}` : ""}; wrk -t1 -c${CONNECTIONS} -d${DURATION}s; ${ROUNDS} round(s); loopback, unpinned)`);
console.log(line(header));
for (const r of table) console.log(line(r));
const meshd = rows.get("meshd router") as Row;
const naiveRow = rows.get("naive undici proxy") as Row;
const added = (r: Row): number => mean(r.pacedP99) - mean(direct.pacedP99);
const meshdPeak = peakRssMiB([router.pid as number]);
const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
const ratio = mean(meshd.rps) / mean(nginxRow.rps);
// The target is in MB (10^6 bytes); /proc and the table count MiB.
const toMB = (mib: number): number => (mib * 1024 * 1024) / 1e6;
const peakMB = toMB(meshdPeak);
console.log(
  `targets: throughput ≥ 0.40× nginx → ${ratio.toFixed(2)}× (${verdict(ratio >= 0.4)}); ` +
    `added p99 at ${RATE}/s ≤ 1 ms → +${added(meshd).toFixed(3)} ms (${verdict(added(meshd) <= 1)}); ` +
    `peak RSS ≤ 100 MB → ${peakMB.toFixed(1)} MB = ${meshdPeak.toFixed(1)} MiB (${verdict(peakMB <= 100)})`,
);
const rssGap = meshdPeak - peakRssMiB([naive.pid as number]);
console.log(
  `against the naive undici proxy (the Node floor): throughput ${(mean(meshd.rps) / mean(naiveRow.rps)).toFixed(2)}×, added p99 ${(added(meshd) / added(naiveRow)).toFixed(2)}×, peak RSS ${Math.abs(rssGap).toFixed(1)} MiB ${rssGap >= 0 ? "more" : "less"}`,
);
const packagedPeak = peakRssMiB([packaged.pid as number]);
console.log(
  `the naive proxy carrying the design's packages (fastify admin, prom-client, pino, yaml; idle) peaks at ${toMB(packagedPeak).toFixed(1)} MB = ${packagedPeak.toFixed(1)} MiB; meshd ${(meshdPeak - packagedPeak).toFixed(1)} MiB ${meshdPeak >= packagedPeak ? "more" : "less"}`,
);
stopAll();
