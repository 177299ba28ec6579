// Binding paths and trees to bound names; derived from Finagle's NamerTest, DefaultInterpreterTest, NameInterpreterTest and NameTreeTest (infinite loop), and namerd's ConfiguredDtabNamerTest.
import { describe, expect, test } from "vitest";
import { bind, Dtab, NameTree, Path, type BoundName, type Namer } from "../../../dtab/index.ts";
import { dtabError, evalAddrs, evalBound } from "./helpers.ts";

/** The single bound leaf of a tree; fails the test when the tree is anything else. */
function onlyLeaf(tree: NameTree<BoundName>): BoundName {
  expect(tree.type).toBe("leaf");
  return (tree as { value: BoundName }).value;
}

/**
 * Stand-in for NamerTest's test namer: every non-/$ path is answered from a
 * table (a tree, or an error to throw); /$ paths are left to the system
 * namers. Paths it is never told about stand for upstream's still-pending
 * names: looking one up throws, so a test fails if bind consults it.
 */
function tableNamer(table: Record<string, NameTree<Path> | Error>): Namer {
  return {
    prefix: Path.empty,
    lookup(path) {
      if (path.segments[0] === "$") return NameTree.neg;
      const entry = table[path.show];
      if (entry === undefined) throw new Error(`pending name ${path.show} must not be looked up`);
      if (entry instanceof Error) throw entry;
      return entry;
    },
  };
}

const read = (s: string) => NameTree.read(s);

describe("union binding (NamerTest: NameTree.bind: union)", () => {
  const tree = read("/test/0 & /test/1");
  const exc = new Error("test exception");

  test("Ok(Bound) & Ok(Bound): both branches bind, each with weight 1.0", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": read("/$/inet/1"), "/test/2": read("/$/inet/2") });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([
      { addrs: [":1"], weight: 1 },
      { addrs: [":2"], weight: 1 },
    ]);
  });

  test("Ok(Bound) & Ok(Neg): the negative branch is dropped", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": read("/$/inet/1"), "/test/2": NameTree.neg });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([{ addrs: [":1"], weight: 1 }]);
  });

  test("Ok(Bound) & Failed: a failed branch is ignored when another binds", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": read("/$/inet/1"), "/test/2": exc });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([{ addrs: [":1"], weight: 1 }]);
  });

  test("Failed & Failed: the union fails with the namer's error", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": exc, "/test/2": exc });
    const err = dtabError(() => bind(Dtab.empty, tree, [namer]), "DTAB_ERR_NAMER_FAILED");
    expect(err.cause).toBe(exc);
  });

  test("Ok(Neg) & Ok(Neg): evaluates to nothing", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": NameTree.neg, "/test/2": NameTree.neg });
    expect(evalBound(bind(Dtab.empty, tree, [namer]))).toBeNull();
  });

  test("Ok(Empty) & Ok(Neg): evaluates to the empty set", () => {
    const namer = tableNamer({ "/test/0": read("/test/2"), "/test/1": NameTree.empty, "/test/2": NameTree.neg });
    expect(evalBound(bind(Dtab.empty, tree, [namer]))).toEqual([]);
  });
});

describe("fail-over binding (NamerTest: NameTree.bind: failover)", () => {
  const tree = read("/test/0 | /test/1 & /test/2");

  test("an Empty first alternative wins over the rest", () => {
    const namer = tableNamer({ "/test/0": NameTree.empty, "/test/1": NameTree.neg, "/test/2": NameTree.neg });
    expect(evalBound(bind(Dtab.empty, tree, [namer]))).toEqual([]);
  });

  test("a bound first alternative wins and, outside any union, carries no weight", () => {
    const namer = tableNamer({ "/test/0": read("/$/inet/1"), "/test/1": NameTree.neg, "/test/2": NameTree.neg });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([{ addrs: [":1"], weight: undefined }]);
  });

  test("a negative first alternative falls through to a union that is all negative: nothing", () => {
    const namer = tableNamer({ "/test/0": NameTree.neg, "/test/1": NameTree.neg, "/test/2": NameTree.neg });
    expect(evalBound(bind(Dtab.empty, tree, [namer]))).toBeNull();
  });

  test("a negative first alternative falls through to the union, whose bound branch has weight 1.0", () => {
    const namer = tableNamer({ "/test/0": NameTree.neg, "/test/1": NameTree.neg, "/test/2": read("/$/inet/2") });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([{ addrs: [":2"], weight: 1 }]);
  });

  test("once the first alternative binds again it wins, unweighted", () => {
    const namer = tableNamer({ "/test/0": read("/$/inet/3"), "/test/1": NameTree.neg, "/test/2": read("/$/inet/2") });
    expect(evalAddrs(bind(Dtab.empty, tree, [namer]))).toEqual([{ addrs: [":3"], weight: undefined }]);
  });
});

describe("Alt with Fail and Empty (NamerTest: NameTree.bind: Alt with Fail/Empty)", () => {
  // /test/1 and /test/2 are never answered: consulting them would throw.
  const namer = tableNamer({});

  test("'!' first stops the Alt with Fail; later alternatives are never bound", () => {
    expect(bind(Dtab.empty, read("(! | /test/1 | /test/2)"), [namer])).toEqual(NameTree.fail);
  });

  test("'~' falls through to /$/fail, which stops the Alt with Fail", () => {
    expect(bind(Dtab.empty, read("(~ | /$/fail | /test/1)"), [namer])).toEqual(NameTree.fail);
  });

  test("/$/nil first gives Empty, which wins over a later /$/fail", () => {
    expect(bind(Dtab.empty, read("(/$/nil | /$/fail | /test/1)"), [namer])).toEqual(NameTree.empty);
  });
});

describe("system namers (NamerTest: Namer.global)", () => {
  test.each(["inet", "fixedinet"])("/$/%s/1234 binds a local address on port 1234", (kind) => {
    const b = onlyLeaf(bind(Dtab.empty, `/$/${kind}/1234`));
    expect(b.addrs).toEqual([":1234"]);
    expect(b.id.show).toBe(`/$/${kind}/1234`);
  });

  test.each(["inet", "fixedinet"])("/$/%s/127.0.0.1/1234 binds host and port", (kind) => {
    const b = onlyLeaf(bind(Dtab.empty, `/$/${kind}/127.0.0.1/1234`));
    expect(b.addrs).toEqual(["127.0.0.1:1234"]);
    expect(b.id.show).toBe(`/$/${kind}/127.0.0.1/1234`);
  });

  test.each(["inet", "fixedinet"])("/$/%s with no port is an unknown namer", (kind) => {
    dtabError(() => bind(Dtab.empty, `/$/${kind}`), "DTAB_ERR_UNKNOWN_NAMER");
  });

  test.each(["inet", "fixedinet"])("/$/%s/1234/foobar: id is /$/%s/1234, residual is /foobar", (kind) => {
    const b = onlyLeaf(bind(Dtab.empty, `/$/${kind}/1234/foobar`));
    expect(b.addrs).toEqual([":1234"]);
    expect(b.id.equals(Path.of("$", kind, "1234"))).toBe(true);
    expect(b.residual.equals(Path.of("foobar"))).toBe(true);
  });

  test.each(["/$/fail", "/$/fail/foo/bar"])("%s binds to Fail", (p) => {
    expect(bind(Dtab.empty, p)).toEqual(NameTree.fail);
  });

  test.each(["/$/nil", "/$/nil/foo/bar"])("%s binds to Empty", (p) => {
    expect(bind(Dtab.empty, p)).toEqual(NameTree.empty);
  });

  test.each(["/foo/bar/bah/blah", "/foo/bar"])("%s, outside /$, is negative", (p) => {
    expect(bind(Dtab.empty, p)).toEqual(NameTree.neg);
  });
});

describe("resolving through base, limited and local dtabs (NamerTest: Namer.resolve)", () => {
  test("a name that is not a path is rejected", () => {
    dtabError(() => bind(Dtab.empty, "invalid"), "DTAB_ERR_SYNTAX", 0);
  });

  test("with every dtab empty, /s/foo is negative", () => {
    expect(bind(Dtab.empty, "/s/foo")).toEqual(NameTree.neg);
  });

  const base = Dtab.empty;

  test("a local dtab alone resolves the name", () => {
    const local = Dtab.read("/s/foo => /$/inet/5678");
    expect(evalAddrs(bind(Dtab.concat(base, Dtab.empty, local), "/s/foo"))).toEqual([{ addrs: [":5678"], weight: undefined }]);
  });

  test("a limited dtab alone resolves the name", () => {
    const limited = Dtab.read("/s/foo => /$/inet/1234");
    expect(evalAddrs(bind(Dtab.concat(base, limited, Dtab.empty), "/s/foo"))).toEqual([{ addrs: [":1234"], weight: undefined }]);
  });

  test("local wins over limited for the same path", () => {
    const limited = Dtab.read("/s/foo => /$/inet/1234");
    const local = Dtab.read("/s/foo => /$/inet/5678");
    expect(evalAddrs(bind(Dtab.concat(base, limited, local), "/s/foo"))).toEqual([{ addrs: [":5678"], weight: undefined }]);
  });

  test("with a depth limit of 2, a self-extending rule fails with the max-depth error", () => {
    const err = dtabError(() => bind(Dtab.read("/s => /s/srv"), "/s/foo/bar", [], { maxDepth: 2 }), "DTAB_ERR_MAX_DEPTH");
    expect(err.message).toMatch(/\b2\b/);
  });
});

describe("looping dtabs (NameTreeTest: NameTree.bind: infinite loop)", () => {
  test("two rules rewriting into each other exceed the default depth", () => {
    const dtab = Dtab.read(`
      /foo/bar => /bar/foo;
      /bar/foo => /foo/bar`);
    dtabError(() => bind(dtab, "/foo/bar"), "DTAB_ERR_MAX_DEPTH");
  });
});

describe("DefaultInterpreter (DefaultInterpreterTest)", () => {
  // Upstream's /$/<class> test namer, which answers every name with /rewritten/by/test/namer.
  const testnamer: Namer = {
    prefix: Path.read("/$/com.twitter.finagle.naming.testnamer"),
    lookup: () => NameTree.leaf(Path.read("/rewritten/by/test/namer")),
  };

  test("basic dtab evaluation", () => {
    expect(evalAddrs(bind(Dtab.read("/foo=>/$/inet/8080"), "/foo"))).toEqual([{ addrs: [":8080"], weight: undefined }]);
  });

  test("with indirections", () => {
    expect(evalAddrs(bind(Dtab.read("/foo=>/bar;/bar=>/$/inet/8080"), "/foo"))).toEqual([{ addrs: [":8080"], weight: undefined }]);
  });

  test("order of dtab evaluation: later dentries win", () => {
    const d1 = Dtab.read("/foo=>/bar");
    const d2 = Dtab.read("/foo=>/biz;/biz=>/$/inet/8080;/bar=>/$/inet/9090");
    expect(evalAddrs(bind(d1.concat(d2), "/foo"))).toEqual([{ addrs: [":8080"], weight: undefined }]);
    expect(evalAddrs(bind(d2.concat(d1), "/foo"))).toEqual([{ addrs: [":9090"], weight: undefined }]);
  });

  test("a namer answering with a path recurses back to the dtab", () => {
    const dtab = Dtab.read("/foo=>/$/com.twitter.finagle.naming.testnamer;/rewritten/by/test/namer=>/$/inet/7070");
    expect(evalAddrs(bind(dtab, "/foo", [testnamer]))).toEqual([{ addrs: [":7070"], weight: undefined }]);
  });

  test("full example: each leaf gets the weight of its nearest union, and '~' branches drop out", () => {
    const dtab = Dtab.read(`
      /foo => /bar;
      /foo => 3 * /baz & 2 * /booz & /$/com.twitter.finagle.naming.testnamer;
      /rewritten/by/test/namer => /$/inet/7070;
      /baz => 3 * /$/inet/8080 & 2 * /$/inet/9090;
      /booz => ~
    `);
    expect(evalAddrs(bind(dtab, "/foo", [testnamer]))).toEqual([
      { addrs: [":7070"], weight: 1 },
      { addrs: [":8080"], weight: 3 },
      { addrs: [":9090"], weight: 2 },
    ]);
  });
});

describe("NameInterpreter (NameInterpreterTest)", () => {
  test("binding uses the dtab: /test=>/$/inet/localhost/1234 binds /test to that name", () => {
    const tree = bind(Dtab.read("/test=>/$/inet/localhost/1234"), Path.read("/test"));
    expect(NameTree.show(tree)).toBe("/$/inet/localhost/1234");
    const b = onlyLeaf(tree);
    expect(b.id.equals(Path.read("/$/inet/localhost/1234"))).toBe(true);
    expect(b.addrs).toEqual(["localhost:1234"]);
  });
});

describe("namerd's stored dtab ++ request dtab (ConfiguredDtabNamerTest)", () => {
  // A namer mounted at /#inet binding /<ip>/<port>/rest… to that address.
  const inetNamer: Namer = {
    prefix: Path.read("/#inet"),
    lookup(path) {
      const [ip, port] = path.segments;
      if (ip === undefined || port === undefined) return NameTree.neg;
      return NameTree.leaf({ id: Path.of("#inet", ip, port), residual: path.drop(2), addrs: [`${ip}:${port}`] });
    },
  };

  test("an empty stored dtab binds nothing (waits for dtab)", () => {
    expect(bind(Dtab.empty.concat(Dtab.empty), "/foo/fah")).toEqual(NameTree.neg);
  });

  test("the request dtab alone cannot reach a namer", () => {
    const local = Dtab.read("/foo => /bar");
    expect(bind(Dtab.empty.concat(local), "/foo/fah", [inetNamer])).toEqual(NameTree.neg);
  });

  test("after the stored dtab changes, the request dtab's rewrite reaches the namer", () => {
    const stored = Dtab.read("/bar => /#inet/127.1/8080");
    const local = Dtab.read("/foo => /bar");
    const b = onlyLeaf(bind(stored.concat(local), "/foo/fah", [inetNamer]));
    expect(b.id.equals(Path.read("/#inet/127.1/8080"))).toBe(true);
    expect(b.residual.equals(Path.read("/fah"))).toBe(true);
    expect(b.addrs).toEqual(["127.1:8080"]);
  });
});
