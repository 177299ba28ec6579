// A real redis-server for the suites that need one: started on a free
// loopback port, with no persistence, and stopped after. Tests that exercise
// outages can kill it (SIGKILL) and start it again on the same port.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://host:port */
  readonly url: string;
  readonly running: boolean;
  /** Starts it again on the same port (after stop or kill). */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  stop(): Promise<void>;
  /** Abrupt death (SIGKILL), as in an outage. */
  kill(): Promise<void>;
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 10_000;

export async function freePort(host = HOST): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

function launch(port: number, extraArgs: readonly string[]): Promise<ChildProcess> {
  // Later arguments win, so extraArgs can turn persistence back on.
  const args = ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--protected-mode", "yes", ...extraArgs];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not become ready on ${HOST}:${port} within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === "ENOENT"
          ? new Error("redis-server is not installed: the tests need it (Debian: apt-get install redis-server)")
          : e,
      );
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`));
    });
  });
}

async function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

/**
 * Arguments that make a test server durable across kill/start: an append-only
 * file in a fresh temp dir, fsynced on every write, so an outage test can kill
 * Redis and get its data back.
 */
export function persistentArgs(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "meshd-redis-"));
  return ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always"];
}

/** Starts a redis-server on a free port; retries if another process takes the port first. */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, extraArgs);
    } catch (e) {
      if (attempt >= 3 || !String(e).includes("Address already in use")) throw e;
    }
  }
  let current: ChildProcess | undefined = child;
  const server: RedisServer = {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    get running() {
      return current !== undefined && current.exitCode === null && current.signalCode === null;
    },
    async start() {
      if (server.running) return;
      current = await launch(port, extraArgs);
    },
    async stop() {
      if (current !== undefined) await waitExit(current, "SIGTERM");
    },
    async kill() {
      if (current !== undefined) await waitExit(current, "SIGKILL");
    },
  };
  return server;
}

/** Registers a redis-server for the enclosing suite: started before its tests, stopped after. */
export function useRedis(extraArgs: readonly string[] = []): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis(extraArgs);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("redis-server is not started yet (use it inside a test)");
    return server;
  };
}
