// How namerctl shows things to people: dtabs one dentry a line with the
// arrows aligned, history as a table. Every text here parses back (dtabs) or
// lines up in a terminal (tables); machine output is --json, not this.
import { NameTree, type Dtab } from "../../dtab/index.ts";
import type { HistoryEntry } from "./client.ts";

/** `prefix => dst ;` one per line, prefixes padded so the arrows line up; "" for an empty dtab. Parses back with Dtab.read. */
export function prettyDtab(dtab: Dtab): string {
  const rows = dtab.dentries.map((d) => ({ prefix: d.prefix.show, dst: NameTree.show(d.dst) }));
  const width = Math.max(0, ...rows.map((r) => r.prefix.length));
  return rows.map((r) => `${r.prefix.padEnd(width)} => ${r.dst} ;\n`).join("");
}

/** What `dtab get` prints: the version as a comment (so the output is itself a dtab file), then the dtab. */
export function formatVersionedDtab(version: string, dtab: Dtab): string {
  return `# version ${version}\n${dtab.length === 0 ? "# (empty dtab)\n" : prettyDtab(dtab)}`;
}

/** A history entry's action in words: "rollback" says which version it restored. */
function actionOf(entry: HistoryEntry): string {
  return entry.restoredVersion === undefined ? entry.action : `${entry.action} to ${entry.restoredVersion}`;
}

/** ISO-8601 to the second, in UTC, which sorts and compares across operators' time zones. */
function whenOf(at: string): string {
  const t = Date.parse(at);
  return Number.isNaN(t) ? at : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd() + "\n").join("");
}

/** `dtab history`: newest first, as the namer lists it. */
export function formatHistory(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return "no history\n";
  return formatTable(
    ["VERSION", "ACTION", "WHEN", "WHO", "FROM"],
    entries.map((e) => [e.version, actionOf(e), whenOf(e.at), e.actor, e.source]),
  );
}
