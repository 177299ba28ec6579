// Linkerd's delegation explanation (/delegator.json); derived from Linkerd's DelegatorTest, DelegateApiHandlerTest and DelegateTreeTest.
import { describe, expect, test } from "vitest";
import { delegate, Dtab, NameTree, Path, type DelegateJson, type Namer } from "../../../dtab/index.ts";
import { bindingNamer, dtabError } from "./helpers.ts";

/** Linkerd's "error" test namer: every lookup fails with "error naming <full path>". */
function errorNamer(prefix: string): Namer {
  const mount = Path.read(prefix);
  return {
    prefix: mount,
    lookup(residual) {
      throw new Error(`error naming ${mount.concat(residual).show}`);
    },
  };
}

/** Linkerd's "test" namer: binds every residual except those starting with "buh" to a name whose id is its mount point. */
function testNamer(prefix: string): Namer {
  const inner = bindingNamer(prefix);
  return {
    prefix: inner.prefix,
    lookup: (residual) => (residual.segments[0] === "buh" ? NameTree.neg : inner.lookup(residual)),
  };
}

const noAddr = { type: "bound", addrs: [], meta: {} } as const;

describe("DelegatorTest", () => {
  const namers = [testNamer("/#/namer"), errorNamer("/#/error")];
  const dtab = Dtab.read(`
    /bah/humbug => /$/inet/127.1/8080 ;
    /beh => /#/error ;
    /foo => /bah | /$/fail ;
    /foo => /bar ;
    /boo => /foo ;
    /meh => /heh ;
  `);

  test("a path rewritten onto a configured namer ends in a bound leaf with id and residual", () => {
    expect(delegate(Dtab.read("/nah=>/#/namer;"), "/nah/bro", namers)).toEqual({
      type: "delegate",
      path: "/nah/bro",
      delegate: {
        type: "leaf",
        path: "/#/namer/bro",
        dentry: { prefix: "/nah", dst: "/#/namer" },
        bound: { addr: noAddr, id: "/#/namer", path: "/bro" },
      },
    });
  });

  test("a path no dentry matches is a root neg node without a dentry", () => {
    expect(delegate(dtab, Path.of("nope"), namers)).toEqual({ type: "neg", path: "/nope" });
  });

  test("one matching dentry is a delegate step to what it produced", () => {
    expect(delegate(dtab, "/meh/hey", namers)).toEqual({
      type: "delegate",
      path: "/meh/hey",
      delegate: { type: "neg", path: "/heh/hey", dentry: { prefix: "/meh", dst: "/heh" } },
    });
  });

  test("several matching dentries are an alt, last dentry first, with the inner alternates spliced in", () => {
    const inner = { prefix: "/foo", dst: "/bah | /$/fail" };
    expect(delegate(dtab, "/boo/lol", namers)).toEqual({
      type: "delegate",
      path: "/boo/lol",
      delegate: {
        type: "alt",
        path: "/foo/lol",
        dentry: { prefix: "/boo", dst: "/foo" },
        alt: [
          { type: "neg", path: "/bar/lol", dentry: { prefix: "/foo", dst: "/bar" } },
          { type: "neg", path: "/bah/lol", dentry: inner },
          { type: "fail", path: "/$/fail/lol", dentry: inner },
        ],
      },
    });
  });

  test("every alternate is explained, including a bound one followed by /$/fail", () => {
    const inner = { prefix: "/foo", dst: "/bah | /$/fail" };
    expect(delegate(dtab, "/boo/humbug/ya", namers)).toEqual({
      type: "delegate",
      path: "/boo/humbug/ya",
      delegate: {
        type: "alt",
        path: "/foo/humbug/ya",
        dentry: { prefix: "/boo", dst: "/foo" },
        alt: [
          { type: "neg", path: "/bar/humbug/ya", dentry: { prefix: "/foo", dst: "/bar" } },
          {
            type: "delegate",
            path: "/bah/humbug/ya",
            dentry: inner,
            delegate: {
              type: "leaf",
              path: "/$/inet/127.1/8080/ya",
              dentry: { prefix: "/bah/humbug", dst: "/$/inet/127.1/8080" },
              bound: {
                addr: { type: "bound", addrs: [{ ip: "127.0.0.1", port: 8080, meta: {} }], meta: {} },
                id: "/$/inet/127.1/8080",
                path: "/ya",
              },
            },
          },
          { type: "fail", path: "/$/fail/humbug/ya", dentry: inner },
        ],
      },
    });
  });

  test("a namer error is an exception node at the path the namer was asked about", () => {
    expect(delegate(dtab, "/beh/humbug", namers)).toEqual({
      type: "delegate",
      path: "/beh/humbug",
      delegate: {
        type: "exception",
        path: "/#/error/humbug",
        dentry: { prefix: "/beh", dst: "/#/error" },
        message: expect.any(String),
      },
    });
  });
});

describe("DelegateApiHandlerTest", () => {
  // The test namer is mounted at its default prefix (/#/foo) and the error namer at /#/error.
  const namers = [testNamer("/#/foo"), errorNamer("/#/error")];
  const dtab = Dtab.read(`
    /beh => /#/error ;
    /bah/humbug => /$/inet/127.1/8080 ;
    /foo => /bah | /beh | /$/fail ;
    /foo => /bar ;
    /boo => /foo ;
    /meh => /heh ;
    /neg => ~ ;
  `);

  // Linkerd's response body for path=/boo/humbug, verbatim (members in this order).
  const booHumbug =
    '{"type":"delegate","path":"/boo/humbug","delegate":{' +
    '"type":"alt","path":"/foo/humbug","dentry":{"prefix":"/boo","dst":"/foo"},"alt":[' +
    '{"type":"neg","path":"/bar/humbug","dentry":{"prefix":"/foo","dst":"/bar"}},' +
    '{"type":"delegate","path":"/bah/humbug",' +
    '"dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{' +
    '"type":"leaf","path":"/$/inet/127.1/8080","dentry":{"prefix":"/bah/humbug",' +
    '"dst":"/$/inet/127.1/8080"},' +
    '"bound":{"addr":{"type":"bound","addrs":[{"ip":"127.0.0.1","port":8080,"meta":{}}],"meta":{}},' +
    '"id":"/$/inet/127.1/8080","path":"/"}}},' +
    '{"type":"delegate","path":"/beh/humbug",' +
    '"dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{' +
    '"type":"exception","path":"/#/error/humbug","dentry":{"prefix":"/beh","dst":"/#/error"},' +
    '"message":"error naming /#/error/humbug"}},' +
    '{"type":"fail","path":"/$/fail/humbug","dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"}}]}}';

  /** JSON text with every exception message replaced, to compare structure and member order apart from messages. */
  const withoutMessages = (json: string): string =>
    JSON.stringify(JSON.parse(json), (key, value: unknown) => (key === "message" ? "<message>" : value));

  const findException = (node: DelegateJson): DelegateJson | undefined => {
    if (node.type === "exception") return node;
    const kids = node.type === "delegate" ? [node.delegate] : node.type === "alt" ? node.alt : node.type === "union" ? node.union.map((w) => w.tree) : [];
    for (const k of kids) {
      const found = findException(k);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  test("the dtab's show form puts no spaces around '=>' and keeps ' | ' inside trees", () => {
    expect(dtab.show).toBe("/beh=>/#/error;/bah/humbug=>/$/inet/127.1/8080;/foo=>/bah | /beh | /$/fail;/foo=>/bar;/boo=>/foo;/meh=>/heh;/neg=>~");
  });

  test("/boo/humbug renders member for member as Linkerd's response (messages aside)", () => {
    expect(withoutMessages(JSON.stringify(delegate(Dtab.read(dtab.show), "/boo/humbug", namers)))).toBe(withoutMessages(booHumbug));
  });

  test("an exception node's message is the namer error's own message", () => {
    const ex = findException(delegate(dtab, "/boo/humbug", namers));
    expect(ex).toMatchObject({ type: "exception", message: "error naming /#/error/humbug" });
  });

  test("a rewrite to a path nothing binds shows the neg at the rewritten path", () => {
    expect(JSON.stringify(delegate(dtab, "/meh", namers))).toBe(
      '{"type":"delegate","path":"/meh","delegate":{"type":"neg","path":"/heh","dentry":{"prefix":"/meh","dst":"/heh"}}}',
    );
  });

  test("an explicit '~' destination is shown as a neg whose path is '~'", () => {
    expect(JSON.stringify(delegate(dtab, "/neg", namers))).toBe(
      '{"type":"delegate","path":"/neg","delegate":{"type":"neg","path":"~","dentry":{"prefix":"/neg","dst":"~"}}}',
    );
  });

  test("an invalid path is a 400 with the error at offset 0 (''/' expected but 'i' found at '[i]nvalid-param'')", () => {
    const err = dtabError(() => Path.read("invalid-param"), "DTAB_ERR_SYNTAX", 0);
    expect(err.status).toBe(400);
    expect(err.expected).toBe("'/'");
    expect(err.found).toBe("'i'");
  });

  test("an invalid dtab is a 400 with the error at offset 0 (''/' expected but 'i' found at '[i]nvalid-param'')", () => {
    const err = dtabError(() => Dtab.read("invalid-param"), "DTAB_ERR_SYNTAX", 0);
    expect(err.status).toBe(400);
    expect(err.expected).toBe("'/'");
    expect(err.found).toBe("'i'");
  });
});

describe("DelegateTreeTest simplification, reached through delegate()", () => {
  const c = bindingNamer("/c");
  const d = bindingNamer("/d");
  const dA = { prefix: "/a", dst: "/b" };
  const leafAt = (p: string, dentry: { prefix: string; dst: string }) => ({
    type: "leaf",
    path: p,
    dentry,
    bound: { addr: noAddr, id: p, path: "/" },
  });

  test("a delegate step onto an alt at the same path collapses into that alt, which takes the step's dentry", () => {
    const dB = { prefix: "/b", dst: "/c | /d" };
    expect(delegate(Dtab.read("/a => /b; /b => /c|/d"), "/a", [c, d])).toEqual({
      type: "delegate",
      path: "/a",
      delegate: { type: "alt", path: "/b", dentry: dA, alt: [leafAt("/c", dB), leafAt("/d", dB)] },
    });
  });

  // Upstream builds these one- and zero-branch nodes by hand; here a namer answers with them.
  const answering = (tree: NameTree<Path>): Namer => ({ prefix: Path.read("/b"), lookup: () => tree });
  const cLeaf = NameTree.leaf(Path.read("/c"));

  test("a single-branch alt becomes a delegate step", () => {
    expect(delegate(Dtab.read("/a => /b"), "/a", [answering(NameTree.alt(cLeaf)), c])).toEqual({
      type: "delegate",
      path: "/a",
      delegate: { type: "delegate", path: "/b", dentry: dA, delegate: leafAt("/c", dA) },
    });
  });

  test("a single-branch union becomes a delegate step", () => {
    expect(delegate(Dtab.read("/a => /b"), "/a", [answering(NameTree.union({ weight: 1, tree: cLeaf })), c])).toEqual({
      type: "delegate",
      path: "/a",
      delegate: { type: "delegate", path: "/b", dentry: dA, delegate: leafAt("/c", dA) },
    });
  });

  test("an alt with no branches becomes a neg at its own path", () => {
    expect(delegate(Dtab.read("/a => /b"), "/a", [answering(NameTree.alt())])).toEqual({
      type: "delegate",
      path: "/a",
      delegate: { type: "neg", path: "/b", dentry: dA },
    });
  });

  test("a union with no branches becomes a neg at its own path", () => {
    expect(delegate(Dtab.read("/a => /b"), "/a", [answering(NameTree.union())])).toEqual({
      type: "delegate",
      path: "/a",
      delegate: { type: "neg", path: "/b", dentry: dA },
    });
  });
});
