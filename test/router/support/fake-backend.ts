// A backend as a separate process, for faults a test cannot make in its own
// process (SIGKILL, SIGSTOP) and for benchmarks that must not share the load
// generator's event loop. Serves one or more loopback ports; each port is one
// backend with its own mode and its own books, read and changed over HTTP on
// /_backend/* of that port (never counted as traffic).
//
//   node test/router/support/fake-backend.ts [--ports 3] [--port 0] [--mode ok|status:503|stall|delay:10]
//
// `--port` fixes the first port (a backend restarted where it was); the others are free ones.
//
// Prints `fake-backend listening {"pid":…,"ports":[…]}` once every port is up.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What a port does with a request: answer 200 at once, answer a status, never answer, or answer 200 after a delay (ms). */
export type FakeMode = { kind: "ok" } | { kind: "status"; status: number } | { kind: "stall" } | { kind: "delay"; ms: number };

/** One request as a port saw it (kept only when asked for, see `--log`). */
export interface LogEntry {
  /** Arrival, epoch ms. */
  readonly t: number;
  readonly method: string;
  readonly bodyBytes: number;
  /** The status it was answered with (undefined: stalled). */
  readonly status: number | undefined;
  /** The `x-test-id` and `l5d-ctx-deadline` request headers, for tests that follow single requests. */
  readonly id: string | undefined;
  readonly deadline: string | undefined;
}

/** A port's books, as `GET /_backend/stats` returns them. */
export interface PortStats {
  readonly port: number;
  readonly mode: FakeMode;
  /** Requests received (whole request read), whatever their answer. */
  readonly total: number;
  readonly inFlight: number;
  /** Requests received per epoch second. */
  readonly perSecond: Readonly<Record<string, number>>;
  readonly log: readonly LogEntry[];
}

export function parseMode(text: string): FakeMode {
  const [kind, arg] = text.split(":");
  switch (kind) {
    case "ok":
      return { kind: "ok" };
    case "stall":
      return { kind: "stall" };
    case "status":
      return { kind: "status", status: Number(arg ?? 503) };
    case "delay":
      return { kind: "delay", ms: Number(arg ?? 0) };
    default:
      throw new Error(`unknown mode ${text} (ok, status:<code>, stall, delay:<ms>)`);
  }
}

/** Requests kept in a port's log at most (the oldest are dropped). */
const LOG_LIMIT = 50_000;

class Port {
  mode: FakeMode;
  total = 0;
  inFlight = 0;
  perSecond = new Map<number, number>();
  log: LogEntry[] = [];
  readonly #stalled = new Set<ServerResponse>();
  readonly server = createServer((req, res) => this.#handle(req, res));

  constructor(mode: FakeMode) {
    this.mode = mode;
    this.server.keepAliveTimeout = 10_000;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  stats(withLog: boolean): PortStats {
    return { port: this.port, mode: this.mode, total: this.total, inFlight: this.inFlight, perSecond: Object.fromEntries(this.perSecond), log: withLog ? this.log : [] };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    if (url.startsWith("/_backend/")) return this.#control(req, res, new URL(url, "http://x"));
    let bodyBytes = 0;
    req.on("data", (c: Buffer) => (bodyBytes += c.length));
    req.on("end", () => {
      const t = Date.now();
      this.total++;
      const second = Math.floor(t / 1000);
      this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + 1);
      const mode = this.mode;
      const status = mode.kind === "stall" ? undefined : mode.kind === "status" ? mode.status : 200;
      const header = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(",") : v;
      };
      this.log.push({ t, method: req.method ?? "", bodyBytes, status, id: header("x-test-id"), deadline: header("l5d-ctx-deadline") });
      if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
      this.inFlight++;
      const answer = (code: number): void => {
        this.inFlight--;
        const body = `${code} from ${this.port}\n`;
        res.writeHead(code, { "content-type": "text/plain", "content-length": Buffer.byteLength(body), "x-backend": String(this.port) });
        res.end(body);
      };
      switch (mode.kind) {
        case "ok":
          return answer(200);
        case "status":
          return answer(mode.status);
        case "delay":
          setTimeout(() => answer(200), mode.ms);
          return;
        case "stall":
          // Never answered; released when the peer gives up.
          this.#stalled.add(res);
          res.on("close", () => {
            if (this.#stalled.delete(res)) this.inFlight--;
          });
          return;
      }
    });
  }

  #control(req: IncomingMessage, res: ServerResponse, url: URL): void {
    req.resume();
    const reply = (code: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      switch (url.pathname) {
        case "/_backend/stats":
          return reply(200, this.stats(url.searchParams.get("log") === "1"));
        case "/_backend/mode":
          this.mode = parseMode(url.searchParams.get("set") ?? "ok");
          return reply(200, { mode: this.mode });
        case "/_backend/reset":
          this.total = 0;
          this.perSecond = new Map();
          this.log = [];
          return reply(200, {});
        default:
          return reply(404, { error: `unknown control path ${url.pathname}` });
      }
    } catch (e) {
      reply(400, { error: (e as Error).message });
    }
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

if (import.meta.main) {
  const count = Number(arg("ports", "1"));
  const mode = parseMode(arg("mode", "ok"));
  const firstPort = Number(arg("port", "0"));
  const ports = Array.from({ length: count }, () => new Port(mode));
  await Promise.all(ports.map((p, i) => new Promise<void>((resolve) => p.server.listen(i === 0 ? firstPort : 0, "127.0.0.1", resolve))));
  process.stdout.write(`fake-backend listening ${JSON.stringify({ pid: process.pid, ports: ports.map((p) => p.port) })}\n`);
  process.on("SIGTERM", () => process.exit(0));
}
