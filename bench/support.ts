// What the namer benchmarks share: figures from the command line, many
// held-open watch streams on one keep-alive agent, the bare node:http
// broadcast server they are measured against, a namer process to measure,
// and the latency summary and table they print.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Agent, get, request } from "node:http";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, MESHD, eventually } from "../test/support/process.ts";
import { freePort } from "../test/support/redis.ts";

/** `--<name> N` from the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Every stream and request goes through this agent; destroy it at the end so the process exits. */
export const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0;
}

/** Opens a held-open GET and calls `onLine` for every line it carries; resolves with its closer. */
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

/**
 * Opens `count` streams of `url`, 100 at a time so the server is not hit by
 * a connection storm; `listener()` makes each stream's line handler (its own
 * state, if it keeps any). Resolves with a function that closes them all.
 */
export async function openStreams(url: string, count: number, listener: () => (line: string) => void): Promise<() => void> {
  const closers: (() => void)[] = [];
  for (let i = 0; i < count; i += 100) {
    closers.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => openStream(url, listener())))));
  }
  return () => {
    for (const close of closers) close();
  };
}

/** Sends `body` and resolves with the status once the response is read. */
export function send(url: string, method: string, body: string, contentType: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: { "content-type": contentType, ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A running process a benchmark measures, at `url`. */
export interface Started {
  readonly url: string;
  stop(): Promise<void>;
}

/** The reference: a plain node:http server that writes each POSTed body as one line to every open GET. */
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

/** Starts the broadcast reference (its script written to `dir`): GET any path to listen, POST any path to send. */
export async function startBroadcast(dir: string): Promise<Started> {
  const port = await freePort();
  const file = join(dir, "broadcast.mjs");
  writeFileSync(file, BROADCAST_SERVER);
  const proc = new ManagedProcess(file, [String(port)]);
  await proc.waitFor("broadcast listening");
  return { url: `http://127.0.0.1:${port}`, stop: async () => void (await proc.stop()) };
}

/**
 * Starts `meshd namer` with `config` (its config file written to `dir`) plus
 * an API interface without keep-alive lines, an admin port and warn-level
 * logs; resolves with the API's URL once the namer is ready.
 */
export async function startNamer(dir: string, label: string, config: Record<string, unknown>): Promise<Started> {
  const port = await freePort();
  const adminPort = await freePort();
  const file = join(dir, `namer-${port}.yaml`);
  writeFileSync(
    file,
    stringify({
      ...config,
      interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port, watchKeepAliveMs: 0 }],
      admin: { ip: "127.0.0.1", port: adminPort },
      logging: { level: "warn" },
    }),
  );
  const proc = new ManagedProcess(MESHD, ["namer", "--config", file]);
  await eventually(async () => ((await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, `${label} ready`);
  return { url: `http://127.0.0.1:${port}`, stop: async () => void (await proc.stop()) };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
}

/** p50, p99 and max of the latencies (ms), sorting them in place. */
export function latencies(ms: number[]): Latencies {
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1) as number, samples: ms.length };
}

/** A plain-text table: the first column left-aligned (names), the others right-aligned (figures). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
  return [header, ...rows].map(line).join("\n");
}
