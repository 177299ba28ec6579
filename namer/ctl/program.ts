// The `namerctl` command line: global options, the `dtab` verbs (the name
// and registry verbs live in their own files), and the one place that turns
// failures into "namerctl: …" on stderr and an exit code. Data goes to
// stdout (JSON only with --json); everything else to stderr.
import { userInfo } from "node:os";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { Dtab } from "../../dtab/index.ts";
import { NamerClient } from "./client.ts";
import { diffDtabs, formatDiff, summarize } from "./diff.ts";
import { editNamespace, editorCommand, runEditor } from "./edit.ts";
import { ApiError, CtlError, EXIT_OK, EXIT_USAGE, UsageError, type ExitCode } from "./errors.ts";
import { formatHistory, formatVersionedDtab } from "./format.ts";
import { readDtabFile, selectVersion, VERSION, type VersionSource } from "./input.ts";
import { processIo, type NamerctlIo } from "./io.ts";
import { addNameVerbs } from "./name-verbs.ts";
import { failed, print, printJson, step } from "./output.ts";
import { addRegistryVerbs } from "./registry-verbs.ts";

export type { NamerctlIo };

/** Where namerctl looks for the namer when neither --namer nor NAMERCTL_BASE_URL says: namerd's port on this host. */
export const DEFAULT_NAMER_URL = "http://127.0.0.1:4180";
export const DEFAULT_TIMEOUT_MS = 10_000;

interface GlobalOptions {
  readonly namer?: string;
  readonly token?: string;
  readonly timeout?: number;
}

/** --namer, --token, --timeout: on namerctl itself and on every verb, so they work before or after it. */
function withConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--namer <url>", `the namer's base URL, a path prefix allowed (env NAMERCTL_BASE_URL; default ${DEFAULT_NAMER_URL})`))
    .addOption(new Option("--token <token>", "bearer token for writes (prefer env NAMERCTL_TOKEN: a flag is visible in ps)"))
    .addOption(new Option("--timeout <duration>", `limit for each request (for --watch, for the stream to start), e.g. 10s, 500ms (default ${DEFAULT_TIMEOUT_MS / 1000}s)`).argParser(parseDuration));
}

/** "10s", "500ms", "2m", or a bare number of seconds (as curl's --max-time). */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (m === null) throw new InvalidArgumentError("give a duration such as 10s, 500ms or 2m");
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (ms < 1 || ms > 3_600_000) throw new InvalidArgumentError("give a duration between 1ms and 1h");
  return Math.round(ms);
}

function parseVersion(raw: string): string {
  if (!VERSION.test(raw)) throw new InvalidArgumentError("a version is a positive whole number, as `dtab get` shows it");
  return raw;
}

function parseLimit(raw: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(raw)) throw new InvalidArgumentError("give a positive whole number");
  return Number(raw);
}

const FROM: Record<VersionSource, string> = { "--version": "given with --version", file: "found in the file", read: "read just before" };

/** A 412 on a compare-and-set, told with the version the namer has now. */
async function conflictError(client: NamerClient, ns: string, what: string, expected: string, from: VersionSource, cause: ApiError): Promise<CtlError> {
  const current = await client.find(ns).catch(() => undefined);
  const now = current === undefined ? "it no longer exists or could not be read" : `it is now at version ${current.version}`;
  return new CtlError(
    `${what}: conflict: ${cause.message}\n` +
      `${ns} is no longer at version ${expected} (the version ${FROM[from]}): ${now}; nothing was written\n` +
      `hint: \`namerctl dtab get ${ns}\` to see the current dtab, then redo the change (\`namerctl dtab edit ${ns}\` does this for you)`,
    { cause },
  );
}

export function buildNamerctl(io: NamerctlIo = processIo()): Command {
  const program = new Command("namerctl")
    .description(
      "namerctl: the operators' CLI for meshd's namer (dtabs: list, get, create, update, apply, edit, delete, history, rollback, diff; " +
        "names: bind, resolve, delegate; registry: register, deregister, instances)",
    )
    .version(io.version ?? "unknown", "-V, --version")
    // Options before the subcommand belong to namerctl, so `--version` there is namerctl's and
    // `dtab update --version 3` is the update's; the connection options are accepted in both places.
    .enablePositionalOptions()
    .showHelpAfterError("(run namerctl --help for usage)")
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(`namerctl: ${s.replace(/^error: /, "")}`),
    })
    .exitOverride();

  withConnectionOptions(program);
  const clientOf = (cmd: Command): NamerClient => {
    // Nearest wins: `namerctl --namer a dtab ls --namer b` talks to b (commander's optsWithGlobals prefers the outer one).
    const g: GlobalOptions = {};
    const chain: Command[] = [];
    for (let c: Command | null = cmd; c !== null; c = c.parent) chain.unshift(c);
    for (const c of chain) for (const [k, v] of Object.entries(c.opts())) if (v !== undefined) Object.assign(g, { [k]: v });
    const base = g.namer ?? io.env["NAMERCTL_BASE_URL"] ?? DEFAULT_NAMER_URL;
    const token = g.token ?? io.env["NAMERCTL_TOKEN"];
    let user = io.env["USER"] ?? io.env["LOGNAME"];
    if (user === undefined || user === "") {
      try {
        user = userInfo().username;
      } catch {
        user = undefined; // No passwd entry (some containers): the namer then records the token's name alone.
      }
    }
    return new NamerClient({ baseUrl: base, timeoutMs: g.timeout ?? DEFAULT_TIMEOUT_MS, ...(token === undefined ? {} : { token }), ...(user === undefined ? {} : { user }) });
  };
  const readFile = (file: string) => readDtabFile(file, io.stdin);
  const diffStyle = io.color === true ? { color: true } : {};

  const dtab = program.command("dtab").description("read and change the namer's dtabs");
  const verb = (name: string): Command => withConnectionOptions(dtab.command(name));

  verb("list")
    .alias("ls")
    .description("list the namespaces")
    .option("--json", "print a JSON array")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const names = await step("list", () => clientOf(cmd).list());
      if (opts.json === true) printJson(io, names);
      else print(io, names.join("\n"));
    });

  verb("get")
    .alias("cat")
    .description("print a namespace's dtab, one dentry a line, after a `# version N` comment")
    .argument("<namespace>")
    .option("--json", 'print {"namespace", "version", "dtab": [{"prefix", "dst"}]} (input for create/update)')
    .action(async (ns: string, opts: { json?: boolean }, cmd: Command) => {
      const got = await step(`get ${ns}`, () => clientOf(cmd).get(ns));
      if (opts.json === true) printJson(io, { namespace: got.namespace, version: got.version, dtab: got.dtab.toJSON() });
      else print(io, formatVersionedDtab(got.version, got.dtab));
    });

  verb("create")
    .alias("new")
    .description("create a namespace from a dtab file (text or JSON; - for standard input)")
    .argument("<namespace>")
    .argument("<file>")
    .option("--json", 'print {"namespace", "version"}')
    .action(async (ns: string, file: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const input = await readFile(file);
      const version = await step(`create ${ns}`, () => client.create(ns, input.dtab));
      if (opts.json === true) printJson(io, { namespace: ns, version });
      else print(io, `created ${ns} at version ${version} (${input.dtab.length} ${input.dtab.length === 1 ? "dentry" : "dentries"})`);
    });

  verb("update")
    .alias("up")
    .description(
      "replace a namespace's dtab, only if it is still at the version the change was based on: --version, else the file's own " +
        "(JSON \"version\" or a `# version N` header), else the version read just before",
    )
    .argument("<namespace>")
    .argument("<file>")
    .addOption(new Option("--version <version>", "the version the change was based on (If-Match)").argParser(parseVersion))
    .option("--json", 'print {"namespace", "version", "previousVersion"}')
    .action(async (ns: string, file: string, opts: { version?: string; json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const input = await readFile(file);
      const chosen = selectVersion(opts.version, input) ?? { version: (await step(`update ${ns}`, () => client.get(ns))).version, from: "read" as const };
      let version: string;
      try {
        version = await client.update(ns, input.dtab, chosen.version);
      } catch (e) {
        if (e instanceof ApiError && e.isConflict) throw await conflictError(client, ns, `update ${ns}`, chosen.version, chosen.from, e);
        throw failed(`update ${ns}`, e);
      }
      if (opts.json === true) printJson(io, { namespace: ns, version, previousVersion: chosen.version });
      else print(io, `updated ${ns}: version ${chosen.version} → ${version}`);
    });

  verb("apply")
    .description("make a namespace hold the dtab in a file: create it if missing, else update it (versions in the file are ignored); prints what changed")
    .argument("<namespace>")
    .argument("<file>")
    .option("--json", 'print {"namespace", "result": "created"|"updated"|"unchanged", "version", "changes"}')
    .action(async (ns: string, file: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const input = await readFile(file);
      const current = await step(`apply ${ns}`, () => client.find(ns));
      const before = current?.dtab ?? Dtab.empty;
      const changes = diffDtabs(before, input.dtab);
      const report = (result: "created" | "updated" | "unchanged", version: string): void => {
        const previousVersion = current?.version;
        if (opts.json === true) {
          printJson(io, { namespace: ns, result, version, ...(previousVersion === undefined ? {} : { previousVersion }), changes });
          return;
        }
        const from = current === undefined ? `${ns} (did not exist)` : `${ns} version ${current.version}`;
        const diff = formatDiff(before, input.dtab, { from, to: input.source }, diffStyle);
        const line =
          result === "unchanged"
            ? `${ns} unchanged at version ${version}: nothing written`
            : result === "created"
              ? `created ${ns} at version ${version} (${summarize(changes)})`
              : `updated ${ns}: version ${previousVersion ?? "?"} → ${version} (${summarize(changes)})`;
        print(io, diff + line);
      };
      if (current === undefined) {
        report("created", await step(`apply ${ns}`, () => client.create(ns, input.dtab)));
      } else if (changes.length === 0) {
        report("unchanged", current.version);
      } else {
        try {
          report("updated", await client.update(ns, input.dtab, current.version));
        } catch (e) {
          if (e instanceof ApiError && e.isConflict) throw await conflictError(client, ns, `apply ${ns}`, current.version, "read", e);
          throw failed(`apply ${ns}`, e);
        }
      }
    });

  verb("edit")
    .description("edit a namespace's dtab in $VISUAL (then $EDITOR, then vi) and save it back if nobody changed it meanwhile; on a conflict, shows the other change and reopens")
    .argument("<namespace>")
    .action(async (ns: string, _opts: unknown, cmd: Command) => {
      const client = clientOf(cmd);
      const editor = editorCommand(io.env);
      const outcome = await step(`edit ${ns}`, () =>
        editNamespace(ns, { client, edit: io.edit ?? ((file) => runEditor(editor, file)), say: (text) => io.stderr(text.endsWith("\n") ? text : text + "\n"), ...diffStyle }),
      );
      switch (outcome.kind) {
        case "updated":
          print(io, `updated ${ns}: version ${outcome.previousVersion} → ${outcome.version} (${summarize(outcome.changes)})`);
          break;
        case "unchanged":
          print(io, `edit cancelled: no changes (${ns} is at version ${outcome.version})`);
          break;
        case "cancelled":
          print(io, `edit cancelled: ${outcome.reason}`);
          break;
        default:
          outcome satisfies never;
      }
    });

  verb("delete")
    .alias("rm")
    .alias("del")
    .description("delete a namespace, only if it is still at the version read just before (or --version)")
    .argument("<namespace>")
    .addOption(new Option("--version <version>", "delete only if the namespace is at this version (If-Match)").argParser(parseVersion))
    .option("--json", 'print {"namespace", "version", "previousVersion"}')
    .action(async (ns: string, opts: { version?: string; json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const chosen = opts.version === undefined ? { version: (await step(`delete ${ns}`, () => client.get(ns))).version, from: "read" as const } : { version: opts.version, from: "--version" as const };
      let version: string;
      try {
        version = await client.delete(ns, chosen.version);
      } catch (e) {
        if (e instanceof ApiError && e.isConflict) throw await conflictError(client, ns, `delete ${ns}`, chosen.version, chosen.from, e);
        throw failed(`delete ${ns}`, e);
      }
      if (opts.json === true) printJson(io, { namespace: ns, version, previousVersion: chosen.version });
      else print(io, `deleted ${ns} (it was at version ${chosen.version}; \`namerctl dtab rollback ${ns} ${chosen.version}\` restores it)`);
    });

  verb("history")
    .description("list a namespace's kept versions, newest first")
    .argument("<namespace>")
    .addOption(new Option("--limit <n>", "show at most n versions").argParser(parseLimit))
    .option("--json", "print the history entries as JSON (with each version's dtab)")
    .action(async (ns: string, opts: { limit?: number; json?: boolean }, cmd: Command) => {
      const entries = await step(`history ${ns}`, () => clientOf(cmd).history(ns, opts.limit));
      if (opts.json === true) printJson(io, entries);
      else print(io, formatHistory(entries));
    });

  verb("rollback")
    .description("restore the dtab of an earlier version (see `dtab history`) as a new version, only if nobody changed the namespace meanwhile")
    .argument("<namespace>")
    .argument("<version>", "the version whose dtab to restore", parseVersion)
    .option("--json", 'print {"namespace", "version", "restoredVersion", "previousVersion"}')
    .action(async (ns: string, target: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      // A deleted namespace has no version to match; the namer decides whether it can be restored.
      const before = await step(`rollback ${ns}`, () => client.find(ns));
      let result;
      try {
        result = await client.rollback(ns, target, before?.version);
      } catch (e) {
        if (e instanceof ApiError && e.isConflict && before !== undefined) throw await conflictError(client, ns, `rollback ${ns}`, before.version, "read", e);
        throw failed(`rollback ${ns}`, e);
      }
      if (opts.json === true) {
        printJson(io, { ...result, ...(before === undefined ? {} : { previousVersion: before.version }) });
        return;
      }
      const after = await client.find(ns).catch(() => undefined);
      const diff =
        after !== undefined && after.version === result.version
          ? formatDiff(before?.dtab ?? Dtab.empty, after.dtab, { from: before === undefined ? `${ns} (deleted)` : `${ns} version ${before.version}`, to: `${ns} version ${result.version}` }, diffStyle)
          : "";
      print(io, diff + `rolled back ${ns} to the dtab of version ${result.restoredVersion}: ${before === undefined ? "" : `version ${before.version} → `}version ${result.version}`);
    });

  verb("diff")
    .description("show how a dtab file differs from a namespace's current dtab (dentry by dentry); exits 0 either way")
    .argument("<namespace>")
    .argument("<file>")
    .option("--json", 'print {"namespace", "version", "equal", "changes": [{"op", "index", "prefix", "dst"}]}')
    .action(async (ns: string, file: string, opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const input = await readFile(file);
      const current = await step(`diff ${ns}`, () => client.find(ns));
      const before = current?.dtab ?? Dtab.empty;
      const changes = diffDtabs(before, input.dtab);
      if (opts.json === true) {
        printJson(io, { namespace: ns, version: current?.version ?? null, equal: changes.length === 0, changes });
        return;
      }
      if (changes.length === 0) {
        print(io, `no differences (${ns} version ${current?.version ?? "?"})`);
        return;
      }
      const from = current === undefined ? `${ns} (does not exist)` : `${ns} version ${current.version}`;
      print(io, formatDiff(before, input.dtab, { from, to: input.source }, diffStyle) + summarize(changes));
    });

  const ctx = { io, clientOf, verb: (parent: Command, name: string) => withConnectionOptions(parent.command(name)) };
  addNameVerbs(program, ctx);
  addRegistryVerbs(program, ctx);

  return program;
}

/** Runs namerctl with `argv` (without node and the script) and returns the exit code; never throws for expected failures. */
export async function main(argv: readonly string[], io: Partial<NamerctlIo> = {}): Promise<ExitCode> {
  const full: NamerctlIo = { ...processIo(), ...io };
  const program = buildNamerctl(full);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version end with exit code 0; anything else commander rejects is a usage error.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof CtlError) {
      full.stderr(`namerctl: ${e.message}\n`);
      if (e instanceof UsageError) full.stderr("(run namerctl --help for usage)\n");
      return e.exitCode;
    }
    throw e;
  }
}
