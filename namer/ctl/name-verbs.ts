// `namerctl bind`, `resolve` and `delegate`: what a path names right now (or
// as it changes, with --watch), through a namespace's dtab and an optional
// local dtab, drawn for people or printed as the namer's JSON.
import type { Command } from "commander";
import { formatDelegateTree } from "../../dtab/explain.ts";
import type { NamerClient } from "./client.ts";
import type { ApiError } from "./errors.ts";
import { explain, print, printJson, printWatch, step } from "./output.ts";
import { formatAddrSet, formatBindTree } from "./tree.ts";
import { interruptOf, type VerbContext } from "./verb.ts";

interface NameOptions {
  readonly dtab?: string;
  readonly watch?: boolean;
  readonly json?: boolean;
}

/** `text` with a caret under `offset`, as compilers point at a column. */
function pointAt(text: string, offset: number): string {
  return `\n  ${text}\n  ${" ".repeat(Math.max(0, Math.min(offset, text.length)))}^`;
}

/**
 * The namer's answer to a name request in an operator's words: its own
 * message for what was typed wrong, with a caret under the offset it names.
 */
export function nameWords(inputs: { readonly path: string; readonly dtab?: string | undefined }): (e: ApiError) => string {
  return (e) => {
    const offset = typeof e.details["offset"] === "number" ? e.details["offset"] : undefined;
    if (e.code === "NAMER_ERR_INVALID_PATH") return e.message + (offset === undefined ? "" : pointAt(inputs.path, offset));
    if (e.code === "NAMER_ERR_INVALID_DTAB") return e.message + (offset === undefined || inputs.dtab === undefined ? "" : pointAt(inputs.dtab, offset));
    if (e.code === "NAMER_ERR_NO_ROUTE") return `this namer does not serve the name API (${e.serverMessage}): does --namer point at a meshd namer?`;
    if (e.code === "NAMER_ERR_BINDING_FAILED") return `cannot bind: ${e.message}`;
    if (e.code === "NAMER_ERR_NAME_PENDING") return `${e.message}\nhint: discovery is slow to answer; --watch waits for it`;
    if (e.status === 400) return e.message;
    return explain(e);
  };
}

/** After a one-shot answer of "neg": say so when the namespace does not exist, the likeliest reason. */
async function noteMissingNamespace(ctx: VerbContext, client: NamerClient, ns: string): Promise<void> {
  const found = await client.find(ns).catch(() => null);
  if (found === undefined) ctx.io.stderr(`namerctl: note: namespace ${ns} does not exist, so it binds as an empty dtab\n`);
}

export function addNameVerbs(program: Command, ctx: VerbContext): void {
  const { io, verb, clientOf } = ctx;
  const nameVerb = (name: string, description: string): Command =>
    verb(program, name)
      .description(description)
      .argument("<namespace>", "the namespace whose dtab names are bound through (one that does not exist binds as an empty dtab)")
      .argument("<path>", "the logical path, e.g. /svc/users")
      .option("--dtab <dtab>", "a local dtab appended to the namespace's, as a request's l5d-dtab would be, e.g. '/svc/users=>/srv/users-v2'");

  nameVerb("bind", "bind a path to its bound tree: weights, bound ids, residuals and every address with its meta")
    .option("--watch", "print the tree again at every change, until interrupted")
    .option("--json", "print namerd's bind JSON (with --watch, one document a line)")
    .action(async (ns: string, path: string, opts: NameOptions, cmd: Command) => {
      const client = clientOf(cmd);
      const what = `bind ${path} in ${ns}`;
      const words = nameWords({ path, dtab: opts.dtab });
      if (opts.watch === true) {
        const signal = interruptOf(io);
        await step(what, () => printWatch(io, client.watchBind(ns, path, opts.dtab, signal), { json: opts.json === true, render: formatBindTree }), words);
        return;
      }
      const tree = await step(what, () => client.bind(ns, path, opts.dtab), words);
      if (opts.json === true) printJson(io, tree);
      else print(io, formatBindTree(tree));
      if (tree.type === "neg") await noteMissingNamespace(ctx, client, ns);
    });

  nameVerb("resolve", "resolve a path to the address set a router would use: one address a line with its meta")
    .option("--watch", "print the addresses again at every change, until interrupted")
    .option("--json", 'print namerd\'s address JSON {"type": "bound", "addrs": [{"ip", "port", "meta"}]} (with --watch, one document a line)')
    .action(async (ns: string, path: string, opts: NameOptions, cmd: Command) => {
      const client = clientOf(cmd);
      const what = `resolve ${path} in ${ns}`;
      const words = nameWords({ path, dtab: opts.dtab });
      if (opts.watch === true) {
        const signal = interruptOf(io);
        await step(what, () => printWatch(io, client.watchResolve(ns, path, opts.dtab, signal), { json: opts.json === true, render: formatAddrSet }), words);
        return;
      }
      const addr = await step(what, () => client.resolve(ns, path, opts.dtab), words);
      if (opts.json === true) printJson(io, addr);
      else print(io, formatAddrSet(addr));
      if (addr.type === "neg") await noteMissingNamespace(ctx, client, ns);
    });

  nameVerb("delegate", "explain how a path resolves, step by step: every dentry tried, every branch expanded (namespace - for the --dtab alone)")
    .option("--json", "print namerd's delegator JSON")
    .action(async (nsArg: string, path: string, opts: NameOptions, cmd: Command) => {
      const client = clientOf(cmd);
      const ns = nsArg === "-" ? undefined : nsArg;
      const tree = await step(`delegate ${path}${ns === undefined ? "" : ` in ${ns}`}`, () => client.delegate(ns, path, opts.dtab), nameWords({ path, dtab: opts.dtab }));
      if (opts.json === true) printJson(io, tree);
      else print(io, formatDelegateTree(tree));
      if (tree.type === "neg" && ns !== undefined) await noteMissingNamespace(ctx, client, ns);
    });
}
