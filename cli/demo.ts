// `meshd demo` (what `npm start` runs): a whole mesh on one machine, in one
// process, on loopback only — a namer on the embedded store seeded with the
// demo dtab, a router that takes its names from that namer, and three small
// services (two versions of "web", and "api") found through the file-system
// namer. It prints the commands to try; Ctrl-C stops everything.
import { mkdirSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { Dtab } from "../dtab/index.ts";
import type { Logger } from "../lib/log.ts";
import { http } from "../lib/node-http.ts";
import { namerConfigSchema } from "../namer/config.ts";
import { startNamer, type RunningNamer } from "../namer/main.ts";
import { routerConfigSchema } from "../router/config.ts";
import { startRouter, type RunningRouter } from "../router/main.ts";

export interface DemoOptions {
  readonly dataDir: string;
  /** Namer API and admin ports. */
  readonly port: number;
  readonly adminPort: number;
  /** Router (outgoing server) and router admin ports. */
  readonly routerPort: number;
  readonly routerAdminPort: number;
  /** The dtab the namespace starts with (first run only; later runs keep what was saved). */
  readonly seedDtab: string;
  /** Where `meshd` runs from, for the file paths printed. */
  readonly examplesDir: string;
}

export interface RunningDemo {
  /** What to print: the addresses and the commands to try. */
  readonly banner: string;
  close(): Promise<void>;
}

/** The demo's services: name in discovery, what it answers. */
const SERVICES = [
  { name: "web-stable", text: "Hello from web v1 (stable)" },
  { name: "web-canary", text: "Hello from web v2 (canary)" },
  { name: "api", text: "Hello from api" },
] as const;

function startService(text: string, name: string): Promise<Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    const body = `${text}\n`;
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "x-demo-service": name });
    res.end(body);
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolvePromise(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolvePromise) => {
    server.close(() => resolvePromise());
    server.closeAllConnections();
  });
}

export async function startDemo(options: DemoOptions, logger: Logger): Promise<RunningDemo> {
  Dtab.read(options.seedDtab); // a broken seed fails here, with its offset, not inside the namer
  const dataDir = resolve(options.dataDir);
  const disco = join(dataDir, "disco");
  mkdirSync(disco, { recursive: true });
  const services: Server[] = [];
  let namer: RunningNamer | undefined;
  let router: RunningRouter | undefined;
  const close = async (): Promise<void> => {
    await router?.close(2_000);
    await namer?.close(2_000);
    await Promise.all(services.map(closeServer));
  };
  try {
    // Ephemeral ports, written where the fs namer looks: rewritten on every start.
    for (const s of SERVICES) {
      const server = await startService(s.text, s.name);
      services.push(server);
      writeFileSync(join(disco, s.name), `127.0.0.1 ${(server.address() as AddressInfo).port}\n`);
    }
    namer = await startNamer(
      namerConfigSchema.parse({
        storage: { kind: "io.l5d.inMemory", dataDir: join(dataDir, "dtabs"), namespaces: { default: options.seedDtab } },
        namers: [{ kind: "io.l5d.fs", rootDir: disco }],
        interfaces: [{ kind: "io.l5d.httpController", ip: "127.0.0.1", port: options.port }],
        admin: { ip: "127.0.0.1", port: options.adminPort },
      }),
      logger.child({ part: "namer" }),
    );
    router = await startRouter(
      routerConfigSchema.parse({
        admin: { ip: "127.0.0.1", port: options.routerAdminPort, shutdownGraceMs: 2_000 },
        routers: [
          {
            protocol: "http",
            label: "demo",
            interpreter: { kind: "io.l5d.namerd.http", dst: `/$/inet/127.0.0.1/${options.port}`, namespace: "default" },
            servers: [{ ip: "127.0.0.1", port: options.routerPort }],
            service: { kind: "io.l5d.global", responseClassifier: { kind: "io.l5d.http.retryableRead5XX" } },
          },
        ],
      }),
      logger.child({ part: "router" }),
    );
  } catch (e) {
    await close();
    throw e;
  }
  const api = namer.apiUrls[0] ?? `http://127.0.0.1:${options.port}`;
  const proxy = `http://127.0.0.1:${options.routerPort}`;
  const namerFlag = options.port === 4180 ? "" : ` --namer ${api}`;
  const ex = options.examplesDir;
  const banner = [
    "meshd demo: a namer, a router and three services on this machine (loopback only, no Redis).",
    "",
    `  router         ${proxy}   (send requests here, naming the service in the Host header)`,
    `  dashboard      ${router.adminUrl}/`,
    `  namer API      ${api}   (dtabs kept in ${join(dataDir, "dtabs")})`,
    `  namer admin    ${namer.adminUrl}/`,
    `  services       ${SERVICES.map((s) => s.name).join(", ")}   (found by the io.l5d.fs namer in ${disco})`,
    "",
    "Try:",
    "  # route by Host: /svc/web goes to web-stable",
    `  curl -s -H 'Host: web' ${proxy}/`,
    `  curl -s -H 'Host: api' ${proxy}/`,
    "  # see how the name resolves, then send 10% of web to the canary (a compare-and-set update)",
    `  npx namerctl delegate default /svc/web${namerFlag}`,
    `  npx namerctl dtab apply default ${ex}/dtabs/default.dtab${namerFlag}`,
    `  for i in $(seq 20); do curl -s -H 'Host: web' ${proxy}/; done | sort | uniq -c`,
    "  # override the route for one request only",
    `  curl -s -H 'Host: web' -H 'l5d-dtab: /svc/web => /#/io.l5d.fs/web-canary' ${proxy}/`,
    "  # history and rollback",
    `  npx namerctl dtab history default${namerFlag}`,
    `  npx namerctl dtab rollback default 1${namerFlag}`,
    "",
    "meshd demo is ready. Stop with Ctrl-C.",
  ].join("\n");
  return { banner, close };
}
