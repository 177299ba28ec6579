// A real namer process for the client's tests, on ports the test chooses (so
// a "restarted" namer comes back where the routers look for it), serving the
// bind API: `meshd namer` itself once it serves names, until then a small
// entry point that wires the namer's interpreter in (bind-namer-main.ts).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, MESHD, eventually } from "../../../support/process.ts";
import { scrape } from "../../../support/prometheus.ts";
import { freePort } from "../../../support/redis.ts";

const FALLBACK = new URL("./bind-namer-main.ts", import.meta.url).pathname;

export interface BindNamer {
  readonly url: string;
  readonly adminUrl: string;
  readonly port: number;
  readonly adminPort: number;
  readonly process: ManagedProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface BindNamerOptions {
  readonly port?: number;
  readonly adminPort?: number;
  /** Initial dtabs by namespace. */
  readonly namespaces?: Record<string, string>;
  /** Persisted store (so a namer restarted on it has the same dtabs). */
  readonly dataDir?: string;
  readonly watchKeepAliveMs?: number;
  readonly namers?: readonly Record<string, unknown>[];
}

let entry: Promise<{ script: string; args: (config: string) => string[] }> | undefined;

/** `meshd namer` when it serves /api/1/bind, else the fallback entry; probed once per test file. */
function namerEntry(): Promise<{ script: string; args: (config: string) => string[] }> {
  entry ??= (async () => {
    const probe = await launch(MESHD, (c) => ["namer", "--config", c], {});
    try {
      const res = await fetch(`${probe.url}/api/1/bind/default?path=/svc/x`);
      const body = await res.text();
      const serves = !(res.status === 404 && body.includes("NAMER_ERR_NO_ROUTE"));
      return serves ? { script: MESHD, args: (c: string) => ["namer", "--config", c] } : { script: FALLBACK, args: (c: string) => [c] };
    } finally {
      await probe.stop("SIGKILL");
    }
  })();
  return entry;
}

/** Whether the tests run against `meshd namer` itself (else the fallback entry). */
export async function usesMeshdNamer(): Promise<boolean> {
  return (await namerEntry()).script === MESHD;
}

async function launch(script: string, args: (config: string) => string[], options: BindNamerOptions): Promise<BindNamer> {
  const dir = mkdtempSync(join(tmpdir(), "meshd-client-namer-"));
  const port = options.port ?? (await freePort());
  const adminPort = options.adminPort ?? (await freePort());
  const config = {
    storage: {
      kind: "io.l5d.inMemory",
      ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    },
    interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port, ...(options.watchKeepAliveMs === undefined ? {} : { watchKeepAliveMs: options.watchKeepAliveMs }) }],
    admin: { ip: "127.0.0.1", port: adminPort },
    ...(options.namers === undefined ? {} : { namers: options.namers }),
    logging: { level: "info" },
    shutdownGraceMs: 2000,
  };
  const configFile = join(dir, "namer.yaml");
  writeFileSync(configFile, stringify(config));
  const proc = new ManagedProcess(script, args(configFile));
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await proc.waitFor("namer admin listening");
  await eventually(async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined), 15_000, "namer /ready");
  return { url, adminUrl, port, adminPort, process: proc, stop: (signal) => proc.stop(signal) };
}

export async function startBindNamer(options: BindNamerOptions = {}): Promise<BindNamer> {
  const { script, args } = await namerEntry();
  return launch(script, args, options);
}

/** The namer's count of open watch streams of one resource (its /metrics gauge namer_watch_streams). */
export async function openWatchStreams(adminUrl: string, resource = "bind"): Promise<number> {
  return (await scrape(adminUrl)).get(`namer_watch_streams{resource="${resource}"}`) ?? 0;
}
