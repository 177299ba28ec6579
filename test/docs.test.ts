// The operator docs cannot drift from the code: docs/configuration.md
// documents every key and `kind` the config schemas accept (and nothing
// they no longer accept, with the defaults they really have), the
// migration guide names every Linkerd kind and key meshd rejects, every
// relative link in docs/ and README.md resolves, and every meshd / namerctl
// command line the docs show names real subcommands and options.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { linkerdNotes, type LinkerdNotes } from "../lib/schema.ts";
import { namerConfigSchema } from "../namer/config.ts";
import { buildNamerctl } from "../namer/ctl/index.ts";
import { namerPluginSchema } from "../namer/namers/config.ts";
import { loadBalancerConfig } from "../router/balancer/config.ts";
import { routerConfigSchema } from "../router/config.ts";
import { backoffConfig, failureAccrualConfig, responseClassifierConfig, retriesConfig, retryBudgetConfig } from "../router/policy/config.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const read = (file: string): string => readFileSync(join(root, file), "utf8");
/** A doc's text, or "" when it is missing (the tests then list everything it should say). */
const readDoc = (file: string): string => (existsSync(join(root, file)) ? read(file) : "");

// ---------------------------------------------------------------------------
// Walking the zod 4 schemas into key paths.
//
// Conventions (docs/configuration.md explains them to readers too):
//   a.b            key b of the object at a
//   a[]            the elements of the list at a
//   a[k]           the object at a (or each element of the list at a) whose
//                  `kind` is k; its other keys follow as a[k].key
//   a.*            the values of a map
// A schema in SHARED_BLOCKS is documented once under its own name (e.g.
// `backoff[constant].ms`); where it is used, only the key that holds it is.
// ---------------------------------------------------------------------------

interface Def {
  readonly type: string;
  readonly innerType?: unknown;
  readonly defaultValue?: unknown;
  readonly in?: unknown;
  readonly out?: unknown;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly element?: unknown;
  readonly valueType?: unknown;
  readonly options?: readonly unknown[];
  readonly values?: readonly unknown[];
  readonly entries?: Readonly<Record<string, unknown>>;
}

const defOf = (x: unknown): Def => (x as { def: Def }).def;

interface KeyInfo {
  readonly path: string;
  /** The default, when it is a plain value (string, number, boolean). */
  readonly default?: string | number | boolean;
}

interface Walk {
  readonly keys: Map<string, KeyInfo>;
  /** Canonical `kind` values accepted. */
  readonly kinds: Set<string>;
  /** Shared blocks used (by name). */
  readonly blocksMet: Set<string>;
  /** What the schemas note about Linkerd: kind aliases, rejected kinds and keys. */
  readonly notes: LinkerdNotes[];
}

interface Unwrapped {
  readonly schema: unknown;
  readonly default?: unknown;
  /** Every schema passed on the way, wrappers included (shared blocks and notes are found by identity). */
  readonly seen: readonly unknown[];
}

/** Strips optional/default/pipe wrappers down to the schema that checks the value. */
function unwrap(x: unknown): Unwrapped {
  let cur = x;
  let dflt: unknown;
  let hasDefault = false;
  const seen: unknown[] = [cur];
  for (let n = 0; n < 20; n++) {
    const d = defOf(cur);
    if (["optional", "nullable", "readonly", "catch", "nonoptional"].includes(d.type)) cur = d.innerType;
    else if (d.type === "default" || d.type === "prefault") {
      if (!hasDefault && d.type === "default") {
        dflt = d.defaultValue;
        hasDefault = true;
      }
      cur = d.innerType;
    } else if (d.type === "pipe") {
      // z.preprocess(fn, schema) is transform → schema; schema.transform(fn) is schema → transform.
      cur = defOf(d.out).type === "transform" ? d.in : d.out;
    } else break;
    seen.push(cur);
  }
  return { schema: cur, ...(hasDefault ? { default: dflt } : {}), seen };
}

/** The literal `kind` of an object schema, if it has one. */
function kindOf(object: unknown): string | undefined {
  const d = defOf(object);
  if (d.type !== "object" || d.shape?.["kind"] === undefined) return undefined;
  const k = defOf(unwrap(d.shape["kind"]).schema);
  return k.type === "literal" && typeof k.values?.[0] === "string" ? k.values[0] : undefined;
}

/** Values of this schema are objects told apart by a literal `kind`. */
function isKinded(x: unknown): boolean {
  const s = unwrap(x).schema;
  const d = defOf(s);
  if (d.type === "union") return (d.options ?? []).every((o) => isKinded(o));
  return kindOf(s) !== undefined;
}

function walkSchema(rootSchema: unknown, rootPath: string, blocks: ReadonlyMap<unknown, string>): Walk {
  const keys = new Map<string, KeyInfo>();
  const kinds = new Set<string>();
  const blocksMet = new Set<string>();
  const notes: LinkerdNotes[] = [];

  const noteAll = (seen: readonly unknown[]): void => {
    for (const s of seen) {
      const n = linkerdNotes.get(s as Parameters<typeof linkerdNotes.get>[0]);
      if (n !== undefined) notes.push(n);
    }
  };

  const add = (path: string, schema: unknown): void => {
    const u = unwrap(schema);
    const d = u.default;
    if (!keys.has(path)) keys.set(path, { path, ...(typeof d === "string" || typeof d === "number" || typeof d === "boolean" ? { default: d } : {}) });
  };

  const walk = (schema: unknown, path: string, isRoot: boolean): void => {
    const u = unwrap(schema);
    if (!isRoot) {
      const block = u.seen.map((s) => blocks.get(s)).find((b) => b !== undefined);
      if (block !== undefined) {
        blocksMet.add(block);
        return;
      }
    }
    noteAll(u.seen);
    const d = defOf(u.schema);
    switch (d.type) {
      case "union":
        for (const o of d.options ?? []) walk(o, path, isRoot);
        return;
      case "array":
        walk(d.element, isKinded(d.element) ? path : `${path}[]`, false);
        return;
      case "record":
        walk(d.valueType, `${path}.*`, false);
        return;
      case "object": {
        const kind = kindOf(u.schema);
        const here = kind === undefined ? path : `${path}[${kind}]`;
        if (kind !== undefined) kinds.add(kind);
        const shape = d.shape ?? {};
        const names = Object.keys(shape).filter((k) => k !== "kind" || kind === undefined);
        // A kind with nothing to configure is documented as a[k] itself.
        if (names.length === 0 && kind !== undefined) add(here, u.schema);
        for (const k of names) {
          const child = here === "" ? k : `${here}.${k}`;
          add(child, shape[k]);
          if (k === "kind") {
            const kd = defOf(unwrap(shape[k]).schema);
            if (kd.type === "enum") for (const v of Object.values(kd.entries ?? {})) kinds.add(String(v));
          }
          walk(shape[k], child, false);
        }
        return;
      }
      default:
        return;
    }
  };
  walk(rootSchema, rootPath, true);
  return { keys, kinds, blocksMet, notes };
}

/** Schemas used in several places, documented once under "Shared blocks" with these root names. */
const SHARED_BLOCKS = new Map<unknown, string>([
  [namerPluginSchema, "namers"],
  [retriesConfig, "retries"],
  [retryBudgetConfig, "retryBudget"],
  [backoffConfig, "backoff"],
  [responseClassifierConfig, "responseClassifier"],
  [failureAccrualConfig, "failureAccrual"],
  [loadBalancerConfig, "loadBalancer"],
]);

/** The H2 sections of docs/configuration.md that hold key tables, and what each documents. */
const SCOPES = {
  router: { heading: "Router config", walk: () => walkSchema(routerConfigSchema, "", SHARED_BLOCKS) },
  namer: { heading: "Namer config", walk: () => walkSchema(namerConfigSchema, "", SHARED_BLOCKS) },
  shared: {
    heading: "Shared blocks",
    walk: (): Walk => {
      const all: Walk = { keys: new Map(), kinds: new Set(), blocksMet: new Set(), notes: [] };
      for (const [schema, name] of SHARED_BLOCKS) {
        const w = walkSchema(schema, name, SHARED_BLOCKS);
        for (const [k, v] of w.keys) all.keys.set(k, v);
        for (const k of w.kinds) all.kinds.add(k);
        for (const b of w.blocksMet) all.blocksMet.add(b);
        all.notes.push(...w.notes);
      }
      return all;
    },
  },
} as const;

// ---------------------------------------------------------------------------
// Reading the key tables of docs/configuration.md.
// ---------------------------------------------------------------------------

/** `a[x,y].b` → a[x].b, a[y].b (one table row may document the same key of several kinds). */
function expandKey(key: string): string[] {
  const m = /\[([^\]]*,[^\]]*)\]/.exec(key);
  if (m === null) return [key];
  return (m[1] as string).split(",").flatMap((alt) => expandKey(`${key.slice(0, m.index)}[${alt.trim()}]${key.slice(m.index + m[0].length)}`));
}

interface DocRow {
  readonly keys: readonly string[];
  readonly defaultCell: string;
  readonly line: number;
}

/** Table rows of tables whose header starts with `| key |`, by H2 section. */
function keyRows(markdown: string): Map<string, DocRow[]> {
  const sections = new Map<string, DocRow[]>();
  let section = "";
  let inKeyTable = false;
  let defaultColumn = -1;
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, "")
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  markdown.split("\n").forEach((line, i) => {
    if (line.startsWith("## ")) {
      section = line.slice(3).trim();
      inKeyTable = false;
      return;
    }
    if (!line.trim().startsWith("|")) {
      inKeyTable = false;
      return;
    }
    const row = cells(line);
    if (!inKeyTable) {
      if (row[0]?.toLowerCase() === "key") {
        inKeyTable = true;
        defaultColumn = row.findIndex((c) => c.toLowerCase() === "default");
      }
      return;
    }
    if (/^:?-+:?$/.test(row[0] ?? "")) return;
    const keys = [...(row[0] ?? "").matchAll(/`([^`]+)`/g)].flatMap((m) => expandKey(m[1] as string));
    const list = sections.get(section) ?? [];
    list.push({ keys, defaultCell: defaultColumn < 0 ? "" : (row[defaultColumn] ?? ""), line: i + 1 });
    sections.set(section, list);
  });
  return sections;
}

/** How a default must appear in the default cell: `4140`, `Host`, `""`. */
function shownDefault(value: string | number | boolean): string {
  return value === "" ? '`""`' : `\`${String(value)}\``;
}

describe("docs/configuration.md", () => {
  const doc = readDoc("docs/configuration.md");
  const rows = keyRows(doc);

  for (const [scope, { heading, walk }] of Object.entries(SCOPES)) {
    describe(`${heading} (${scope})`, () => {
      const w = walk();
      const documented = rows.get(heading) ?? [];
      const byKey = new Map(documented.flatMap((r) => r.keys.map((k) => [k, r] as const)));

      it("documents every key the schema accepts", () => {
        const missing = [...w.keys.keys()].filter((k) => !byKey.has(k));
        expect(missing, `keys missing from the "${heading}" section of docs/configuration.md`).toEqual([]);
      });

      it("documents no key the schema does not accept", () => {
        const stale = [...byKey.keys()].filter((k) => !w.keys.has(k));
        expect(stale, `keys in the "${heading}" section of docs/configuration.md that the schema does not have`).toEqual([]);
      });

      it("gives each plain default as the schema has it", () => {
        const wrong = [...w.keys.values()].flatMap((k) => {
          const row = byKey.get(k.path);
          if (row === undefined || k.default === undefined) return [];
          return row.defaultCell.includes(shownDefault(k.default)) ? [] : [`${k.path}: schema default ${shownDefault(k.default)}, docs line ${row.line} say "${row.defaultCell}"`];
        });
        expect(wrong).toEqual([]);
      });
    });
  }

  it("has no key table outside the router, namer and shared sections", () => {
    const known = new Set<string>(Object.values(SCOPES).map((s) => s.heading));
    expect([...rows.keys()].filter((s) => !known.has(s))).toEqual([]);
  });

  it("uses every shared block somewhere", () => {
    const met = new Set(Object.values(SCOPES).flatMap((s) => [...s.walk().blocksMet]));
    expect([...SHARED_BLOCKS.values()].filter((b) => !met.has(b))).toEqual([]);
  });

  it("names every accepted `kind` value and alias", () => {
    const walks = Object.values(SCOPES).map((s) => s.walk());
    const kinds = new Set(walks.flatMap((w) => [...w.kinds, ...w.notes.flatMap((n) => Object.keys(n.aliases ?? {}))]));
    expect(kinds.size).toBeGreaterThan(20);
    const missing = [...kinds].filter((k) => !doc.includes(`\`${k}\``));
    expect(missing, "kinds and aliases not mentioned (in backticks) in docs/configuration.md").toEqual([]);
  });
});

describe("docs/migrating-from-linkerd1.md", () => {
  const doc = readDoc("docs/migrating-from-linkerd1.md");
  const walks = Object.values(SCOPES).map((s) => s.walk());

  it("names every Linkerd kind meshd rejects", () => {
    const rejected = new Set(walks.flatMap((w) => w.notes.flatMap((n) => Object.keys(n.kinds ?? {}))));
    expect(rejected.size).toBeGreaterThan(10);
    expect([...rejected].filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });

  it("names every Linkerd key meshd rejects", () => {
    const rejected = new Set(walks.flatMap((w) => w.notes.flatMap((n) => Object.keys(n.keys ?? {}))));
    expect(rejected.size).toBeGreaterThan(5);
    expect([...rejected].filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Links and command lines in docs/*.md and README.md.
// ---------------------------------------------------------------------------

const markdownFiles = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe("links", () => {
  it("every relative link in docs/*.md and README.md points to an existing file", () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      const text = read(file).replace(/```[\s\S]*?```/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
        const path = target.replace(/#.*$/, "");
        if (!existsSync(resolve(root, dirname(file), path))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the docs index lists every page in docs/", () => {
    const index = readDoc("docs/README.md");
    const pages = markdownFiles.filter((f) => f.startsWith("docs/") && f !== "docs/README.md").map((f) => f.slice("docs/".length));
    expect(pages.filter((p) => !index.includes(`](${p})`))).toEqual([]);
  });
});

interface Help {
  /** Subcommand names and aliases → the subcommand's name. */
  readonly commands: Map<string, string>;
  readonly options: Set<string>;
}

/** What `--help` lists: the subcommands (with aliases) and the options. */
function parseHelp(text: string): Help {
  const commands = new Map<string, string>();
  const options = new Set<string>();
  let part = "";
  for (const line of text.split("\n")) {
    if (/^\S.*:$/.test(line)) part = line;
    else if (/^ {2}\S/.test(line)) {
      const first = line.trim().split(/\s{2,}/)[0] ?? "";
      if (part === "Commands:") {
        const names = (first.split(/\s/)[0] ?? "").split("|");
        if (names[0] !== "help") for (const name of names) commands.set(name, names[0] as string);
      }
      if (part === "Options:") for (const m of first.matchAll(/--?[A-Za-z][\w-]*/g)) options.add(m[0]);
    }
  }
  return { commands, options };
}

const execFileAsync = promisify(execFile);

/**
 * Every command of a real CLI process and what its `--help` lists, keyed by
 * the words that reach it ("", "dtab", "dtab check"). Run as processes, in
 * parallel, one level at a time.
 */
async function cliModel(cli: "meshd" | "namerctl"): Promise<Map<string, Help>> {
  const model = new Map<string, Help>();
  let level: string[][] = [[]];
  while (level.length > 0) {
    const helps = await Promise.all(
      level.map(async (args) => {
        const { stdout } = await execFileAsync(process.execPath, [join(root, "cli", `${cli}.ts`), ...args, "--help"], { cwd: root, encoding: "utf8", env: { ...process.env, COLUMNS: "400" } });
        return [args, parseHelp(stdout)] as const;
      }),
    );
    level = [];
    for (const [args, help] of helps) {
      model.set(args.join(" "), help);
      for (const c of new Set(help.commands.values())) level.push([...args, c]);
    }
  }
  return model;
}

/** The code in a markdown text: inline spans and the lines of shell-ish fenced blocks. */
function codeSnippets(markdown: string): string[] {
  const out: string[] = [];
  const fence = /```(\w*)\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(fence)) {
    if (["", "sh", "bash", "shell", "console", "text"].includes(m[1] as string)) out.push(...(m[2] as string).split("\n"));
  }
  for (const m of markdown.replace(fence, "").matchAll(/`([^`\n]+)`/g)) out.push((m[1] as string).replace(/\\\|/g, "|"));
  return out;
}

/** meshd / namerctl invocations in a snippet: the words after the command name, up to the end of that command. */
function invocations(snippet: string): { cli: "meshd" | "namerctl"; words: string[] }[] {
  const found: { cli: "meshd" | "namerctl"; words: string[] }[] = [];
  const noComment = snippet.replace(/(^|\s)#.*$/, "");
  for (const command of noComment.split(/\s(?:&&|\|\||;|\|)\s|\$\(|`/)) {
    const words = command.trim().replace(/^\$\s+/, "").split(/\s+/);
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) words.shift();
    if (words[0] === "npx") words.shift();
    const cli = words[0];
    if (cli === "meshd" || cli === "namerctl") found.push({ cli, words: words.slice(1) });
  }
  return found;
}

/** Options that take a value, so the word after them is not a subcommand. */
const GLOBAL_VALUE_OPTIONS = new Set(["--namer", "--token", "--timeout"]);

/** The same model as cliModel, from a commander program. */
function commandModel(program: Command): Map<string, Help> {
  const model = new Map<string, Help>();
  const visit = (cmd: Command, key: string): void => {
    const commands = new Map<string, string>();
    for (const sub of cmd.commands) for (const name of [sub.name(), ...sub.aliases()]) commands.set(name, sub.name());
    const options = new Set(["-h", "--help"]);
    for (const o of cmd.options) for (const flag of [o.long, o.short]) if (flag !== undefined) options.add(flag);
    model.set(key, { commands, options });
    for (const sub of cmd.commands) visit(sub, `${key} ${sub.name()}`.trim());
  };
  visit(program, "");
  return model;
}

/** A word of a documented command line that stands for something (NS, <file>, …), not a subcommand. */
const isPlaceholder = (word: string): boolean => /^[A-Z<….$"'/-]/.test(word) || word.includes(":") || word.includes("=");

describe("command lines in the docs", () => {
  const models = new Map<string, Map<string, Help>>();
  beforeAll(async () => {
    // namerctl's program is built in-process; cli/meshd.ts runs itself when imported, so meshd is asked as a process.
    models.set("namerctl", commandModel(buildNamerctl({ env: {}, stdout: () => {}, stderr: () => {} })));
    models.set("meshd", await cliModel("meshd"));
  }, 60_000);

  it("name only subcommands and options the real CLIs have", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of markdownFiles) {
      for (const snippet of codeSnippets(read(file))) {
        for (const { cli, words } of invocations(snippet)) {
          const model = models.get(cli) as Map<string, Help>;
          const shown = `${file}: \`${cli} ${words.join(" ")}\``;
          // Follow the subcommands as far as the words name them; `a|b` names several.
          let at = [""];
          const options = words.map((w) => w.replace(/^\[|\]$/g, "")).filter((w) => w.startsWith("-"));
          for (let i = 0; i < words.length; i++) {
            const word = (words[i] as string).replace(/^\[|\]$/g, "");
            if (word.startsWith("-")) {
              if (GLOBAL_VALUE_OPTIONS.has(word)) i++;
              continue;
            }
            const help = model.get(at[0] as string) as Help;
            if (help.commands.size === 0 || word === "" || isPlaceholder(word)) break;
            const names = word.split("|").map((w) => w.replace(/…$/, "")).filter((w) => w !== "");
            const unknown = names.filter((n) => !help.commands.has(n));
            if (unknown.length > 0) {
              problems.push(`${shown}: no command ${unknown.join(", ")} under \`${[cli, at[0]].join(" ").trim()}\``);
              break;
            }
            checked++;
            at = names.map((n) => [at[0], help.commands.get(n)].join(" ").trim());
            if (at.length > 1) break;
          }
          if (at.length > 1) continue;
          // Every option shown must be one this command or one above it takes.
          const known = new Set<string>();
          const parts = (at[0] as string).split(" ").filter((p) => p !== "");
          for (let n = 0; n <= parts.length; n++) for (const o of model.get(parts.slice(0, n).join(" "))?.options ?? []) known.add(o);
          for (const o of options) {
            const name = /^--?[A-Za-z][\w-]*/.exec(o)?.[0];
            if (name !== undefined && !known.has(name)) problems.push(`${shown}: \`${[cli, at[0]].join(" ").trim()}\` has no option ${name}`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });
});
