// Loading YAML configs for every meshd process: `${VAR}` / `${VAR:-default}`
// substitution from the environment, strict validation against a schema, and
// errors that name the file, line, column and YAML path of every problem.
// This is the one place that reads process.env.
import { readFile } from "node:fs/promises";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";

export const CONFIG_ERRORS = {
  CONFIG_ERR_UNREADABLE: { status: 500, description: "The config file cannot be read." },
  CONFIG_ERR_YAML: { status: 500, description: "The config file is not valid YAML." },
  CONFIG_ERR_ENV: { status: 500, description: "A ${VAR} in the config names an environment variable that is not set and has no default." },
  CONFIG_ERR_INVALID: { status: 500, description: "The config does not match the schema: unknown keys, wrong types, values out of range." },
} as const satisfies Record<string, { readonly status: number; readonly description: string }>;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

/** One problem in a config, located by YAML path (`interfaces[0].port`) and, when known, line and column. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, file: string, issues: readonly ConfigIssue[], cause?: unknown) {
    super(
      issues
        .map((i) => `${file}${i.line === undefined ? "" : `:${i.line}:${i.column ?? 1}`}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`)
        .join("\n"),
      cause === undefined ? undefined : { cause },
    );
    this.code = code;
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

/** "did you mean 'port'?" when an unknown key is a near miss of a known one. */
function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return best !== undefined && best.d <= Math.max(1, Math.floor(key.length / 3)) ? ` (did you mean '${best.k}'?)` : "";
}

/** The keys a strict object schema at `path` accepts, for suggestions. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[], data: unknown): string[] {
  let s: unknown = schema;
  let d: unknown = data;
  const unwrap = (x: unknown): unknown => {
    let cur = x as { def?: { type?: string; innerType?: unknown; in?: unknown; out?: unknown; options?: unknown[]; shape?: unknown } };
    for (let n = 0; n < 10 && cur?.def !== undefined; n++) {
      const t = cur.def.type;
      if (t === "optional" || t === "default" || t === "nullable" || t === "prefault" || t === "readonly") cur = cur.def.innerType as typeof cur;
      else if (t === "pipe") cur = (cur.def.out as { def?: { type?: string } })?.def?.type === "transform" ? (cur.def.in as typeof cur) : (cur.def.out as typeof cur);
      else break;
    }
    return cur;
  };
  const pick = (x: unknown, value: unknown): unknown => {
    const u = unwrap(x) as { def?: { type?: string; options?: unknown[]; discriminator?: string } };
    if (u?.def?.type === "union" && Array.isArray(u.def.options)) {
      const kind = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["kind"] : undefined;
      for (const o of u.def.options) {
        const shape = (unwrap(o) as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape;
        const lit = shape?.["kind"]?.def?.values;
        if (Array.isArray(lit) && lit.includes(kind)) return unwrap(o);
      }
      return unwrap(u.def.options.find((o) => (unwrap(o) as { shape?: unknown }).shape !== undefined));
    }
    return u;
  };
  s = pick(s, d);
  for (const key of path) {
    const u = s as { shape?: Record<string, unknown>; def?: { type?: string; element?: unknown; valueType?: unknown } };
    d = d === null || d === undefined ? undefined : (d as Record<PropertyKey, unknown>)[key];
    if (typeof key === "number" && u.def?.type === "array") s = pick(u.def.element, d);
    else if (u.def?.type === "record") s = pick(u.def.valueType, d);
    else if (u.shape !== undefined) s = pick(u.shape[String(key)], d);
    else return [];
  }
  const shape = (s as { shape?: Record<string, unknown> })?.shape;
  return shape === undefined ? [] : Object.keys(shape);
}

function issueMessage(issue: z.core.$ZodIssue, data: unknown): string {
  switch (issue.code) {
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator !== undefined) {
        const options = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).map(String) : [];
        let value: unknown = data;
        for (const k of issue.path) value = value === null || value === undefined ? undefined : (value as Record<PropertyKey, unknown>)[k];
        return value === undefined
          ? `missing '${issue.discriminator}' (one of: ${options.join(", ")})`
          : `unknown ${issue.discriminator} '${String(value)}' (expected one of: ${options.join(", ")})`;
      }
      return issue.message;
    case "invalid_type":
      return `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return issue.message.startsWith("Invalid input")
        ? `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${describeValue(issue.input)}`
        : issue.message;
    case "too_big":
    case "too_small": {
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
  const issues = result.error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(schema, issue.path, data);
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        const node = doc.getIn(path, true) as Node | undefined;
        const pair = (doc.getIn(issue.path, true) as { items?: { key?: Node & { value?: unknown } }[] } | undefined)?.items?.find(
          (p) => isScalar(p.key) && String(p.key.value) === key,
        );
        return { path: formatPath(path), message: `unknown key${suggestion(key, known)}`, ...locate(pair?.key ?? node, counter) };
      });
    }
    const node = doc.getIn(issue.path, true) as Node | undefined;
    // A missing key has no node of its own: point at the object that lacks it.
    const at = node ?? (doc.getIn(issue.path.slice(0, -1), true) as Node | undefined);
    return [{ path: formatPath(issue.path), message: issueMessage(issue, data), ...locate(at, counter) }];
  });
  throw new ConfigError("CONFIG_ERR_INVALID", file, issues);
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
