// Running meshd's commands as real processes in tests: the CLI entry points
// straight from source (Node 24 runs TypeScript), with output captured and a
// bounded wait for whatever the test needs to see.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";

const root = new URL("../..", import.meta.url).pathname;
export const MESHD = `${root}cli/meshd.ts`;
export const NAMERCTL = `${root}cli/namerctl.ts`;

/** The Node flags on bin/meshd.js's `#!` line: what an installed meshd runs with (tests spawn the sources without them). */
export function binNodeFlags(): string[] {
  const line = readFileSync(`${root}bin/meshd.js`, "utf8").split("\n")[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(line);
  if (m === null) throw new Error(`bin/meshd.js does not start with "#!/usr/bin/env -S node": ${line}`);
  return (m[1] ?? "").split(" ").filter((f) => f !== "");
}

/** A numeric field of /proc/<pid>/status: VmRSS and VmHWM (kB), voluntary_ctxt_switches, … */
export function procStatusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a CLI to completion (stdin from `input` when given), with a hard time limit. */
export async function runCli(entry: string, args: readonly string[], options: { input?: string; env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A long-running process (a namer, a router) whose output is kept for assertions and debugging. */
export class ManagedProcess {
  readonly child: ChildProcess;
  #output = "";

  constructor(entry: string, args: readonly string[], env: Record<string, string | undefined> = {}, cwd: string = root, nodeFlags: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeFlags, entry, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.on("data", (c: Buffer) => (this.#output += c.toString()));
    this.child.stderr?.on("data", (c: Buffer) => (this.#output += c.toString()));
  }

  get output(): string {
    return this.#output;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Waits until the output contains `text` (or the process dies, or time runs out). */
  async waitFor(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = (): boolean => (typeof text === "string" ? this.#output.includes(text) : text.test(this.#output));
    while (!seen()) {
      if (this.exited) throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${String(text)}:\n${this.#output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; output so far:\n${this.#output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the process to exit on its own; returns the exit code (null when a signal ended it). */
  async waitForExit(timeoutMs = 15_000): Promise<number | null> {
    if (!this.exited) {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await once(this.child, "exit");
      clearTimeout(timer);
    }
    return this.child.exitCode;
  }

  /** Sends a signal and waits for the exit; returns the exit code (or null when killed by the signal). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    const exited = once(this.child, "exit");
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
    return this.child.exitCode;
  }
}

/** Polls `check` until it returns a value other than undefined, failing after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? "" : `: ${String(lastError)}`}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
