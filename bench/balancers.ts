// Benchmark: meshd's balancers (roundRobin, p2c, ewma) against one bad
// backend out of ten, as in Buoyant's "Beyond Round Robin" and
// research/perf-anchors.md §6. Ten backends answer after 10 ms; backend 0
// turns bad for the middle half of each measured run — 50 ms slower
// ("slow"), or answering only after 2 s against a 1 s totalTimeoutMs
// ("stuck"). An open-loop client sends a fixed rate through a fresh
// `meshd router` process per balancer; latency counts from each request's
// due time, and a request with no complete 200 within 1 s of it fails.
// The reference run sends the same load straight to the backends, round
// robin, with no router. One process tree on loopback; it stops itself.
// Run: npm run bench:balancers   (or: node bench/balancers.ts [--rate 500] [--seconds 16] [--quick])
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BackendProcess, type FakePort } from "../test/router/support/backend-process.ts";
import { openLoop, percentile, type Sample } from "../test/router/support/load.ts";
import { startRouterProcess, type RouterProcess } from "../test/support/router.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const QUICK = process.argv.includes("--quick");
const RATE = arg("rate", 500);
/** Measured seconds per run; the bad backend is bad for the middle half. */
const SECONDS = arg("seconds", QUICK ? 8 : 16);
const WARMUP_MS = 2_000;
const BASE_MS = 10;
const CLIENT_TIMEOUT_MS = 1_000;
const TOTAL_TIMEOUT_MS = 1_000;
/** The whole benchmark's hard limit: it kills what it started and exits past this. */
const WATCHDOG_MS = 20 * 60_000;

type Balancer = "roundRobin" | "p2c" | "ewma";
interface Scenario {
  readonly name: "none" | "slow" | "stuck";
  /** The bad backend's mode while bad. */
  readonly bad: string;
}
interface Target {
  readonly label: string;
  readonly balancer?: Balancer;
  /** Failure accrual as configured by default (5 consecutive failures, 5–300 s), instead of none. */
  readonly accrual?: boolean;
}
interface Result {
  readonly samples: readonly Sample[];
  /** Share (%) of the upstream requests that went to the bad backend while it was bad. */
  readonly badShare: number;
  /** Router CPU per request (µs), when there is a router. */
  readonly cpuUsPerRequest: number | undefined;
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** User + system CPU time of a process (ms); NaN once it is gone. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** The router process ended during a run, though nothing here stopped it (on a shared machine, someone else's signal). */
class RouterGone extends Error {}

async function run(backends: BackendProcess, rootDir: string, scenario: Scenario, target: Target): Promise<Result> {
  const ports = backends.ports;
  const bad = ports[0] as FakePort;
  await Promise.all(ports.map((p) => p.setMode(`delay:${BASE_MS}`)));
  let router: RouterProcess | undefined;
  let url: string | ((seq: number) => string);
  if (target.balancer === undefined) {
    url = (seq) => `${(ports[seq % ports.length] as FakePort).url}/`;
  } else {
    router = await startRouterProcess({
      namers: [{ kind: "io.l5d.fs", rootDir }],
      routers: [
        {
          protocol: "http",
          dtab: "/svc => /#/io.l5d.fs",
          client: { loadBalancer: { kind: target.balancer }, ...(target.accrual === true ? {} : { failureAccrual: { kind: "none" } }) },
          service: { totalTimeoutMs: TOTAL_TIMEOUT_MS },
          servers: [{}],
        },
      ],
    });
    url = router.servers[0]?.[0] as string;
  }
  try {
    await Promise.all(ports.map((p) => p.reset()));
    const measuredMs = SECONDS * 1000;
    const badFrom = WARMUP_MS + measuredMs / 4;
    const badUntil = WARMUP_MS + (measuredMs * 3) / 4;
    let badWindow: [number, number] | undefined;
    let cpuBefore = 0;
    let phase = 0;
    const samples = await openLoop({
      url,
      ratePerSec: RATE,
      durationMs: WARMUP_MS + measuredMs,
      headers: { host: "web" },
      timeoutMs: CLIENT_TIMEOUT_MS,
      onTick: (elapsed) => {
        if (phase === 0 && elapsed >= WARMUP_MS) {
          phase = 1;
          if (router !== undefined) cpuBefore = cpuMs(router.process.child.pid as number);
        }
        if (phase === 1 && elapsed >= badFrom) {
          phase = 2;
          badWindow = [Date.now(), Infinity];
          if (scenario.name !== "none") void bad.setMode(scenario.bad);
        }
        if (phase === 2 && elapsed >= badUntil) {
          phase = 3;
          (badWindow as [number, number])[1] = Date.now();
          void bad.setMode(`delay:${BASE_MS}`);
        }
      },
    });
    if (router?.process.exited === true) {
      const { exitCode, signalCode } = router.process.child;
      const said = router.process.output.split("\n").filter((l) => /signal|error|fatal/i.test(l));
      throw new RouterGone(`the router exited during the run (${exitCode ?? signalCode}): ${said.join(" | ").slice(0, 2000)}`);
    }
    const cpu = router === undefined ? undefined : cpuMs(router.process.child.pid as number) - cpuBefore;
    const measured = samples.filter((s) => s.seq >= (WARMUP_MS / 1000) * RATE);
    const [from, until] = badWindow ?? [0, 0];
    const inWindow = async (p: FakePort): Promise<number> => (await p.stats(true)).log.filter((e) => e.t >= from && e.t < until).length;
    const counts = await Promise.all(ports.map(inWindow));
    const all = counts.reduce((a, b) => a + b, 0);
    return {
      samples: measured,
      badShare: all === 0 ? 0 : ((counts[0] as number) / all) * 100,
      cpuUsPerRequest: cpu === undefined ? undefined : (cpu * 1000) / measured.length,
    };
  } finally {
    await router?.stop();
  }
}

/** Latencies with failures ranked as the worst (Infinity), sorted. */
function ranked(samples: readonly Sample[]): number[] {
  return samples.map((s) => (s.status === 200 && s.latency !== undefined ? s.latency : Infinity)).sort((a, b) => a - b);
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "fail");

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, c) => (c === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...rows.map(line)].join("\n");
}

const watchdog = setTimeout(() => {
  process.stderr.write(`balancers benchmark: over ${WATCHDOG_MS / 60_000} min, giving up\n`);
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

const startLoad = loadavg().map((l) => l.toFixed(2)).join(" ");
const backends = await BackendProcess.start({ ports: 10, mode: `delay:${BASE_MS}` });
process.on("exit", () => backends.process.child.kill("SIGKILL"));
const rootDir = mkdtempSync(join(tmpdir(), "meshd-bench-lb-"));
writeFileSync(join(rootDir, "web"), backends.ports.map((p) => `${p.fsLine}\n`).join(""));

const reference: Target = { label: "direct, round robin (no router)" };
const balancers: Target[] = (["roundRobin", "p2c", "ewma"] as const).map((balancer) => ({ label: `meshd ${balancer}`, balancer }));
const withAccrual: Target[] = (["roundRobin", "p2c", "ewma"] as const).map((balancer) => ({ label: `meshd ${balancer} + failure accrual`, balancer, accrual: true }));
const scenarios: Record<Scenario["name"], Scenario> = {
  none: { name: "none", bad: `delay:${BASE_MS}` },
  slow: { name: "slow", bad: `delay:${BASE_MS + 50}` },
  stuck: { name: "stuck", bad: "delay:2000" },
};

console.log(
  `meshd balancer benchmark (node ${process.version}): 10 backends at ${BASE_MS} ms, ${RATE} req/s open loop, ${SECONDS} s measured after ${WARMUP_MS / 1000} s warm-up; ` +
    `backend 0 bad for the middle half; failure accrual off unless said; a request fails without a complete 200 within ${CLIENT_TIMEOUT_MS} ms of its due time`,
);
const results = new Map<string, Result>();
const lags: number[] = [];
for (const scenario of Object.values(scenarios)) {
  const targets = scenario.name === "stuck" ? [reference, ...balancers, ...withAccrual] : [reference, ...balancers];
  for (const target of targets) {
    let result: Result | undefined;
    for (let tries = 1; result === undefined; tries++) {
      try {
        result = await run(backends, rootDir, scenario, target);
      } catch (e) {
        // Only an outside stop is run again, and said so; anything else ends the benchmark.
        if (!(e instanceof RouterGone) || tries >= 3) throw e;
        process.stderr.write(`  ${scenario.name.padEnd(5)} ${target.label}: ${e.message}; running it again\n`);
      }
    }
    results.set(`${scenario.name}/${target.label}`, result);
    for (const s of result.samples) lags.push(s.lag);
    const failed = result.samples.filter((s) => s.status !== 200).length;
    process.stderr.write(`  ${scenario.name.padEnd(5)} ${target.label}: ${result.samples.length} requests, ${failed} failed\n`);
  }
}
await backends.stop();

const latencyRows = [reference, ...balancers].map((t) => {
  const fast = ranked((results.get(`none/${t.label}`) as Result).samples);
  const slow = results.get(`slow/${t.label}`) as Result;
  const slowRanked = ranked(slow.samples);
  return [
    t.label,
    ms(percentile(fast, 50)),
    ms(percentile(fast, 99)),
    ms(percentile(slowRanked, 50)),
    ms(percentile(slowRanked, 99)),
    ms(percentile(slowRanked, 99.9)),
    slow.badShare.toFixed(1),
    slow.cpuUsPerRequest === undefined ? "-" : slow.cpuUsPerRequest.toFixed(0),
  ];
});
console.log(`\nSlow backend (+50 ms for the middle half), latency in ms from the due time:\n`);
console.log(table(["target", "all fast p50", "all fast p99", "slow p50", "slow p99", "slow p99.9", "slow: share to bad %", "router CPU µs/req"], latencyRows));

const stuckRows = [reference, ...balancers, ...withAccrual].map((t) => {
  const r = results.get(`stuck/${t.label}`) as Result;
  const ok = r.samples.filter((s) => s.status === 200).length;
  const sorted = ranked(r.samples);
  return [t.label, ((ok / r.samples.length) * 100).toFixed(2), ms(percentile(sorted, 50)), ms(percentile(sorted, 99)), r.badShare.toFixed(1)];
});
console.log(`\nStuck backend (answers after 2 s for the middle half; service.totalTimeoutMs ${TOTAL_TIMEOUT_MS}):\n`);
console.log(table(["target", "success %", "p50", "p99", "share to bad %"], stuckRows));
lags.sort((a, b) => a - b);
console.log(`\nClient send lag: p99 ${percentile(lags, 99).toFixed(1)} ms, max ${(lags.at(-1) ?? 0).toFixed(1)} ms (included in the latencies).`);
// Everything here shares the machine's cores with whatever else runs: say how busy it was.
console.log(`Load average at the start: ${startLoad}; at the end: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (1, 5, 15 min).`);
