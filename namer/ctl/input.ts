// Dtab files as operators hand them to namerctl: dtab text (what `get`
// prints, comments and a `# version N` header allowed) or JSON (a list of
// {prefix, dst}, or the {version, dtab} object `get --json` writes). Parse
// errors name file:line:column and show the line; versions found in a file
// feed the If-Match rules below.
import { readFile } from "node:fs/promises";
import { Dtab, DtabError } from "../../dtab/index.ts";
import { InputError } from "./errors.ts";

/** A parsed dtab file. */
export interface DtabInput {
  readonly dtab: Dtab;
  /** The version the file says it was read at (JSON "version", or a `# version N` header comment). */
  readonly version?: string;
  /** How messages name the file: its path, or "<stdin>". */
  readonly source: string;
}

/** meshd versions are decimal strings; anything else would only ever fail If-Match. */
export const VERSION = /^[1-9][0-9]{0,15}$/;

/** Reads FILE, or standard input for "-". */
export async function readSource(file: string, stdin: () => Promise<string> = readStdin): Promise<{ text: string; source: string }> {
  if (file === "-") return { text: await stdin(), source: "<stdin>" };
  try {
    return { text: await readFile(file, "utf8"), source: file };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new InputError(`cannot read ${file}: ${why}`, { cause: e });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** 1-based line and column of a UTF-16 offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/** `file:line:column: what`, then the line and a caret under the column, as compilers print it. */
export function locate(text: string, source: string, offset: number, what: string): string {
  const { line, column } = lineAndColumn(text, offset);
  const lineText = text.split("\n")[line - 1] ?? "";
  // Tabs stay tabs under the caret so it lines up in a terminal.
  const pad = lineText.slice(0, column - 1).replace(/[^\t]/g, " ");
  return `${source}:${line}:${column}: ${what}\n  ${lineText}\n  ${pad}^`;
}

/** What went wrong, without the offset and excerpt that `locate` shows better. */
function whatOf(e: DtabError): string {
  return e.expected !== undefined && e.found !== undefined ? `expected ${e.expected} but found ${e.found}` : e.message;
}

/** The version in a `# version N` comment among the comments and blank lines before the first dentry. */
export function headerVersion(text: string): string | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) return undefined;
    const m = /^#\s*version\s+(\S+)\s*$/i.exec(line);
    if (m !== null) return m[1];
  }
  return undefined;
}

function versionField(value: unknown, source: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const version = typeof value === "number" ? String(value) : value;
  if (typeof version !== "string" || !VERSION.test(version)) {
    throw new InputError(`${source}: "version" must be a version as \`namerctl dtab get --json\` writes it (e.g. "3"), got ${JSON.stringify(value)}`);
  }
  return version;
}

function parseJson(text: string, source: string): DtabInput {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const what = `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, "")}`;
    throw new InputError(position === undefined ? `${source}: ${what}` : locate(text, source, Number(position), what), { cause: e });
  }
  let list: unknown = value;
  let version: string | undefined;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if (!("dtab" in value)) throw new InputError(`${source}: a JSON dtab is a list of {"prefix", "dst"} objects, or an object with "dtab" (and "version") as \`namerctl dtab get --json\` writes`);
    list = (value as { dtab: unknown }).dtab;
    version = versionField((value as { version?: unknown }).version, source);
  }
  try {
    return { dtab: Dtab.fromJSON(list), source, ...(version === undefined ? {} : { version }) };
  } catch (e) {
    if (e instanceof DtabError) throw new InputError(`${source}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Parses a dtab file's text; JSON when it starts with `[` or `{`, dtab text otherwise. */
export function parseDtabInput(text: string, source: string): DtabInput {
  const body = text.replace(/^\uFEFF/, "");
  if (/^\s*[[{]/.test(body)) return parseJson(body, source);
  try {
    const version = headerVersion(body);
    if (version !== undefined && !VERSION.test(version)) throw new InputError(`${source}: the "# version" header must hold a version such as 3, got ${JSON.stringify(version)}`);
    return { dtab: Dtab.read(body), source, ...(version === undefined ? {} : { version }) };
  } catch (e) {
    if (e instanceof DtabError) {
      throw new InputError(e.offset === undefined ? `${source}: ${e.message}` : locate(body, source, e.offset, whatOf(e)), { cause: e });
    }
    throw e;
  }
}

export async function readDtabFile(file: string, stdin?: () => Promise<string>): Promise<DtabInput> {
  const { text, source } = await readSource(file, stdin);
  return parseDtabInput(text, source);
}

/** Where the If-Match version of an update comes from, for messages. */
export type VersionSource = "--version" | "file" | "read";

/**
 * The version an update compares against: --version when given, else the
 * version the file says it was read at, else none (the caller then reads the
 * namespace and uses the version it gets, so an update is always a
 * compare-and-set).
 */
export function selectVersion(flag: string | undefined, input: Pick<DtabInput, "version">): { readonly version: string; readonly from: VersionSource } | undefined {
  if (flag !== undefined) return { version: flag, from: "--version" };
  if (input.version !== undefined) return { version: input.version, from: "file" };
  return undefined;
}
