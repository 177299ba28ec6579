// Starting a real namer process for tests: a config written to a temp dir,
// free loopback ports, and a wait until its admin says /ready.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, MESHD, eventually } from "./process.ts";
import { freePort } from "./redis.ts";

export interface NamerProcess {
  readonly url: string;
  readonly adminUrl: string;
  readonly configFile: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `meshd namer` with `storage` (default: embedded in memory) and the
 * given interface options (e.g. writeTokens); resolves once /ready is 200.
 */
export async function startNamerProcess(
  options: { storage?: Record<string, unknown>; iface?: Record<string, unknown>; namers?: readonly Record<string, unknown>[]; env?: Record<string, string>; waitReady?: boolean; port?: number } = {},
): Promise<NamerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "meshd-namer-"));
  const port = options.port ?? (await freePort());
  const adminPort = await freePort();
  const config = {
    storage: options.storage ?? { kind: "io.l5d.inMemory" },
    interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port, ...options.iface }],
    admin: { ip: "127.0.0.1", port: adminPort },
    namers: options.namers ?? [],
    logging: { level: "info" },
    shutdownGraceMs: 2000,
  };
  const configFile = join(dir, "namer.yaml");
  writeFileSync(configFile, stringify(config));
  const proc = new ManagedProcess(MESHD, ["namer", "--config", configFile], options.env);
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await proc.waitFor("namer admin listening");
  if (options.waitReady !== false) {
    await eventually(async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined), 15_000, "namer /ready");
  }
  return { url, adminUrl, configFile, dir, process: proc, stop: (signal) => proc.stop(signal) };
}
