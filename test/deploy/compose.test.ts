// The docker-compose example: docker-compose itself accepts the file (no
// Docker daemon is needed for `config`), and the stack it describes is the
// intended one: two "hosts" whose apps call each other through their own
// routers, the namer on Redis, the seed job, Prometheus on the routers'
// admin ports, and an image that runs as a numeric non-root user.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const tokens = { NAMER_TOKEN: "compose-test-namer-token", REGISTRY_TOKEN: "compose-test-registry-token" };

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** docker-compose as a real process; a missing binary fails with what to install (never a skip). */
async function compose(args: readonly string[], env: Record<string, string | undefined>, command = "docker-compose"): Promise<Result> {
  const child = spawn(command, ["-f", "docker-compose.yml", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    // once() rejects with the spawn error (ENOENT when the binary is missing).
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stdout, stderr };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${command} is not installed: run \`apt-get install docker-compose\` (Debian/Ubuntu), then run this test again`, { cause: e });
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** The environment without the tokens, whatever the caller's shell had. */
function envWithout(...names: string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  network_mode?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
  read_only?: boolean;
}

interface RouterConfig {
  admin: { ip: string; port: number };
  routers: { label: string; servers: { ip: string; port: number }[]; interpreter: { dst: string; transformers: { kind: string; port?: number }[] } }[];
}

let services: Record<string, Service> = {};
let routerConfig: RouterConfig;

beforeAll(async () => {
  const resolved = await compose(["config"], { ...process.env, ...tokens });
  expect(resolved.stderr).toBe("");
  expect(resolved.code).toBe(0);
  services = (parse(resolved.stdout) as { services: Record<string, Service> }).services;
  routerConfig = parse(await readFile(join(root, "examples/compose/router.yaml"), "utf8")) as RouterConfig;
});

function service(name: string): Service {
  const s = services[name];
  if (s === undefined) throw new Error(`no service ${name} in docker-compose.yml`);
  return s;
}

/** The host-side path a service mounts at `target` (compose prints absolute paths). */
function mountSource(s: Service, target: string): string | undefined {
  const volume = s.volumes?.find((v) => v.split(":")[1] === target);
  return volume?.split(":")[0];
}

const hosts = [
  { router: "router-a", app: "app-a" },
  { router: "router-b", app: "app-b" },
] as const;

describe("docker-compose.yml", () => {
  it("passes `docker-compose config -q` with exit 0 and nothing on stderr", async () => {
    const result = await compose(["config", "-q"], { ...process.env, ...tokens });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("fails, never skips, when docker-compose is missing, saying what to install", async () => {
    await expect(compose(["config", "-q"], process.env, "docker-compose-not-installed")).rejects.toThrow(/apt-get install docker-compose/);
  });

  it("refuses to start without the write tokens rather than using a default secret", async () => {
    const result = await compose(["config", "-q"], envWithout("NAMER_TOKEN", "REGISTRY_TOKEN"));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/set (NAMER|REGISTRY)_TOKEN/);
  });

  it("has Redis, the namer, two routers, two apps, the seed job and Prometheus, and nothing else", () => {
    expect(Object.keys(services).sort()).toEqual(["app-a", "app-b", "namer", "prometheus", "redis", "router-a", "router-b", "seed"]);
  });

  it("runs the namer on Redis with the compose namer config, after Redis is healthy", async () => {
    const namer = service("namer");
    expect(namer.command).toEqual(["namer", "--config", "/etc/meshd/namer.yaml"]);
    expect(mountSource(namer, "/etc/meshd")).toBe(join(root, "examples/compose"));
    expect(namer.depends_on?.["redis"]?.condition).toBe("service_healthy");
    expect(namer.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:9991/ready");
    expect(service("redis").healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    const config = parse(await readFile(join(root, "examples/compose/namer.yaml"), "utf8")) as { storage: { kind: string; url: string }; namers: { kind: string }[] };
    expect(config.storage).toMatchObject({ kind: "redis", url: "redis://redis:6379" });
    expect(config.namers.map((n) => n.kind)).toEqual(["io.l5d.fs", "meshd.registry"]);
  });

  it("seeds the dtab with namerctl once the namer is healthy, and starts the routers only after that", () => {
    const seed = service("seed");
    expect(seed.entrypoint).toEqual(["node", "/opt/meshd/bin/namerctl.js"]);
    expect(seed.command).toEqual(["dtab", "apply", "default", "/etc/meshd/mesh.dtab"]);
    expect(seed.environment?.["NAMERCTL_BASE_URL"]).toBe("http://namer:4180");
    expect(seed.environment?.["NAMERCTL_TOKEN"]).toBe(tokens.NAMER_TOKEN);
    expect(seed.depends_on?.["namer"]?.condition).toBe("service_healthy");
    for (const { router } of hosts) expect(service(router).depends_on?.["seed"]?.condition).toBe("service_completed_successfully");
  });

  it("runs each router with the compose router config on a fixed host address, healthchecked on its admin /ready", () => {
    const addresses = hosts.map(({ router }) => {
      const r = service(router);
      expect(r.command).toEqual(["router", "--config", "/etc/meshd/router.yaml"]);
      expect(mountSource(r, "/etc/meshd")).toBe(join(root, "examples/compose"));
      expect(r.healthcheck?.test.join(" ")).toContain(`http://127.0.0.1:${routerConfig.admin.port}/ready`);
      expect(r.read_only).toBe(true);
      return r.networks?.["mesh"]?.ipv4_address;
    });
    expect(addresses.every((a) => a !== undefined)).toBe(true);
    expect(new Set(addresses).size).toBe(2);
  });

  it("gives each app its own host's router as http_proxy: the outgoing server in the network namespace it shares", async () => {
    const outgoing = routerConfig.routers.find((r) => r.label === "outgoing");
    const incoming = routerConfig.routers.find((r) => r.label === "incoming");
    expect(outgoing?.interpreter.transformers).toEqual([{ kind: "io.l5d.port", port: incoming?.servers[0]?.port }]);
    expect(incoming?.interpreter.transformers).toEqual([{ kind: "io.l5d.localhost" }]);
    for (const { router, app } of hosts) {
      const a = service(app);
      // Sharing the router's network namespace is what makes 127.0.0.1 *this host's* router.
      expect(a.network_mode).toBe(`service:${router}`);
      const proxy = new URL(a.environment?.["http_proxy"] ?? "");
      expect(outgoing?.servers).toContainEqual({ ip: proxy.hostname, port: Number(proxy.port) });
      expect(Number(proxy.port)).toBe(4140);
      expect(a.depends_on?.[router]?.condition).toBe("service_healthy");
      expect(mountSource(a, "/app/app.mjs")).toBe(join(root, "examples/compose/app.mjs"));
      // The app registers, and io.l5d.fs lists it, at its host's fixed address.
      const address = service(router).networks?.["mesh"]?.ipv4_address;
      expect(a.environment?.["HOST_IP"]).toBe(address);
      expect(a.environment?.["APP_NAME"]).toBe(app);
      const disco = await readFile(join(root, "examples/compose/disco", app), "utf8");
      expect(disco).toMatch(new RegExp(`^${(address ?? "").replaceAll(".", "\\.")} ${a.environment?.["PORT"]}$`, "m"));
    }
  });

  it("has Prometheus scrape both routers' admin /metrics", async () => {
    const prometheus = service("prometheus");
    const file = mountSource(prometheus, "/etc/prometheus/prometheus.yml");
    expect(file).toBe(join(root, "examples/compose/prometheus.yml"));
    const config = parse(await readFile(file ?? "", "utf8")) as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    const routers = config.scrape_configs.find((c) => c.job_name === "meshd-router");
    expect(routers?.metrics_path).toBe("/metrics");
    expect(routers?.static_configs.flatMap((s) => s.targets).sort()).toEqual(hosts.map(({ router }) => `${router}:${routerConfig.admin.port}`));
    // Reachable from Prometheus' container only when the admin is not on loopback.
    expect(routerConfig.admin.ip).toBe("0.0.0.0");
  });
});

describe("Dockerfile", () => {
  let dockerfile = "";
  beforeAll(async () => {
    dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
  });

  /** Instructions of the last stage (the image that runs), comments and blank lines dropped. */
  const runtimeStage = (): string[] => {
    const lines = dockerfile.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
    const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
    return lines.slice(from.at(-1));
  };

  it("builds on Node 24 in a build stage and runs as a numeric non-root user", () => {
    const froms = dockerfile.split("\n").filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:24-bookworm-slim\b/);
    const users = runtimeStage().filter((l) => /^USER\s/i.test(l));
    expect(users).toHaveLength(1);
    const [, uid, gid] = /^USER\s+(\d+)(?::(\d+))?\s*$/.exec(users[0] ?? "") ?? [];
    expect(uid, "USER is numeric (uid[:gid])").toBeDefined();
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
  });

  it("installs only production dependencies without running the build-on-install step, and starts meshd", () => {
    const stage = runtimeStage().join("\n");
    expect(stage).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(stage).toContain("COPY --from=build /src/dist ./dist");
    // The admin pages' files are not TypeScript, so tsc leaves them out of dist/.
    expect(stage).toContain("COPY --from=build /assets/ ./");
    // The script runs through its own #! line, so the image has the Node flags an installed meshd has.
    expect(stage).toContain("WORKDIR /opt/meshd");
    expect(stage).toContain('ENTRYPOINT ["/opt/meshd/bin/meshd.js"]');
    const exposed = stage.match(/^EXPOSE\s+(.*)$/m)?.[1]?.split(/\s+/).map(Number).sort();
    expect(exposed).toEqual([4140, 4141, 4180, 9990, 9991]);
  });

  it("keeps dependencies, build output and git state out of the build context", async () => {
    const ignored = (await readFile(join(root, ".dockerignore"), "utf8")).split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", "dist", ".git"]) expect(ignored).toContain(entry);
  });
});
