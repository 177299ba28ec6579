// Per-request dtab headers; derived from Finagle's HttpDtabTest (Dtab-Local, X-Dtab) and Linkerd's HeadersTest and HttpEndToEndTest (l5d-dtab, l5d-ctx-dtab).
import { describe, expect, test } from "vitest";
import { Dentry, Dtab, NameTree, Prefix, readRequestDtab } from "../../../dtab/index.ts";
import { dtabError } from "./helpers.ts";

const b64 = (s: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

/** Finagle's reading of a request: X-Dtab pairs, then Dtab-Local. */
const readFinagle = (headers: Record<string, string | string[]>): Dtab => readRequestDtab(headers, { dtabLocal: true });

describe("HttpDtabTest", () => {
  const okDests = ["/$/inet/10.0.0.1/9000", "/foo/bar", "/"];
  const okPrefixes = ["/foo", "/", "/foo/*/bar"];
  const okDentries = okPrefixes.flatMap((p) => okDests.map((d) => new Dentry(Prefix.read(p), NameTree.read(d))));

  // Upstream tries every permutation of the nine dentries; these orders cover each dentry in each position.
  const orders: Dentry[][] = [
    [],
    okDentries,
    [...okDentries].reverse(),
    ...okDentries.map((_, i) => [...okDentries.slice(i), ...okDentries.slice(0, i)]),
  ];

  test.each(orders.map((ds) => [ds.length, Dtab.of(ds)] as const))(
    "writing a dtab as Dtab-Local and reading it back gives the same dtab (%i dentries)",
    (_n, dtab) => {
      // Finagle writes nothing for an empty dtab, otherwise one Dtab-Local header holding its show form.
      const headers: Record<string, string> = dtab.length === 0 ? {} : { "Dtab-Local": dtab.show };
      expect(readFinagle(headers).equals(dtab)).toBe(true);
    },
  );

  test("several Dtab-Local values are concatenated in order and each is split on commas", () => {
    const headers = {
      "Dtab-Local": ["/srv#/prod/local/role=>/$/fail;/srv=>/srv#/staging", "/srv/local=>/srv/other,/srv=>/srv#/devel"],
    };
    const expected = Dtab.read(
      "/srv#/prod/local/role => /$/fail;" + "/srv => /srv#/staging;" + "/srv/local => /srv/other;" + "/srv => /srv#/devel",
    );
    expect(readFinagle(headers).equals(expected)).toBe(true);
  });

  test("X-Dtab pairs come first, so Dtab-Local takes precedence over them", () => {
    const headers: [string, string][] = [
      ["Dtab-Local", "/srv#/prod/local/role=>/$/fail;/srv=>/srv#/staging"],
      ["X-Dtab-01-A", b64("/srv")],
      ["X-Dtab-01-B", b64("/$/nil")],
      ["Dtab-Local", "/srv/local=>/srv/other,/srv=>/srv#/devel"],
    ];
    const expected = Dtab.read(
      "/srv => /$/nil;" +
        "/srv#/prod/local/role => /$/fail;" +
        "/srv => /srv#/staging;" +
        "/srv/local => /srv/other;" +
        "/srv => /srv#/devel",
    );
    expect(readRequestDtab(headers, { dtabLocal: true }).equals(expected)).toBe(true);
  });

  test("a long destination round-trips", () => {
    const dtab = Dtab.read("/s/a => /s/abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    expect(readFinagle({ "Dtab-Local": dtab.show }).equals(dtab)).toBe(true);
  });

  test("no headers is the empty dtab", () => {
    expect(readFinagle({}).length).toBe(0);
  });

  test("X-Dtab headers with different indexes are unmatched", () => {
    const err = dtabError(() => readFinagle({ "X-Dtab-01-A": "a", "X-Dtab-02-B": "a" }), "DTAB_ERR_INVALID_HEADER");
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/unmatched/i);
  });

  test("an X-Dtab prefix that is not a prefix is rejected", () => {
    // A is "/foo => /far", B is "/far".
    const err = dtabError(() => readFinagle({ "X-Dtab-01-A": "L2ZvbyA9PiAvZmFy", "X-Dtab-01-B": "L2Zhcg==" }), "DTAB_ERR_INVALID_HEADER");
    expect(err.message).toMatch(/prefix/i);
  });

  test("an X-Dtab name that is not a name tree is rejected", () => {
    // A is "/foo", B is "/foo => /far".
    const err = dtabError(() => readFinagle({ "X-Dtab-01-A": "L2Zvbw==", "X-Dtab-01-B": "L2ZvbyA9PiAvZmFy" }), "DTAB_ERR_INVALID_HEADER");
    expect(err.message).toMatch(/name/i);
  });

  test("an odd number of X-Dtab headers is unmatched (checked before any value is decoded)", () => {
    const err = dtabError(
      () => readFinagle({ "X-Dtab-01-A": "a", "X-Dtab-01-B": "a", "X-Dtab-02-B": "a" }),
      "DTAB_ERR_INVALID_HEADER",
    );
    expect(err.message).toMatch(/unmatched/i);
  });

  test("X-Dtab values that are not base64 are rejected", () => {
    dtabError(() => readFinagle({ "X-Dtab-01-A": "☺", "X-Dtab-01-B": "☹" }), "DTAB_ERR_INVALID_HEADER");
  });
});

describe("Linkerd's l5d-ctx-dtab and l5d-dtab (HeadersTest, HttpEndToEndTest)", () => {
  test("the request dtab is the existing local dtab, then l5d-ctx-dtab, then l5d-dtab", () => {
    const local = Dtab.read("/a => /b");
    const fromHeaders = readRequestDtab({ "l5d-dtab": "/a => /d", "l5d-ctx-dtab": "/a => /c" });
    expect(local.concat(fromHeaders).equals(Dtab.read("/a=>/b;/a=>/c;/a=>/d"))).toBe(true);
  });

  test("an l5d-dtab that does not parse is a 400", () => {
    const err = dtabError(() => readRequestDtab({ "l5d-dtab": "i am not a dtab" }), "DTAB_ERR_INVALID_HEADER");
    expect(err.status).toBe(400);
  });

  test("the forwarded l5d-ctx-dtab value is the local dtab's show form", () => {
    expect(Dtab.read("/foo=>/bar").show).toBe("/foo=>/bar");
  });

  test.each(["l5d-dtab", "l5d-ctx-dtab"])("a dtab read from %s becomes the local dtab forwarded downstream", (header) => {
    const local = readRequestDtab({ [header]: "/a=>/b" });
    expect(local.show).toBe("/a=>/b");
  });

  test("Linkerd ignores Finagle's dtab-local header", () => {
    expect(readRequestDtab({ "dtab-local": "/a=>/b" }).length).toBe(0);
  });
});
