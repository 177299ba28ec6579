// The `meshd` command: the process entry point that runs meshd's parts. The
// offline dtab tools (check, delegate, bind) live here; each later part
// (router, namer, validate) registers its own subcommand.

import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { DtabError, Dtab, Path, NameTree, bind, delegate } from "../dtab/index.ts";
import { formatDelegateTree } from "../dtab/explain.ts";
import { ConfigError, loadConfig, parseConfig, readConfigText, topLevelKeys } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { namerConfigSchema, type NamerConfig } from "../namer/config.ts";
import type { startNamer } from "../namer/main.ts";
import { routerConfigSchema, type RouterConfig } from "../router/config.ts";
import type { startRouter } from "../router/main.ts";
import type { startDemo } from "./demo.ts";
import { packageRoot, packageVersion } from "./version.ts";

/** Exit codes shared by meshd and namerctl: 1 bad input / not found / conflict, 2 usage. */
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

class InputError extends Error {}

function readInput(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read ${file === "-" ? "standard input" : file}: ${(e as Error).message}`);
  }
}

/** A parse error prefixed with where its input came from (the message has the offset, line and column). */
function located(source: string, e: DtabError): string {
  return `${source}: ${e.message}`;
}

function parseDtabOption(opts: { dtab?: string; dtabFile?: string }): Dtab {
  const parts: Dtab[] = [];
  if (opts.dtabFile !== undefined) {
    const text = readInput(opts.dtabFile);
    try {
      parts.push(Dtab.read(text));
    } catch (e) {
      if (e instanceof DtabError) throw new InputError(located(opts.dtabFile, e));
      throw e;
    }
  }
  if (opts.dtab !== undefined) {
    try {
      parts.push(Dtab.read(opts.dtab));
    } catch (e) {
      if (e instanceof DtabError) throw new InputError(`--dtab: ${e.message}`);
      throw e;
    }
  }
  return Dtab.concat(...parts);
}

function parsePathArg(text: string): Path {
  try {
    return Path.read(text);
  } catch (e) {
    if (e instanceof DtabError) throw new InputError(`path: ${e.message}`);
    throw e;
  }
}

/** A port number option: 0–65535 (0: any free port). */
function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return n;
}

function print(value: string): void {
  process.stdout.write(value.endsWith("\n") ? value : value + "\n");
}

export function buildProgram(): Command {
  const program = new Command("meshd")
    .description("meshd: a per-host service-mesh router and its naming service (Linkerd 1 / namerd compatible)")
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError()
    .exitOverride();

  const dtab = program.command("dtab").description("work with dtabs offline: check, explain, bind");

  dtab
    .command("check")
    .description("parse a dtab file and print it in canonical form, one dentry a line")
    .argument("<file>", "dtab file, or - for standard input")
    .option("--json", "print namerd's JSON form")
    .action((file: string, opts: { json?: boolean }) => {
      const text = readInput(file);
      let parsed: Dtab;
      try {
        parsed = Dtab.read(text);
      } catch (e) {
        if (e instanceof DtabError) throw new InputError(located(file, e));
        throw e;
      }
      if (opts.json === true) print(JSON.stringify(parsed.toJSON(), null, 2));
      else print(parsed.dentries.map((d) => `${d.prefix.show} => ${NameTree.show(d.dst)};`).join("\n") || "# empty dtab");
    });

  const dtabOptions = (cmd: Command): Command =>
    cmd
      .option("--dtab <dtab>", "dtab text, e.g. '/svc=>/$/inet/127.0.0.1'")
      .option("--dtab-file <file>", "read the dtab from a file (applied before --dtab)")
      .option("--json", "print JSON instead of text");

  dtabOptions(
    dtab
      .command("delegate")
      .description("explain step by step how a path resolves through a dtab (system namers only)")
      .argument("<path>", "logical path, e.g. /svc/users"),
  ).action((pathText: string, opts: { dtab?: string; dtabFile?: string; json?: boolean }) => {
    const tree = delegate(parseDtabOption(opts), parsePathArg(pathText));
    print(opts.json === true ? JSON.stringify(tree, null, 2) : formatDelegateTree(tree));
  });

  dtabOptions(
    dtab
      .command("bind")
      .description("bind a path through a dtab and print the bound tree (system namers only)")
      .argument("<path>", "logical path, e.g. /svc/users"),
  ).action((pathText: string, opts: { dtab?: string; dtabFile?: string; json?: boolean }) => {
    const bound = bind(parseDtabOption(opts), parsePathArg(pathText));
    print(opts.json === true ? JSON.stringify(bound, null, 2) : NameTree.show(bound));
  });

  program
    .command("namer")
    .description("run a namer: the dtab store and its API (embedded in-memory store when the config names none)")
    .option("-c, --config <file>", "namer config (YAML); without it: in-memory store, API on 127.0.0.1:4180, admin on 127.0.0.1:9991")
    .action(async (opts: { config?: string }) => {
      const config = opts.config === undefined ? namerConfigSchema.parse({}) : await loadConfig(opts.config, namerConfigSchema);
      await runUntilSignal(config);
    });

  program
    .command("router")
    .description("run a router: one per host, taking application traffic on its servers (4140 by default)")
    .requiredOption("-c, --config <file>", "router config (YAML, Linkerd 1 keys)")
    .action(async (opts: { config: string }) => {
      const config = await loadConfig(opts.config, routerConfigSchema);
      await runRouterUntilSignal(config, opts.config);
    });

  program
    .command("demo")
    .description("the whole mesh on one machine, no Redis: a namer seeded with a dtab, a router, three services, and what to try")
    .option("--data-dir <dir>", "where the demo keeps its dtabs and discovery files", ".meshd/demo")
    .option("--port <port>", "namer API port", portOption, 4180)
    .option("--admin-port <port>", "namer admin port", portOption, 9991)
    .option("--router-port <port>", "router port (applications send here)", portOption, 4140)
    .option("--router-admin-port <port>", "router admin port (dashboard, metrics)", portOption, 9990)
    .action(async (opts: { dataDir: string; port: number; adminPort: number; routerPort: number; routerAdminPort: number }) => {
      const logger = createLogger({ level: "warn", name: "demo" });
      const examplesDir = relative(process.cwd(), `${packageRoot()}examples`) || ".";
      let demo: Awaited<ReturnType<typeof startDemo>>;
      try {
        // Each command loads only its own part (a router never loads the Redis client).
        const { startDemo } = await import("./demo.ts");
        demo = await startDemo({ ...opts, seedDtab: readInput(`${packageRoot()}examples/dtabs/demo.dtab`), examplesDir }, logger);
      } catch (e) {
        throw listenError(e);
      }
      print(demo.banner);
      await untilSignal(logger, () => demo.close());
      print("meshd demo stopped.");
    });

  program
    .command("validate")
    .description("check a config file without starting anything; errors name the line and YAML path")
    .requiredOption("-c, --config <file>", "the config to check")
    .option("--json", "print the config as meshd reads it (defaults filled in, secrets hidden)")
    .action(async (opts: { config: string; json?: boolean }) => {
      // A router config has `routers` (or, missing them, keys only a router config has); anything else is checked as a namer config.
      const text = await readConfigText(opts.config);
      const keys = topLevelKeys(text);
      const routerOnly = ["routers", "telemetry", "usage", "tracers"];
      const namerOnly = ["storage", "interfaces", "logging", "shutdownGraceMs"];
      if (keys.includes("routers") || (keys.some((k) => routerOnly.includes(k)) && !keys.some((k) => namerOnly.includes(k)))) {
        const config = parseConfig(text, routerConfigSchema, { file: opts.config });
        if (opts.json === true) print(JSON.stringify(config, null, 2));
        else {
          const servers = config.routers.reduce((n, r) => n + r.servers.length, 0);
          print(`${opts.config}: ok (router: ${config.routers.length} router(s), ${servers} server(s), admin ${config.admin.ip}:${config.admin.port})`);
        }
        return;
      }
      const config = parseConfig(text, namerConfigSchema, { file: opts.config });
      if (opts.json === true) print(JSON.stringify(redactConfig(config), null, 2));
      else print(`${opts.config}: ok (namer: storage ${config.storage.kind}, ${config.interfaces.length} interface(s), admin ${config.admin.ip}:${config.admin.port})`);
    });

  return program;
}

/** The config with every secret replaced, for printing. */
function redactConfig(config: NamerConfig): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if ((key === "password" || key === "token") && typeof value === "string") return "[redacted]";
      if (key === "writeTokens" && Array.isArray(value)) return value.map((t: unknown) => (typeof t === "string" ? "[redacted]" : t));
      if (key === "url" && typeof value === "string") return value.replace(/\/\/[^@/]*@/, "//[redacted]@");
      return value;
    }),
  );
}

/** Runs the routers until SIGTERM or SIGINT, then drains them; a second signal exits at once. */
async function runRouterUntilSignal(config: RouterConfig, file: string): Promise<void> {
  const logger = createLogger({ name: "router" });
  let router: Awaited<ReturnType<typeof startRouter>>;
  try {
    const { startRouter } = await import("../router/main.ts");
    router = await startRouter(config, logger);
  } catch (e) {
    throw listenError(e);
  }
  // SIGHUP: re-read the config; a bad one is logged and the running one stays.
  let reloading = Promise.resolve();
  const onHup = (): void => {
    reloading = reloading.then(async () => {
      try {
        await router.reload(await loadConfig(file, routerConfigSchema));
      } catch (e) {
        logger.error({ err: e instanceof ConfigError ? e.message : e }, "reload failed; keeping the running configuration");
      }
    });
  };
  process.on("SIGHUP", onHup);
  await untilSignal(logger, async () => {
    process.off("SIGHUP", onHup);
    await reloading;
    await router.close();
  });
}

/** A failure to listen as a readable message; anything else as it is. */
function listenError(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL") {
    return new InputError(`cannot listen on ${err.address ?? "?"}:${err.port ?? "?"}: ${err.code === "EADDRINUSE" ? "the address is already in use" : err.message}`);
  }
  return e;
}

/** Waits for SIGTERM or SIGINT, then runs `stop`; a second signal exits at once. */
function untilSignal(logger: ReturnType<typeof createLogger>, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "signal received");
      void stop().then(resolve, (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        resolve();
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** Runs the namer until SIGTERM or SIGINT, then shuts it down gracefully; a second signal exits at once. */
async function runUntilSignal(config: NamerConfig): Promise<void> {
  const logger = createLogger({ level: config.logging.level, name: "namer" });
  let namer: Awaited<ReturnType<typeof startNamer>>;
  try {
    const { startNamer } = await import("../namer/main.ts");
    namer = await startNamer(config, logger);
  } catch (e) {
    throw listenError(e);
  }
  await untilSignal(logger, () => namer.close());
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; anything else commander rejects is a usage error.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof InputError || e instanceof DtabError || e instanceof ConfigError) {
      process.stderr.write(`meshd: ${e.message}\n`);
      return EXIT_INVALID;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
