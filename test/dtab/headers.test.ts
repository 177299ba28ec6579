// Per-request dtab headers (dtab-semantics §11): l5d-ctx-dtab then l5d-dtab,
// each read whole; Finagle's Dtab-Local (comma-split) and X-Dtab pairs.
import { describe, expect, it } from "vitest";
import { Dtab, DtabError, NameTree, Path, readFinagleLocalDtab, readRequestDtab } from "../../dtab/index.ts";
import { thrown } from "../support/thrown.ts";

describe("readRequestDtab", () => {
  it("reads every l5d-ctx-dtab value, then every l5d-dtab value, so the user's wins", () => {
    const local = readRequestDtab({
      "l5d-dtab": ["/svc=>/user1", "/svc=>/user2"],
      "l5d-ctx-dtab": "/svc=>/ctx",
      host: "example",
    });
    expect(local.show).toBe("/svc=>/ctx;/svc=>/user1;/svc=>/user2");
    const base = Dtab.read("/svc=>/base");
    expect(NameTree.show(base.concat(local).lookup(Path.read("/svc")))).toBe("/user2 | /user1 | /ctx | /base");
  });

  it("reads a whole value as one dtab: commas are not separators", () => {
    expect(() => readRequestDtab({ "l5d-dtab": "/a=>/b,/c=>/d" })).toThrow(DtabError);
    expect(readRequestDtab({ "l5d-dtab": "/a=>/b;/c=>/d" }).length).toBe(2);
  });

  it("ignores l5d-dtab where the server does not honour user overrides", () => {
    const local = readRequestDtab({ "l5d-dtab": "/svc=>/user", "l5d-ctx-dtab": "/svc=>/ctx" }, { userDtab: false });
    expect(local.show).toBe("/svc=>/ctx");
  });

  it("matches header names case-insensitively and accepts pairs and Maps", () => {
    expect(readRequestDtab({ "L5D-Dtab": "/a=>/b" }).show).toBe("/a=>/b");
    expect(readRequestDtab([["l5d-dtab", "/a=>/b"], ["L5d-Ctx-Dtab", "/c=>/d"]]).show).toBe("/c=>/d;/a=>/b");
    expect(readRequestDtab(new Map([["l5d-dtab", "/x=>/y"]])).show).toBe("/x=>/y");
    expect(readRequestDtab({}).show).toBe("");
  });

  it("answers a bad header with a 400-class DtabError naming the header and the offset", () => {
    const e = thrown(() => readRequestDtab({ "l5d-dtab": "/a=>/b;/c=>" })) as DtabError;
    expect(e.code).toBe("DTAB_ERR_INVALID_HEADER");
    expect(e.status).toBe(400);
    expect(e.offset).toBe(11);
    expect(e.message).toMatch(/^invalid l5d-dtab header: /);
  });

  it("leaves Finagle's dtab-local alone unless asked, then puts it first", () => {
    const headers = { "dtab-local": "/a=>/x,/b=>/y", "l5d-dtab": "/c=>/z" };
    expect(readRequestDtab(headers).show).toBe("/c=>/z");
    expect(readRequestDtab(headers, { dtabLocal: true }).show).toBe("/a=>/x;/b=>/y;/c=>/z");
  });
});

describe("readFinagleLocalDtab", () => {
  const b64 = (s: string): string => btoa(s);

  it("splits Dtab-Local values on commas", () => {
    expect(readFinagleLocalDtab({ "dtab-local": ["/a=>/b,/c=>/d", "/e=>/f"] }).show).toBe("/a=>/b;/c=>/d;/e=>/f");
  });

  it("reads X-Dtab-NN-A/B pairs in header-name order, before Dtab-Local", () => {
    const d = readFinagleLocalDtab({
      "x-dtab-01-b": b64("/two"),
      "x-dtab-00-a": b64("/p0"),
      "x-dtab-01-a": b64("/p1"),
      "x-dtab-00-b": b64("/one | /uno"),
      "dtab-local": "/z=>/zz",
    });
    expect(d.show).toBe("/p0=>/one | /uno;/p1=>/two;/z=>/zz");
  });

  it("rejects unmatched and invalid X-Dtab headers", () => {
    expect(() => readFinagleLocalDtab({ "x-dtab-00-a": b64("/p") })).toThrow(/Unmatched X-Dtab headers/);
    expect(() => readFinagleLocalDtab({ "x-dtab-00-a": b64("p"), "x-dtab-00-b": b64("/x") })).toThrow(/Invalid prefix/);
    expect(() => readFinagleLocalDtab({ "x-dtab-00-a": b64("/p"), "x-dtab-00-b": b64("/x &") })).toThrow(/Invalid name/);
    expect(() => readFinagleLocalDtab({ "x-dtab-00-a": "%%%", "x-dtab-00-b": b64("/x") })).toThrow(/base64/);
  });
});
