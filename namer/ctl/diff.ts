// Dentry-level diffs between two dtabs: what `apply`, `diff`, `rollback` and
// the edit loop's conflict report show. Dentries are compared in canonical
// form, so spacing, comments and alignment never count as changes; order
// does, because later dentries win.
import { diffArrays, structuredPatch } from "diff";
import { NameTree, type Dentry, type Dtab } from "../../dtab/index.ts";

/** One dentry that is only in the old dtab ("removed") or only in the new one ("added"). */
export interface DentryChange {
  readonly op: "added" | "removed";
  /** 0-based position in the dtab the dentry belongs to (the old one for "removed"). */
  readonly index: number;
  readonly prefix: string;
  readonly dst: string;
}

export interface DiffLabels {
  /** Names the old side in the header, e.g. "default (version 3)". */
  readonly from: string;
  /** Names the new side, e.g. "canary.dtab". */
  readonly to: string;
}

/** ANSI colours for terminals; plain text everywhere else. */
export interface DiffStyle {
  readonly color?: boolean;
}

/** A dentry as one diff line, canonical so that equal dentries always compare equal. */
const lineOf = (d: Dentry): string => `${d.prefix.show} => ${NameTree.show(d.dst)};`;

export function sameDtab(a: Dtab, b: Dtab): boolean {
  return a.length === b.length && a.dentries.every((d, i) => lineOf(d) === lineOf(b.dentries[i] as Dentry));
}

export function diffDtabs(before: Dtab, after: Dtab): readonly DentryChange[] {
  const changes: DentryChange[] = [];
  let oldIndex = 0;
  let newIndex = 0;
  for (const part of diffArrays(before.dentries.map(lineOf), after.dentries.map(lineOf))) {
    const count = part.value.length;
    if (part.added) {
      for (let i = 0; i < count; i++) changes.push(changeOf("added", newIndex + i, after));
      newIndex += count;
    } else if (part.removed) {
      for (let i = 0; i < count; i++) changes.push(changeOf("removed", oldIndex + i, before));
      oldIndex += count;
    } else {
      oldIndex += count;
      newIndex += count;
    }
  }
  return changes;
}

function changeOf(op: DentryChange["op"], index: number, dtab: Dtab): DentryChange {
  const d = dtab.dentries[index] as Dentry;
  return { op, index, prefix: d.prefix.show, dst: NameTree.show(d.dst) };
}

/** "1 dentry added, 2 removed"; "no differences" when there are none. */
export function summarize(changes: readonly DentryChange[]): string {
  const added = changes.filter((c) => c.op === "added").length;
  const removed = changes.length - added;
  if (changes.length === 0) return "no differences";
  const noun = (n: number): string => (n === 1 ? "dentry" : "dentries");
  if (removed === 0) return `${added} ${noun(added)} added`;
  if (added === 0) return `${removed} ${noun(removed)} removed`;
  return `${added} ${noun(added)} added, ${removed} removed`;
}

const paint = (on: boolean | undefined, code: string, text: string): string => (on === true ? `\u001b[${code}m${text}\u001b[0m` : text);

/**
 * A unified diff with one line per dentry, three dentries of context, and
 * hunk headers counting dentries: what people know from `git diff`. "" when
 * the dtabs are the same.
 */
export function formatDiff(before: Dtab, after: Dtab, labels: DiffLabels, style: DiffStyle = {}): string {
  const text = (d: Dtab): string => d.dentries.map((x) => lineOf(x) + "\n").join("");
  const patch = structuredPatch(labels.from, labels.to, text(before), text(after), undefined, undefined, { context: 3 });
  if (patch.hunks.length === 0) return "";
  const out = [paint(style.color, "1", `--- ${labels.from}`), paint(style.color, "1", `+++ ${labels.to}`)];
  for (const hunk of patch.hunks) {
    // Unified diff convention (as jsdiff's own formatPatch does): an empty side starts at the line before.
    const start = (at: number, lines: number): number => (lines === 0 ? at - 1 : at);
    out.push(paint(style.color, "36", `@@ -${start(hunk.oldStart, hunk.oldLines)},${hunk.oldLines} +${start(hunk.newStart, hunk.newLines)},${hunk.newLines} @@`));
    for (const line of hunk.lines) {
      if (line.startsWith("\\")) continue; // "\ No newline at end of file" cannot happen: every line ends with one.
      out.push(line.startsWith("-") ? paint(style.color, "31", line) : line.startsWith("+") ? paint(style.color, "32", line) : line);
    }
  }
  return out.join("\n") + "\n";
}
