// The one parser for paths, name trees, dentry prefixes, dentries and dtabs,
// accepting exactly what Finagle's NameTreeParsers accepts (dtab-semantics
// §1–4). Every failure is a DtabError carrying the offset of the character
// that could not be read.

import { hexValue, isHexDigit, isJavaDigit, isJavaWhitespace, isShowable } from "./chars.ts";
import { Dentry, Prefix, type PrefixElem, ANY_ELEM } from "./dentry.ts";
import { Dtab } from "./dtab.ts";
import { DtabError, lineAndColumn, markOffset, type DtabErrorCode } from "./errors.ts";
import { DEFAULT_WEIGHT, NameTree, type Weighted } from "./name-tree.ts";
import { Path } from "./path.ts";

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const NEWLINE = 0x0a;
const DOT = 0x2e;
const STAR = 0x2a;
/** peek() at the end of the input. */
const EOI = -1;

class Reader {
  readonly #s: string;
  #i = 0;

  constructor(s: string) {
    this.#s = s;
  }

  get #atEnd(): boolean {
    return this.#i >= this.#s.length;
  }

  #peek(): number {
    return this.#i < this.#s.length ? this.#s.charCodeAt(this.#i) : EOI;
  }

  #found(c: number): string {
    if (c === EOI) return "end of input";
    const ch = String.fromCharCode(c);
    // Make invisible characters visible in the message.
    return c < 0x20 || c === 0x7f || isJavaWhitespace(c) || c === 0xa0 || c === 0xfeff
      ? `'\\u${c.toString(16).padStart(4, "0")}'`
      : `'${ch}'`;
  }

  #fail(expected: string, code: DtabErrorCode = "DTAB_ERR_SYNTAX", offset = this.#i): never {
    const s = this.#s;
    const found = this.#found(offset < s.length ? s.charCodeAt(offset) : EOI);
    const where = s.includes("\n") ? (({ line, column }) => ` (line ${line}, column ${column})`)(lineAndColumn(s, offset)) : "";
    throw new DtabError(
      code,
      `expected ${expected} but found ${found} at offset ${offset}${where} in '${markOffset(s, offset)}'`,
      { offset, input: s, expected, found },
    );
  }

  #maybeEat(c: number): boolean {
    if (this.#peek() !== c) return false;
    this.#i++;
    return true;
  }

  #eat(c: number): void {
    if (!this.#maybeEat(c)) this.#fail(`'${String.fromCharCode(c)}'`);
  }

  /** Whitespace (as the JVM defines it) and `#` comments running to the end of the line. */
  #eatWhitespace(): void {
    const s = this.#s;
    while (this.#i < s.length) {
      const c = s.charCodeAt(this.#i);
      if (c === HASH) {
        while (this.#i < s.length && s.charCodeAt(this.#i) !== NEWLINE) this.#i++;
        if (this.#i < s.length) this.#i++;
      } else if (isJavaWhitespace(c)) {
        this.#i++;
      } else {
        return;
      }
    }
  }

  #ensureEnd(expected: string): void {
    if (!this.#atEnd) this.#fail(expected);
  }

  #isLabelChar(c: number): boolean {
    return c !== EOI && (isShowable(c) || c === BACKSLASH);
  }

  #parseHexDigit(): number {
    const c = this.#peek();
    if (c === EOI || !isHexDigit(c)) this.#fail("hex char");
    this.#i++;
    return hexValue(c);
  }

  /** One label as a binary string: showable characters and `\xNN` escapes. */
  #parseLabel(): string {
    let raw = "";
    do {
      const c = this.#peek();
      if (c !== EOI && isShowable(c)) {
        this.#i++;
        raw += String.fromCharCode(c);
      } else if (c === BACKSLASH) {
        this.#i++;
        this.#eat(0x78 /* x */);
        const hi = this.#parseHexDigit();
        const lo = this.#parseHexDigit();
        raw += String.fromCharCode((hi << 4) | lo);
      } else {
        this.#fail("label char");
      }
    } while (this.#isLabelChar(this.#peek()));
    return raw;
  }

  parsePath(): Path {
    this.#eatWhitespace();
    this.#eat(SLASH);
    if (!this.#isLabelChar(this.#peek())) return Path.empty;
    const labels: string[] = [];
    do labels.push(this.#parseLabel());
    while (this.#maybeEat(SLASH));
    return Path.fromRaw(labels);
  }

  parsePrefix(): Prefix {
    this.#eatWhitespace();
    this.#eat(SLASH);
    const c = this.#peek();
    if (!this.#isLabelChar(c) && c !== STAR) return Prefix.empty;
    const elems: PrefixElem[] = [];
    do {
      if (this.#maybeEat(STAR)) elems.push(ANY_ELEM);
      else elems.push(this.#parseLabel());
    } while (this.#maybeEat(SLASH));
    return Prefix.fromElems(elems);
  }

  #isNumberChar(c: number): boolean {
    return c === DOT || (c !== EOI && isJavaDigit(c));
  }

  #parseNumber(): number {
    const start = this.#i;
    let seenDot = false;
    while (this.#isNumberChar(this.#peek())) {
      if (this.#peek() === DOT) {
        if (seenDot) this.#fail("number char", "DTAB_ERR_INVALID_WEIGHT");
        seenDot = true;
      }
      this.#i++;
    }
    const text = this.#s.slice(start, this.#i);
    if (text === ".") this.#fail("weight", "DTAB_ERR_INVALID_WEIGHT", start);
    // Double.parseDouble only reads ASCII digits, though Char.isDigit let others in.
    if (!/^[0-9]*\.?[0-9]*$/.test(text)) this.#fail("weight", "DTAB_ERR_INVALID_WEIGHT", start);
    return Number(text);
  }

  #parseWeighted(): Weighted<Path> {
    this.#eatWhitespace();
    let weight = DEFAULT_WEIGHT;
    if (this.#isNumberChar(this.#peek())) {
      weight = this.#parseNumber();
      this.#eatWhitespace();
      this.#eat(STAR);
      this.#eatWhitespace();
    }
    return { weight, tree: this.#parseSimple() };
  }

  #parseSimple(): NameTree<Path> {
    this.#eatWhitespace();
    switch (this.#peek()) {
      case 0x28 /* ( */: {
        this.#i++;
        const tree = this.parseTree();
        this.#eatWhitespace();
        this.#eat(0x29 /* ) */);
        return tree;
      }
      case SLASH:
        return NameTree.leaf(this.parsePath());
      case 0x21 /* ! */:
        this.#i++;
        return NameTree.fail;
      case 0x7e /* ~ */:
        this.#i++;
        return NameTree.neg;
      case 0x24 /* $ */:
        this.#i++;
        return NameTree.empty;
      default:
        return this.#fail("a name tree ('/', '(', '!', '~' or '$')");
    }
  }

  /** `tree1 ('|' tree1)*`: an Alt when there are two or more parts. */
  parseTree(): NameTree<Path> {
    const trees: NameTree<Path>[] = [];
    do {
      trees.push(this.#parseTree1());
      this.#eatWhitespace();
    } while (this.#maybeEat(0x7c /* | */));
    return trees.length > 1 ? NameTree.alt(...trees) : (trees[0] as NameTree<Path>);
  }

  /** `weighted ('&' weighted)*`: a Union when there are two or more parts; a lone weight is dropped. */
  #parseTree1(): NameTree<Path> {
    const trees: Weighted<Path>[] = [];
    do {
      trees.push(this.#parseWeighted());
      this.#eatWhitespace();
    } while (this.#maybeEat(0x26 /* & */));
    return trees.length > 1 ? { type: "union", trees } : (trees[0] as Weighted<Path>).tree;
  }

  parseDentry(): Dentry {
    const prefix = this.parsePrefix();
    this.#eatWhitespace();
    if (!this.#maybeEat(0x3d /* = */)) this.#fail("'=>'");
    this.#eat(0x3e /* > */);
    const tree = this.parseTree();
    return new Dentry(prefix, tree);
  }

  parseDtab(): Dtab {
    const dentries: Dentry[] = [];
    do {
      this.#eatWhitespace();
      if (!this.#atEnd) {
        dentries.push(this.parseDentry());
        this.#eatWhitespace();
      }
    } while (this.#maybeEat(0x3b /* ; */));
    return Dtab.of(dentries);
  }

  /** Runs `parse`, then allows only trailing whitespace and comments. */
  all<T>(parse: (r: Reader) => T, expectedAtEnd = "end of input"): T {
    const value = parse(this);
    this.#eatWhitespace();
    this.#ensureEnd(expectedAtEnd);
    return value;
  }
}

function checkString(s: unknown, what: string): string {
  if (typeof s !== "string") throw new TypeError(`${what} must be a string, got ${s === null ? "null" : typeof s}`);
  return s;
}

export function readPath(s: string): Path {
  return new Reader(checkString(s, "path")).all((r) => r.parsePath());
}

export function readNameTree(s: string): NameTree<Path> {
  return new Reader(checkString(s, "name tree")).all((r) => r.parseTree());
}

export function readPrefix(s: string): Prefix {
  return new Reader(checkString(s, "dentry prefix")).all((r) => r.parsePrefix());
}

export function readDentry(s: string): Dentry {
  return new Reader(checkString(s, "dentry")).all((r) => r.parseDentry());
}

export function readDtab(s: string): Dtab {
  // A newline does not separate dentries; say so where one is missing.
  return new Reader(checkString(s, "dtab")).all((r) => r.parseDtab(), "';' between dentries, or end of input");
}
