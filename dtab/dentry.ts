// Dentry: one delegation rule, `prefix => tree`. Its prefix may use `*` to
// match any single label; the rule applies to every path the prefix matches.

import { NameTree } from "./name-tree.ts";
import { type Path, showLabel } from "./path.ts";
import { readDentry, readPrefix } from "./reader.ts";

/** A prefix element that matches exactly one label of any value. */
export const ANY_ELEM: unique symbol = Symbol("*");
/** A label (as a binary string, one char per byte) or the `*` wildcard. */
export type PrefixElem = string | typeof ANY_ELEM;

export class Prefix {
  static readonly empty: Prefix = new Prefix([]);

  readonly #elems: readonly PrefixElem[];
  #show: string | undefined;

  private constructor(elems: readonly PrefixElem[]) {
    this.#elems = elems;
  }

  /** Parses a dentry prefix (`/svc/*`, `/`); throws DtabError with the offset. */
  static read(s: string): Prefix {
    return readPrefix(s);
  }

  /** @internal */
  static fromElems(elems: readonly PrefixElem[]): Prefix {
    return elems.length === 0 ? Prefix.empty : new Prefix(elems);
  }

  /** A prefix without wildcards that matches `path` and everything under it. */
  static fromPath(path: Path): Prefix {
    return Prefix.fromElems(path.raw);
  }

  get size(): number {
    return this.#elems.length;
  }

  get elems(): readonly PrefixElem[] {
    return this.#elems;
  }

  get show(): string {
    this.#show ??=
      this.#elems.length === 0 ? "/" : "/" + this.#elems.map((e) => (e === ANY_ELEM ? "*" : showLabel(e))).join("/");
    return this.#show;
  }

  toString(): string {
    return this.show;
  }

  toJSON(): string {
    return this.show;
  }

  /** Whole-label match: each element equals the path's label byte for byte, or is `*`. */
  matches(path: Path): boolean {
    const elems = this.#elems;
    const labels = path.raw;
    if (elems.length > labels.length) return false;
    for (let i = 0; i < elems.length; i++) {
      const e = elems[i];
      if (e !== ANY_ELEM && e !== labels[i]) return false;
    }
    return true;
  }

  equals(other: Prefix): boolean {
    return this.show === other.show;
  }
}

export class Dentry {
  static #nop: Dentry | undefined;

  readonly prefix: Prefix;
  readonly dst: NameTree<Path>;

  constructor(prefix: Prefix, dst: NameTree<Path>) {
    this.prefix = prefix;
    this.dst = dst;
  }

  /** Parses one `prefix => tree` rule; throws DtabError with the offset. */
  static read(s: string): Dentry {
    return readDentry(s);
  }

  /**
   * Finagle's placeholder dentry: prefix is the single label "/" (shown
   * `/\x2f`) and the destination `~`. Explanation trees leave it out.
   */
  static get nop(): Dentry {
    Dentry.#nop ??= new Dentry(Prefix.fromElems(["/"]), NameTree.neg);
    return Dentry.#nop;
  }

  /** `prefix=>tree`, no spaces around the arrow (Finagle's form). */
  get show(): string {
    return `${this.prefix.show}=>${NameTree.show(this.dst)}`;
  }

  toString(): string {
    return this.show;
  }

  /** namerd's JSON form. */
  toJSON(): { prefix: string; dst: string } {
    return { prefix: this.prefix.show, dst: NameTree.show(this.dst) };
  }

  /** Same prefix and evaluation-equivalent destination (Finagle's Dentry.equiv). */
  equiv(other: Dentry): boolean {
    return this.prefix.equals(other.prefix) && NameTree.equals(NameTree.simplify(this.dst), NameTree.simplify(other.dst));
  }

  equals(other: Dentry): boolean {
    return this.prefix.equals(other.prefix) && NameTree.equals(this.dst, other.dst);
  }
}
