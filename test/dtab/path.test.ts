// Path syntax and show form (dtab-semantics §1–2): the showable set, escapes,
// empty labels, whitespace and comments, and the path operations.
import { describe, expect, it } from "vitest";
import { DtabError, Path } from "../../dtab/index.ts";

function parseError(s: string): DtabError {
  try {
    Path.read(s);
  } catch (e) {
    expect(e).toBeInstanceOf(DtabError);
    return e as DtabError;
  }
  throw new Error(`expected ${JSON.stringify(s)} not to parse`);
}

describe("Path.read and show", () => {
  it("reads the empty path and simple paths", () => {
    expect(Path.read("/").isEmpty).toBe(true);
    expect(Path.read("/").show).toBe("/");
    expect(Path.read("/a/b/c").segments).toEqual(["a", "b", "c"]);
    expect(Path.read("/a/b/c").show).toBe("/a/b/c");
  });

  it("accepts exactly the 69 showable ASCII characters unescaped", () => {
    const showable = new Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-");
    expect(showable.size).toBe(69);
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      if (ch === "/" || ch === "\\") continue;
      const input = `/a${ch}b`;
      if (showable.has(ch)) {
        expect(Path.read(input).segments, input).toEqual([`a${ch}b`]);
      } else {
        expect(() => Path.read(input), JSON.stringify(input)).toThrow(DtabError);
      }
    }
  });

  it("rejects characters the scaladoc regex would seem to allow as a range (%-_ is a list)", () => {
    for (const ch of [",", "*", "+", "@", "!", "~", "(", "=", "[", "^"]) {
      expect(() => Path.read(`/a${ch}`), ch).toThrow(DtabError);
    }
  });

  it("decodes \\xNN escapes of either case and prints showable bytes plainly", () => {
    expect(Path.read("/\\x41").show).toBe("/A");
    expect(Path.read("/\\x6a\\x6B").show).toBe("/jk");
  });

  it("prints a label with any unshowable byte fully escaped, in lower-case hex", () => {
    const p = Path.read("/a\\x2fb");
    expect(p.segments).toEqual(["a/b"]);
    expect(p.show).toBe("/\\x61\\x2f\\x62");
    expect(Path.read("/ok/\\x00").show).toBe("/ok/\\x00");
    expect(Path.read("/\\xFF").show).toBe("/\\xff");
  });

  it("keeps labels as bytes: non-UTF-8 labels round-trip, segments decode UTF-8", () => {
    const p = Path.read("/\\xc3\\xa9t\\xc3\\xa9");
    expect(p.segments).toEqual(["été"]);
    expect(Path.read(p.show).equals(p)).toBe(true);
    const bad = Path.read("/\\xff\\xfe");
    expect(bad.labels[0]).toEqual(new Uint8Array([0xff, 0xfe]));
    expect(bad.segments[0]).toContain("\ufffd");
    expect(Path.read(bad.show).equals(bad)).toBe(true);
  });

  it("rejects bad escapes: upper-case X, missing or non-hex digits", () => {
    expect(parseError("/\\X41").offset).toBe(2);
    expect(parseError("/\\x4").offset).toBe(4);
    expect(parseError("/\\xg1").offset).toBe(3);
    expect(parseError("/a\\").offset).toBe(3);
  });

  it("rejects empty labels: //, /a//b, trailing slash", () => {
    expect(parseError("//").offset).toBe(1);
    expect(parseError("/a//b").offset).toBe(3);
    const trailing = parseError("/foo/bar/");
    expect(trailing.offset).toBe(9);
    expect(trailing.found).toBe("end of input");
    expect(trailing.message).toContain("/foo/bar/[]");
  });

  it("needs a leading slash", () => {
    const e = parseError("invalid-param");
    expect(e.offset).toBe(0);
    expect(e.message).toContain("[i]nvalid-param");
    expect(parseError("").offset).toBe(0);
  });

  it("allows whitespace and comments around the path but not inside it", () => {
    expect(Path.read("  /a/b  ").show).toBe("/a/b");
    expect(Path.read("# leading comment\n/a # trailing").show).toBe("/a");
    expect(parseError("/a b").offset).toBe(3);
    expect(parseError("/a/ b").offset).toBe(3);
    expect(parseError("/ a").offset).toBe(2);
  });

  it("treats # as a label character inside a label", () => {
    expect(Path.read("/#/io.l5d.fs").segments).toEqual(["#", "io.l5d.fs"]);
    expect(Path.read("/a#b").segments).toEqual(["a#b"]);
    expect(Path.read("/s#").segments).toEqual(["s#"]);
  });

  it("uses the JVM's whitespace: U+001C–U+001F yes, U+00A0/U+2007/U+202F/U+FEFF no", () => {
    for (const ws of ["\t", "\n", "\u000b", "\f", "\r", "\u001c", "\u001f", "\u2003", "\u2028", "\u3000"]) {
      expect(Path.read(`${ws}/a${ws}`).show, JSON.stringify(ws)).toBe("/a");
    }
    for (const nonWs of ["\u00a0", "\u2007", "\u202f", "\ufeff", "\u0085", "\u200b"]) {
      expect(() => Path.read(`${nonWs}/a`), JSON.stringify(nonWs)).toThrow(DtabError);
    }
  });

  it("reports a non-ASCII character as unexpected at its offset", () => {
    const e = parseError("/caf\u00e9");
    expect(e.code).toBe("DTAB_ERR_SYNTAX");
    expect(e.offset).toBe(4);
  });

  it("round-trips read(show(p)) for escaped and plain labels", () => {
    for (const s of ["/", "/a", "/a/b", "/\\x00\\x01", "/a\\x20b/c", "/$/inet/127.0.0.1/8080"]) {
      const p = Path.read(s);
      expect(Path.read(p.show).equals(p), s).toBe(true);
    }
  });
});

describe("Path operations", () => {
  it("compares by bytes, case-sensitively", () => {
    expect(Path.read("/a/b").equals(Path.of("a", "b"))).toBe(true);
    expect(Path.read("/A").equals(Path.read("/a"))).toBe(false);
    expect(Path.read("/\\x61").equals(Path.read("/a"))).toBe(true);
  });

  it("matches prefixes by whole labels", () => {
    const p = Path.read("/s#/x");
    expect(p.startsWith(Path.read("/s#"))).toBe(true);
    expect(p.startsWith(Path.read("/s"))).toBe(false);
    expect(Path.read("/ab").startsWith(Path.read("/a"))).toBe(false);
    expect(p.startsWith(Path.empty)).toBe(true);
  });

  it("drops, takes and concatenates", () => {
    const p = Path.read("/a/b/c");
    expect(p.drop(1).show).toBe("/b/c");
    expect(p.drop(3).show).toBe("/");
    expect(p.take(2).show).toBe("/a/b");
    expect(p.concat(Path.read("/d")).show).toBe("/a/b/c/d");
    expect(Path.empty.concat(p)).toBe(p);
    expect(p.size).toBe(3);
  });

  it("builds from strings and bytes, refusing empty labels", () => {
    expect(Path.of("svc", "été").show).toBe("/svc/\\xc3\\xa9\\x74\\xc3\\xa9");
    expect(Path.fromLabels([new Uint8Array([0x61])]).show).toBe("/a");
    expect(() => Path.of("a", "")).toThrow(RangeError);
  });

  it("serialises to its show form", () => {
    expect(JSON.stringify({ p: Path.read("/a/\\x20") })).toBe('{"p":"/a/\\\\x20"}');
    expect(String(Path.read("/x"))).toBe("/x");
  });
});
