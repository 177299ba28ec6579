// Starting fake-backend.ts as a child process and driving it: its ports as
// io.l5d.fs lines, its per-port books and modes over the control path, and
// the process itself for faults (SIGKILL, SIGSTOP / SIGCONT).
import { ManagedProcess } from "../../support/process.ts";
import type { PortStats } from "./fake-backend.ts";

const SCRIPT = new URL("./fake-backend.ts", import.meta.url).pathname;

/** One port of a backend process: one backend as the router sees it. */
export class FakePort {
  readonly port: number;
  readonly url: string;

  constructor(port: number) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** "host port": this backend as an io.l5d.fs line. */
  get fsLine(): string {
    return `127.0.0.1 ${this.port}`;
  }

  async stats(withLog = false): Promise<PortStats> {
    const res = await fetch(`${this.url}/_backend/stats${withLog ? "?log=1" : ""}`);
    return (await res.json()) as PortStats;
  }

  /** Requests received so far. */
  async total(): Promise<number> {
    return (await this.stats()).total;
  }

  /** Sets the mode: `ok`, `status:<code>`, `stall`, `delay:<ms>`. */
  async setMode(mode: string): Promise<void> {
    const res = await fetch(`${this.url}/_backend/mode?set=${encodeURIComponent(mode)}`, { method: "POST" });
    if (res.status !== 200) throw new Error(`setting mode ${mode} on ${this.port}: ${res.status} ${await res.text()}`);
  }

  async reset(): Promise<void> {
    await fetch(`${this.url}/_backend/reset`, { method: "POST" });
  }
}

export class BackendProcess {
  readonly process: ManagedProcess;
  readonly ports: readonly FakePort[];
  readonly pid: number;

  private constructor(process: ManagedProcess, pid: number, ports: readonly number[]) {
    this.process = process;
    this.pid = pid;
    this.ports = ports.map((p) => new FakePort(p));
  }

  /** Starts a process serving `ports` backends, all in `mode`; the first on `port` when given. */
  static async start(options: { ports?: number; mode?: string; port?: number } = {}): Promise<BackendProcess> {
    const proc = new ManagedProcess(SCRIPT, ["--ports", String(options.ports ?? 1), "--mode", options.mode ?? "ok", "--port", String(options.port ?? 0)]);
    await proc.waitFor(/fake-backend listening \{.*\}\n/);
    const line = /fake-backend listening (\{.*\})\n/.exec(proc.output)?.[1] as string;
    const { pid, ports } = JSON.parse(line) as { pid: number; ports: number[] };
    return new BackendProcess(proc, pid, ports);
  }

  /** The first (often only) port. */
  get first(): FakePort {
    return this.ports[0] as FakePort;
  }

  signal(signal: NodeJS.Signals): void {
    this.process.child.kill(signal);
  }

  /** Kills the process outright (no FIN handshake from user space, no goodbye) and waits for it to be gone. */
  async kill(): Promise<void> {
    await this.process.stop("SIGKILL");
  }

  async stop(): Promise<void> {
    if (this.process.exited) return;
    // A stopped process cannot act on SIGTERM until it is continued.
    this.process.child.kill("SIGCONT");
    await this.process.stop("SIGTERM", 5_000);
  }
}
