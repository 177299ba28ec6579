// Starting a real router process for tests: the config written to a temp
// dir (ports chosen free), `meshd router` spawned, and a wait until its
// admin says /ready.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, MESHD, eventually } from "./process.ts";
import { freePort } from "./redis.ts";

export interface RouterProcess {
  readonly adminUrl: string;
  /** Base URL of each server, in config order, per router (index). */
  readonly servers: readonly (readonly string[])[];
  readonly configFile: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RouterSpec {
  readonly namers?: readonly Record<string, unknown>[];
  /** Router entries; each server's port may be omitted (a free one is chosen). */
  readonly routers: readonly (Record<string, unknown> & { servers: readonly Record<string, unknown>[] })[];
  readonly telemetry?: readonly Record<string, unknown>[];
  readonly adminIp?: string;
  /** admin.token (a bearer token for the control endpoints from other hosts). */
  readonly adminToken?: string;
  readonly dir?: string;
  /** Wait for /ready 200 (default); false: only for the admin to listen. */
  readonly waitReady?: boolean;
  /** Node flags for the process (see binNodeFlags); none by default. */
  readonly nodeFlags?: readonly string[];
}

export async function startRouterProcess(spec: RouterSpec): Promise<RouterProcess> {
  const dir = spec.dir ?? mkdtempSync(join(tmpdir(), "meshd-router-"));
  const adminPort = await freePort();
  const routers = [];
  const servers: string[][] = [];
  for (const r of spec.routers) {
    const list: string[] = [];
    const withPorts = [];
    for (const s of r.servers) {
      const ip = (s["ip"] as string | undefined) ?? "127.0.0.1";
      const port = (s["port"] as number | undefined) ?? (await freePort(ip));
      withPorts.push({ ...s, ip, port });
      list.push(`http://${ip}:${port}`);
    }
    routers.push({ ...r, servers: withPorts });
    servers.push(list);
  }
  const admin = { ip: spec.adminIp ?? "127.0.0.1", port: adminPort, shutdownGraceMs: 3000, ...(spec.adminToken === undefined ? {} : { token: spec.adminToken }) };
  const config = { admin, namers: spec.namers ?? [], routers, ...(spec.telemetry === undefined ? {} : { telemetry: spec.telemetry }) };
  const configFile = join(dir, "router.yaml");
  writeFileSync(configFile, stringify(config));
  const proc = new ManagedProcess(MESHD, ["router", "--config", configFile], {}, undefined, spec.nodeFlags);
  const adminUrl = `http://${spec.adminIp ?? "127.0.0.1"}:${adminPort}`;
  await proc.waitFor("router admin listening");
  if (spec.waitReady !== false) await eventually(async () => ((await fetch(`${adminUrl}/ready`)).status === 200 ? true : undefined), 15_000, "router /ready");
  return { adminUrl, servers, configFile, dir, process: proc, stop: (signal) => proc.stop(signal) };
}
