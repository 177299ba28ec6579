// Dtab: an ordered list of dentries. Later entries win; nothing is merged,
// sorted or deduplicated, and `a.concat(b)` is plain concatenation (§4, §5).

import { Dentry } from "./dentry.ts";
import { DtabError } from "./errors.ts";
import { NameTree } from "./name-tree.ts";
import type { Path } from "./path.ts";
import { readDtab, readNameTree, readPrefix } from "./reader.ts";

/** namerd's JSON form of one dentry. */
export interface DentryJson {
  readonly prefix: string;
  readonly dst: string;
}

export class Dtab implements Iterable<Dentry> {
  static readonly empty: Dtab = new Dtab([]);

  readonly dentries: readonly Dentry[];
  #show: string | undefined;

  private constructor(dentries: readonly Dentry[]) {
    this.dentries = dentries;
  }

  /** Parses `prefix => tree; …` (comments, a trailing `;` allowed); throws DtabError with the offset. */
  static read(s: string): Dtab {
    return readDtab(s);
  }

  static of(dentries: readonly Dentry[]): Dtab {
    return dentries.length === 0 ? Dtab.empty : new Dtab([...dentries]);
  }

  /** Concatenates dtabs in order: entries of later dtabs take precedence. */
  static concat(...dtabs: readonly Dtab[]): Dtab {
    const nonEmpty = dtabs.filter((d) => d.length > 0);
    if (nonEmpty.length === 0) return Dtab.empty;
    if (nonEmpty.length === 1) return nonEmpty[0] as Dtab;
    return new Dtab(nonEmpty.flatMap((d) => d.dentries));
  }

  /**
   * Reads namerd's JSON form, `[{"prefix": "/svc", "dst": "/#/io.l5d.fs"}, …]`.
   * Errors name the entry and field; a parse error keeps its offset.
   */
  static fromJSON(value: unknown): Dtab {
    if (!Array.isArray(value)) {
      throw new DtabError("DTAB_ERR_INVALID_JSON", `a dtab in JSON must be a list of {"prefix", "dst"} objects, got ${describe(value)}`);
    }
    const dentries = value.map((item: unknown, i): Dentry => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        throw new DtabError("DTAB_ERR_INVALID_JSON", `dentry [${i}] must be an object with "prefix" and "dst", got ${describe(item)}`);
      }
      const { prefix, dst } = item as Record<string, unknown>;
      return new Dentry(
        parseField(i, "prefix", prefix, readPrefix),
        parseField(i, "dst", dst, readNameTree),
      );
    });
    return Dtab.of(dentries);
  }

  /** Number of dentries. */
  get length(): number {
    return this.dentries.length;
  }

  /** `prefix=>tree;prefix=>tree` with no spaces and no trailing `;`; the empty dtab shows as "". */
  get show(): string {
    this.#show ??= this.dentries.map((d) => d.show).join(";");
    return this.#show;
  }

  toString(): string {
    return this.show;
  }

  toJSON(): DentryJson[] {
    return this.dentries.map((d) => d.toJSON());
  }

  [Symbol.iterator](): Iterator<Dentry> {
    return this.dentries[Symbol.iterator]();
  }

  concat(other: Dtab): Dtab {
    return Dtab.concat(this, other);
  }

  /** A dtab with one more dentry at the end (highest precedence). */
  append(dentry: Dentry): Dtab {
    return new Dtab([...this.dentries, dentry]);
  }

  equals(other: Dtab): boolean {
    return this.length === other.length && this.dentries.every((d, i) => d.equals(other.dentries[i] as Dentry));
  }

  /**
   * One rewrite step. Dentries are tried from last to first; each match
   * appends the unmatched rest of the path to every leaf of its destination.
   * No match gives `~`; one match gives its tree; several give an Alt in
   * last-to-first order. There is no longest-prefix rule.
   */
  lookup(path: Path): NameTree<Path> {
    const matches: NameTree<Path>[] = [];
    for (let i = this.dentries.length - 1; i >= 0; i--) {
      const d = this.dentries[i] as Dentry;
      if (!d.prefix.matches(path)) continue;
      const rest = path.drop(d.prefix.size);
      matches.push(rest.isEmpty ? d.dst : NameTree.map(d.dst, (p) => p.concat(rest)));
    }
    if (matches.length === 0) return NameTree.neg;
    if (matches.length === 1) return matches[0] as NameTree<Path>;
    return NameTree.alt(...matches);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "string" ? `the string ${JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v)}` : `a ${typeof v}`;
}

function parseField<T>(index: number, field: "prefix" | "dst", value: unknown, read: (s: string) => T): T {
  if (typeof value !== "string") {
    throw new DtabError("DTAB_ERR_INVALID_JSON", `dentry [${index}] needs "${field}" as a string, got ${value === undefined ? "nothing" : describe(value)}`);
  }
  try {
    return read(value);
  } catch (e) {
    if (!(e instanceof DtabError)) throw e;
    throw new DtabError("DTAB_ERR_INVALID_JSON", `dentry [${index}] "${field}": ${e.message}`, {
      ...(e.offset === undefined ? {} : { offset: e.offset }),
      input: value,
      cause: e,
    });
  }
}
