// Path: the logical names that dtabs rewrite (`/svc/users`, `/#/io.l5d.fs/users`).
// A path is a sequence of non-empty byte-string labels, compared byte for byte.

import { isShowable } from "./chars.ts";
import { readPath } from "./reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** A label's bytes held as a "binary string" (one char per byte, 0–255) so comparison is `===`. */
type RawLabel = string;

function bytesToRaw(bytes: Uint8Array): RawLabel {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function checkLabel(length: number, index: number): void {
  if (length === 0) throw new RangeError(`path label ${index} is empty; paths cannot have empty labels`);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function rawToBytes(raw: RawLabel): Uint8Array {
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** @internal One label in Finagle's show form (escaped whole when any byte is not showable). */
export function showLabel(raw: RawLabel): string {
  let plain = true;
  for (let i = 0; i < raw.length && plain; i++) plain = isShowable(raw.charCodeAt(i));
  if (plain) return raw;
  // One byte that needs escaping makes the whole label print escaped (Finagle's rule).
  let s = "";
  for (let i = 0; i < raw.length; i++) s += "\\x" + raw.charCodeAt(i).toString(16).padStart(2, "0");
  return s;
}

export class Path {
  /** The empty path, written `/`. */
  static readonly empty: Path = new Path([]);

  readonly #labels: readonly RawLabel[];
  #show: string | undefined;
  #segments: readonly string[] | undefined;

  private constructor(labels: readonly RawLabel[]) {
    this.#labels = labels;
  }

  /** Parses Finagle's path syntax (`/a/b`, `/`, `\xNN` escapes); throws DtabError with the offset. */
  static read(s: string): Path {
    return readPath(s);
  }

  /** A path from label strings (UTF-8 encoded), e.g. `Path.of("svc", "users")`. Labels must be non-empty. */
  static of(...segments: readonly string[]): Path {
    if (segments.length === 0) return Path.empty;
    return new Path(
      segments.map((s, i) => {
        checkLabel(s.length, i);
        // An ASCII label is its own byte string (the request path names every request this way).
        return isAscii(s) ? s : bytesToRaw(encoder.encode(s));
      }),
    );
  }

  /** A path from raw label bytes. Labels must be non-empty. */
  static fromLabels(labels: readonly Uint8Array[]): Path {
    if (labels.length === 0) return Path.empty;
    return new Path(
      labels.map((l, i) => {
        checkLabel(l.length, i);
        return bytesToRaw(l);
      }),
    );
  }

  /** @internal Used by the parser and by Path operations; labels are trusted non-empty binary strings. */
  static fromRaw(labels: readonly RawLabel[]): Path {
    return labels.length === 0 ? Path.empty : new Path(labels);
  }

  /** Number of labels. */
  get size(): number {
    return this.#labels.length;
  }

  get isEmpty(): boolean {
    return this.#labels.length === 0;
  }

  /** @internal The labels as binary strings (one char per byte). */
  get raw(): readonly RawLabel[] {
    return this.#labels;
  }

  /** The labels decoded as UTF-8 (invalid sequences become U+FFFD). */
  get segments(): readonly string[] {
    this.#segments ??= this.#labels.map((l) => decoder.decode(rawToBytes(l)));
    return this.#segments;
  }

  /** The labels' bytes. */
  get labels(): readonly Uint8Array[] {
    return this.#labels.map(rawToBytes);
  }

  /** Finagle's printed form: `/a/b`, `/` when empty, labels with unshowable bytes as `\xhh` escapes. */
  get show(): string {
    this.#show ??= this.#labels.length === 0 ? "/" : "/" + this.#labels.map(showLabel).join("/");
    return this.#show;
  }

  toString(): string {
    return this.show;
  }

  toJSON(): string {
    return this.show;
  }

  equals(other: Path): boolean {
    if (other === this) return true;
    const a = this.#labels;
    const b = other.#labels;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** True when `prefix`'s labels are this path's first labels (whole labels, byte for byte). */
  startsWith(prefix: Path): boolean {
    const a = this.#labels;
    const b = prefix.#labels;
    if (b.length > a.length) return false;
    for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** This path without its first `n` labels. */
  drop(n: number): Path {
    return n <= 0 ? this : Path.fromRaw(this.#labels.slice(n));
  }

  /** This path's first `n` labels. */
  take(n: number): Path {
    return n >= this.#labels.length ? this : Path.fromRaw(this.#labels.slice(0, Math.max(0, n)));
  }

  concat(other: Path): Path {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return Path.fromRaw([...this.#labels, ...other.#labels]);
  }
}
