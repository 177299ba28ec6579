// Loading YAML configs for every meshd process: `${VAR}` / `${VAR:-default}`
// substitution from the environment, strict validation against a schema, and
// errors that name the file, line, column and YAML path of every problem
// (for a Linkerd kind or key meshd lacks: why, and what is supported).
// This is the one place that reads process.env.
import { readFile } from "node:fs/promises";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";
import { CatalogueError, type ErrorCatalogue } from "./errors.ts";
import { linkerdNotes, type LinkerdNotes } from "./schema.ts";

export const CONFIG_ERRORS = {
  CONFIG_ERR_UNREADABLE: { status: 500, description: "The config file cannot be read." },
  CONFIG_ERR_YAML: { status: 500, description: "The config file is not valid YAML." },
  CONFIG_ERR_ENV: { status: 500, description: "A ${VAR} in the config names an environment variable that is not set and has no default." },
  CONFIG_ERR_INVALID: { status: 500, description: "The config does not match the schema: unknown keys, wrong types, values out of range." },
} as const satisfies ErrorCatalogue;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

/** One problem in a config, located by YAML path (`interfaces[0].port`) and, when known, line and column. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export class ConfigError extends CatalogueError<ConfigErrorCode> {
  override readonly name = "ConfigError";
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, file: string, issues: readonly ConfigIssue[], cause?: unknown) {
    super(
      CONFIG_ERRORS,
      code,
      issues
        .map((i) => `${file}${i.line === undefined ? "" : `:${i.line}:${i.column ?? 1}`}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`)
        .join("\n"),
      cause,
    );
    this.file = file;
    this.issues = issues;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A YAML path for people: interfaces[0].writeTokens[1] */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const key of path) {
    if (typeof key === "number") s += `[${key}]`;
    else s += s === "" ? String(key) : `.${String(key)}`;
  }
  return s;
}

const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in one string; `$${` stands for a
 * literal `${`. Returns the names that are unset and have no default.
 */
export function substitute(text: string, env: Env): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(VAR, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === "$${") return "${";
    const set = env[name as string];
    if (set !== undefined && set !== "") return set;
    if (fallback !== undefined) return fallback;
    if (set === undefined) missing.push(name as string);
    return "";
  });
  return { value, missing };
}

interface Located {
  line?: number;
  column?: number;
}

function locate(node: Node | null | undefined, counter: LineCounter): Located {
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = counter.linePos(offset);
  return { line, column: col };
}

/** Substitutes env vars in every string scalar (values only, not keys), collecting unset names with their place. */
function substituteAll(doc: Document, env: Env, counter: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("${")) {
      const { value, missing } = substitute(node.value, env);
      for (const name of missing) {
        issues.push({ path: formatPath(path), message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`, ...locate(node, counter) });
      }
      node.value = value;
    }
  };
  walk(doc.contents, []);
  return issues;
}

/** Edit distance counting a swap of neighbours as one edit ("prot" → "port" is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * "did you mean 'port'?" when an unknown name is a near miss of a known one;
 * for dotted kinds the allowance comes from the last label alone, so
 * io.l5d.dynamic is not a near miss of io.l5d.static.
 */
function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  const significant = key.slice(key.lastIndexOf(".") + 1).length;
  return best !== undefined && best.d <= Math.max(1, Math.floor(significant / 3)) ? ` (did you mean '${best.k}'?)` : "";
}

/** Enough of a zod schema's internals to walk it by a config path. */
interface SchemaNode {
  readonly def?: {
    readonly type?: string;
    readonly innerType?: unknown;
    readonly in?: unknown;
    readonly out?: unknown;
    readonly options?: readonly unknown[];
    readonly discriminator?: string;
    readonly element?: unknown;
    readonly valueType?: unknown;
    readonly values?: readonly unknown[];
    readonly entries?: Readonly<Record<string, unknown>>;
  };
  readonly shape?: Readonly<Record<string, unknown>>;
}

/** Strips optional/default/pipe wrappers down to the schema that checks the value. */
function unwrap(x: unknown): SchemaNode {
  let cur = x as SchemaNode;
  for (let n = 0; n < 10 && cur?.def !== undefined; n++) {
    const t = cur.def.type;
    if (t === "optional" || t === "default" || t === "nullable" || t === "prefault" || t === "readonly" || t === "catch") cur = cur.def.innerType as SchemaNode;
    // A preprocess is transform → schema (take the schema); a .transform() is schema → transform (take the schema).
    else if (t === "pipe") cur = (unwrap(cur.def.out).def?.type === "transform" ? cur.def.in : cur.def.out) as SchemaNode;
    else break;
  }
  return cur;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The `kind` values a schema (an object, or a union of them) accepts. */
function literalKinds(x: unknown): unknown[] {
  const s = unwrap(x);
  if (s.def?.type === "union") return (s.def.options ?? []).flatMap(literalKinds);
  const kind = s.shape?.["kind"] === undefined ? undefined : unwrap(s.shape["kind"]);
  return [...(kind?.def?.values ?? []), ...Object.values(kind?.def?.entries ?? {})];
}

/** Resolves unions by the value they are given (its `kind`, or whether it is a list); optionally stops at a discriminated union. */
function resolve(x: unknown, value: unknown, stopAtDiscriminated: boolean): SchemaNode {
  let s = unwrap(x);
  for (let n = 0; n < 10 && s.def?.type === "union"; n++) {
    if (stopAtDiscriminated && s.def.discriminator !== undefined) return s;
    const options = s.def.options ?? [];
    const typeOf = (o: unknown): string | undefined => resolve(o, value, false).def?.type;
    const written = isRecord(value) ? value["kind"] : undefined;
    const kind = (typeof written === "string" ? notesOf(s)?.aliases?.[written] : undefined) ?? written;
    const next = Array.isArray(value)
      ? options.find((o) => typeOf(o) === "array")
      : isRecord(value)
        ? (options.find((o) => literalKinds(o).includes(kind)) ?? options.find((o) => typeOf(o) === "object"))
        : options[0];
    if (next === undefined) return s;
    s = unwrap(next);
  }
  return s;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let d = data;
  for (const k of path) d = d === null || typeof d !== "object" ? undefined : (d as Record<PropertyKey, unknown>)[k];
  return d;
}

/** The schema that checks the value at `path` (unions resolved by the data, except a discriminated union at the end when `keepUnion`). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[], data: unknown, keepUnion = false): SchemaNode | undefined {
  let s = resolve(schema, data, keepUnion && path.length === 0);
  let d = data;
  for (const [i, key] of path.entries()) {
    d = valueAt(d, [key]);
    let next: unknown;
    if (s.def?.type === "array") next = s.def.element;
    else if (s.def?.type === "record") next = s.def.valueType;
    else if (s.shape !== undefined) next = s.shape[String(key)];
    if (next === undefined) return undefined;
    s = resolve(next, d, keepUnion && i === path.length - 1);
  }
  return s;
}

/** "; supported: a, b" — the alternatives, for every rejected `kind`. */
function supportedList(options: readonly unknown[]): string {
  return options.length === 0 ? "" : `; supported: ${options.map(String).join(", ")}`;
}

/**
 * The message for a `kind` meshd does not accept: the reason when it is a
 * Linkerd kind meshd knows and does not implement, else a near miss, and
 * always the kinds that are supported.
 */
function kindMessage(key: string, value: unknown, options: readonly unknown[], notes: LinkerdNotes | undefined): string {
  if (value === undefined) return `missing '${key}'${supportedList(options)}`;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const reason = notes?.kinds?.[text] ?? notes?.kinds?.[notes.aliases?.[text] ?? ""];
  if (reason !== undefined) return `${text} is not supported (${reason})${supportedList(options)}`;
  const names = [...options.map(String), ...Object.keys(notes?.aliases ?? {})];
  return `unknown ${key} '${text}'${suggestion(text, names)}${supportedList(options)}`;
}

function notesOf(schema: SchemaNode | undefined): LinkerdNotes | undefined {
  return schema === undefined ? undefined : linkerdNotes.get(schema as z.ZodType);
}

function customIssue(path: readonly PropertyKey[], message: string): z.core.$ZodIssue {
  return { code: "custom", path: [...path], message, input: undefined };
}

/**
 * How well a union branch's issues fit the value: 2 when the value is not
 * even of the branch's type, 1 when it is an object of another `kind`, 0 when
 * the branch is the one meant and its issues are the real problems.
 */
function misfit(issues: readonly z.core.$ZodIssue[]): number {
  if (issues.some((i) => i.path.length === 0 && i.code === "invalid_type")) return 2;
  if (issues.some((i) => i.path.length === 1 && i.path[0] === "kind" && i.code === "invalid_value")) return 1;
  return 0;
}

/**
 * Issues with absolute paths, where a failed plain union (zod's bare
 * "Invalid input") becomes the issues of the branch the value was meant for,
 * or, when no branch fits, one issue saying what is accepted there.
 */
function flatten(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[], data: unknown): z.core.$ZodIssue[] {
  return issues.flatMap((issue): z.core.$ZodIssue[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== "invalid_union" || issue.discriminator !== undefined || issue.errors.length === 0) return [{ ...issue, path }];
    const ranked = issue.errors.map((branch) => ({ branch, misfit: misfit(branch) })).sort((a, b) => a.misfit - b.misfit || a.branch.length - b.branch.length);
    const best = ranked[0];
    if (best !== undefined && best.misfit === 0) return flatten(best.branch, path, data);
    const value = valueAt(data, path);
    const kinds = ranked
      .filter((r) => r.misfit === 1)
      .flatMap((r) => r.branch.flatMap((i) => (i.code === "invalid_value" && i.path[0] === "kind" ? i.values : [])));
    if (isRecord(value) && kinds.length > 0) {
      const at = value["kind"] === undefined ? path : [...path, "kind"];
      return [customIssue(at, kindMessage("kind", value["kind"], [...new Set(kinds)], undefined))];
    }
    const expected = new Set(ranked.flatMap((r) => (r.misfit === 1 ? ["object"] : r.branch.flatMap((i) => (i.code === "invalid_type" && i.path.length === 0 ? [i.expected] : [])))));
    return [customIssue(path, `expected ${[...expected].join(" or ")}, got ${describeValue(value)}`)];
  });
}

function issueMessage(issue: z.core.$ZodIssue, schema: z.ZodType, data: unknown): string {
  switch (issue.code) {
    case "invalid_union":
      if (issue.discriminator !== undefined) {
        const options = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]) : [];
        const notes = notesOf(schemaAt(schema, issue.path.slice(0, -1), data, true));
        return kindMessage(issue.discriminator, valueAt(data, issue.path), options, notes);
      }
      return issue.message;
    // zod leaves `input` out of its issues: the value comes from the config as written.
    case "invalid_type":
      return `expected ${issue.expected}, got ${describeValue(valueAt(data, issue.path))}`;
    case "invalid_value":
      if (!issue.message.startsWith("Invalid")) return issue.message;
      if (issue.path.at(-1) === "kind") {
        const notes = notesOf(schemaAt(schema, issue.path.slice(0, -1), data, true));
        return kindMessage("kind", valueAt(data, issue.path), issue.values, notes);
      }
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${describeValue(valueAt(data, issue.path))}`;
    case "too_big":
    case "too_small": {
      // A schema's own message (an empty secret: "is its environment variable set?") says more than the bound.
      if (!issue.message.startsWith("Too ")) return issue.message;
      const limit = issue.code === "too_big" ? issue.maximum : issue.minimum;
      const bound = issue.code === "too_big" ? "at most" : "at least";
      const exclusive = issue.inclusive === false ? (issue.code === "too_big" ? "less than" : "more than") : bound;
      if (issue.origin === "array") return `must have ${bound} ${String(limit)} item${limit === 1 ? "" : "s"}`;
      if (issue.origin === "string") return `must be ${bound} ${String(limit)} character${limit === 1 ? "" : "s"} long`;
      return `must be ${exclusive} ${String(limit)}`;
    }
    default:
      return issue.message;
  }
}

/** Why `key` is not accepted in the object at `path`: Linkerd's reason when meshd knows the key, else a near miss and the keys that are. */
function unknownKeyMessage(schema: z.ZodType, path: readonly PropertyKey[], key: string, data: unknown): string {
  const object = schemaAt(schema, path, data);
  const reason = notesOf(object)?.keys?.[key];
  if (reason !== undefined) return `${key} is not supported (${reason})`;
  const known = Object.keys(object?.shape ?? {});
  return `unknown key${suggestion(key, known)}${known.length === 0 ? "" : `; supported keys: ${known.join(", ")}`}`;
}

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return `${typeof v} ${typeof v === "object" ? "" : String(v)}`.trim();
}

/**
 * Parses YAML `text`, substitutes environment variables and validates it
 * against `schema` (which should use strict objects so unknown keys are
 * errors). Throws a ConfigError listing every problem with its place.
 */
export function parseConfig<S extends z.ZodType>(text: string, schema: S, options: { file?: string; env?: Env } = {}): z.output<S> {
  const file = options.file ?? "<config>";
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      "CONFIG_ERR_YAML",
      file,
      doc.errors.map(
        (e) =>
          ({
            path: "",
            message: (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ""),
            line: e.linePos?.[0].line,
            column: e.linePos?.[0].col,
          }) as ConfigIssue,
      ),
    );
  }
  const envIssues = substituteAll(doc, options.env ?? process.env, counter);
  if (envIssues.length > 0) throw new ConfigError("CONFIG_ERR_ENV", file, envIssues);
  const data: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = flatten(result.error.issues, [], data).flatMap((issue): ConfigIssue[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        const node = doc.getIn(path, true) as Node | undefined;
        const pair = (doc.getIn(issue.path, true) as { items?: { key?: Node & { value?: unknown } }[] } | undefined)?.items?.find(
          (p) => isScalar(p.key) && String(p.key.value) === key,
        );
        return { path: formatPath(path), message: unknownKeyMessage(schema, issue.path, key, data), ...locate(pair?.key ?? node, counter) };
      });
    }
    const node = doc.getIn(issue.path, true) as Node | undefined;
    // A missing key has no node of its own: point at the object that lacks it.
    const at = node ?? (doc.getIn(issue.path.slice(0, -1), true) as Node | undefined);
    return [{ path: formatPath(issue.path), message: issueMessage(issue, schema, data), ...locate(at, counter) }];
  });
  throw new ConfigError("CONFIG_ERR_INVALID", file, issues);
}

/**
 * The top-level keys of a YAML config, without validating it (empty when it is
 * not a mapping or not YAML at all: parseConfig then says what is wrong).
 */
export function topLevelKeys(text: string): string[] {
  const doc = parseDocument(text);
  return isMap(doc.contents) ? doc.contents.items.flatMap((pair) => (isScalar(pair.key) ? [String(pair.key.value)] : [])) : [];
}

/** A config file's text; CONFIG_ERR_UNREADABLE when it cannot be read. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError("CONFIG_ERR_UNREADABLE", file, [{ path: "", message: `cannot read the config: ${(e as Error).message}` }], e);
  }
}

/** Reads and validates a config file (see parseConfig). */
export async function loadConfig<S extends z.ZodType>(file: string, schema: S, options: { env?: Env } = {}): Promise<z.output<S>> {
  return parseConfig(await readConfigText(file), schema, { file, ...options });
}
