// `namerctl dtab edit`: the read–edit–compare-and-set loop. The operator's
// text is never lost to a race: when someone else writes first (412) the
// loop shows their change and reopens the editor on the operator's text
// against the new version; a parse error reopens it with the error on top.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dtab, DtabError } from "../../dtab/index.ts";
import type { NamerClient, NamespaceDtab } from "./client.ts";
import { diffDtabs, formatDiff, sameDtab, type DentryChange } from "./diff.ts";
import { ApiError, CtlError } from "./errors.ts";
import { prettyDtab } from "./format.ts";
import { lineAndColumn } from "./input.ts";

/** The editor to run, as git picks one: $VISUAL, then $EDITOR, then vi. */
export function editorCommand(env: Readonly<Record<string, string | undefined>>): string {
  for (const name of ["VISUAL", "EDITOR"]) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== "") return value;
  }
  return "vi";
}

/**
 * Runs `command` on `file` through the shell, as git does, so EDITOR may
 * carry arguments ("code --wait"). The file name is passed as $1, never
 * spliced into the command line. POSIX only: meshd runs on Linux hosts.
 */
export function runEditor(command: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", `${command} "$1"`, "sh", file], { stdio: "inherit" });
    child.on("error", (e) => reject(new CtlError(`cannot start the editor (${command}): ${e.message}`, { cause: e })));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new CtlError(`the editor (${command}) ${signal === null ? `exited with status ${code}` : `was killed by ${signal}`}: nothing was written`));
    });
  });
}

/** The lines namerctl puts at the top of the file, each a dtab comment. */
function header(ns: string, version: string, notes: readonly string[]): string[] {
  return [
    ...notes.map((n) => (n === "" ? "#" : `# ${n}`)),
    ...(notes.length > 0 ? ["#"] : []),
    `# version ${version}`,
    `# Editing namespace ${ns}. Save and quit to apply the dtab below if ${ns} is still at version ${version}.`,
    "# Lines starting with '#' are ignored. Leave the dtab unchanged, or delete every dentry, to cancel.",
    "",
  ];
}

/** The file the editor opens: namerctl's header comments, then the operator's dtab text. */
export function renderEditFile(ns: string, version: string, body: string, notes: readonly string[] = []): string {
  return header(ns, version, notes).join("\n") + "\n" + (body === "" || body.endsWith("\n") ? body : body + "\n");
}

/**
 * The operator's text from a saved file: everything after the leading block
 * of comments and blank lines, which is namerctl's header and gets written
 * afresh each round (so notes from the previous round do not pile up).
 */
export function editedBody(saved: string): string {
  const lines = saved.replace(/^\uFEFF/, "").split("\n");
  let i = 0;
  while (i < lines.length && /^\s*(#.*)?$/.test(lines[i] as string)) i++;
  return lines.slice(i).join("\n");
}

/** The note for a parse error, pointing at the line of the file it will be shown in. */
function parseErrorNotes(ns: string, version: string, body: string, e: DtabError): string[] {
  const { line, column } = lineAndColumn(body, e.offset ?? 0);
  const what = e.expected !== undefined && e.found !== undefined ? `expected ${e.expected} but found ${e.found}` : e.message;
  const excerpt = body.split("\n")[line - 1] ?? "";
  const notes = (fileLine: number): string[] => [`error: line ${fileLine}, column ${column}: ${what}`, `  ${excerpt}`, `  ${" ".repeat(column - 1)}^`, "Fix the dtab and save again, or delete every dentry to cancel."];
  // The notes go above the body, so the body's line N is N + (header lines) in the reopened file.
  const offset = header(ns, version, notes(0)).length;
  return notes(offset + line);
}

const deleted = (ns: string, cause?: unknown): CtlError => new CtlError(`${ns} was deleted on the namer while you were editing; nothing was written`, { cause });

export type EditOutcome =
  | { readonly kind: "updated"; readonly version: string; readonly previousVersion: string; readonly changes: readonly DentryChange[] }
  | { readonly kind: "unchanged"; readonly version: string }
  | { readonly kind: "cancelled"; readonly reason: string };

export interface EditDeps {
  readonly client: Pick<NamerClient, "get" | "find" | "update">;
  /** Opens the file in the operator's editor; resolves when they quit. */
  readonly edit: (file: string) => Promise<void>;
  /** Progress and conflict reports for the operator (stderr). */
  readonly say: (text: string) => void;
  readonly color?: boolean;
  /** Where the temp file goes (default: the OS temp dir). */
  readonly tmpDir?: string;
}

export async function editNamespace(ns: string, deps: EditDeps): Promise<EditOutcome> {
  let base: NamespaceDtab = await deps.client.get(ns);
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), "namerctl-edit-"));
  const file = join(dir, `${ns}.dtab`);
  let body = prettyDtab(base.dtab);
  let notes: readonly string[] = [];
  let keep = false;
  try {
    for (;;) {
      const written = renderEditFile(ns, base.version, body, notes);
      await writeFile(file, written, { mode: 0o600 });
      await deps.edit(file);
      const saved = await readFile(file, "utf8");
      const parseFailedBefore = notes.length > 0 && notes[0]?.startsWith("error:") === true;
      body = editedBody(saved);
      let edited: Dtab;
      try {
        edited = Dtab.read(body);
      } catch (e) {
        if (!(e instanceof DtabError)) throw e;
        // An editor that saves without the operator touching the file would loop forever here.
        if (parseFailedBefore && saved === written) throw new CtlError(`the dtab still does not parse and the file was not changed; nothing was written (${notes[0] ?? ""})`);
        notes = parseErrorNotes(ns, base.version, body, e);
        deps.say(`namerctl: ${notes[0] ?? ""}; reopening the editor`);
        continue;
      }
      if (edited.length === 0) return { kind: "cancelled", reason: "the file has no dentries (to empty a dtab, use `namerctl dtab update` with an empty file)" };
      if (sameDtab(edited, base.dtab)) return { kind: "unchanged", version: base.version };
      try {
        const version = await deps.client.update(ns, edited, base.version);
        return { kind: "updated", version, previousVersion: base.version, changes: diffDtabs(base.dtab, edited) };
      } catch (e) {
        if (e instanceof ApiError && e.isNotFound) throw deleted(ns, e);
        if (!(e instanceof ApiError && e.isConflict)) throw e;
      }
      // Someone else wrote first: show what they changed, then let the operator redo theirs on top.
      const current = await deps.client.find(ns);
      if (current === undefined) throw deleted(ns);
      const labels = { from: `${ns} version ${base.version} (what you edited)`, to: `${ns} version ${current.version} (on the namer now)` };
      const theirs = formatDiff(base.dtab, current.dtab, labels);
      const shown = deps.color === true ? formatDiff(base.dtab, current.dtab, labels, { color: true }) : theirs;
      deps.say(`namerctl: ${ns} changed on the namer while you were editing (version ${base.version} → ${current.version}); the other change:\n${shown}`);
      if (sameDtab(edited, current.dtab)) return { kind: "unchanged", version: current.version };
      deps.say(`namerctl: reopening the editor on your text, now against version ${current.version}`);
      notes = [
        `conflict: ${ns} changed from version ${base.version} to ${current.version} while you were editing.`,
        `Your text is below. Save to apply it over version ${current.version}, or delete every dentry to cancel.`,
        "The other change:",
        ...theirs.trimEnd().split("\n").map((l) => `  ${l}`),
      ];
      base = current;
    }
  } catch (e) {
    // Keep what the operator typed when the write did not happen for a reason they may fix (auth, outage).
    if (body !== prettyDtab(base.dtab)) {
      keep = true;
      deps.say(`namerctl: your edited dtab is kept in ${file}`);
    }
    throw e;
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}
