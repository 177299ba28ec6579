// The bind document codec: namerd's bind JSON read back into the interpreter's
// Binding exactly as the namer rendered it, strictly (a malformed document is
// a BindDocumentError, never a crash and never an empty binding).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dtab, NameTree, Path } from "../../../dtab/index.ts";
import { silentLogger } from "../../../lib/log.ts";
import { bindingKey, NameInterpreter, type Binding, type BoundLeaf } from "../../../namer/interpreter/interpreter.ts";
import type { Addr } from "../../../namer/namers/types.ts";
import { MemoryDtabStore } from "../../../namer/store/memory.ts";
import { BindDocumentError, bindingJson, decodeAddr, decodeBinding, parseBindDocument } from "../../../namer/wire/index.ts";
import { thrown } from "../../support/thrown.ts";
import { TableNamer } from "../../support/table-namer.ts";

const p = Path.read;

function leafJson(id: string, addrs: { ip: string; port: number; meta?: Record<string, unknown> }[], residual = "/") {
  return { type: "leaf", path: "/svc/users", bound: { addr: { type: "bound", addrs: addrs.map((a) => ({ meta: {}, ...a })), meta: {} }, id, path: residual } };
}

function ok(b: Binding): NameTree<BoundLeaf> {
  if (b.type !== "ok") throw new Error(`expected an ok binding, got ${JSON.stringify(b)}`);
  return b.tree;
}

describe("decodeBinding", () => {
  it("reads a leaf: id and residual as paths, addresses with their metadata", () => {
    const doc = leafJson("/$/inet/127.0.0.1/8080", [{ ip: "127.0.0.1", port: 8080, meta: { nodeName: "n1", weight: 2 } }], "/extra/more");
    const tree = ok(decodeBinding(doc));
    expect(tree.type).toBe("leaf");
    const leaf = (tree as { value: BoundLeaf }).value;
    expect(leaf.id.show).toBe("/$/inet/127.0.0.1/8080");
    expect(leaf.residual.show).toBe("/extra/more");
    expect(leaf.addr).toEqual({ type: "bound", addrs: [{ host: "127.0.0.1", port: 8080, meta: { nodeName: "n1", weight: 2 } }], meta: {} });
    expect(leaf.weight).toBeUndefined();
  });

  it("keeps union weights, on the branches and on their leaves, and reads alternates and the empty kinds", () => {
    const doc = {
      type: "alt",
      path: "/svc/users",
      alt: [
        { type: "neg", path: "~" },
        {
          type: "union",
          path: "/svc/users",
          union: [
            { weight: 0.75, tree: leafJson("/$/inet/10.0.0.1/80", [{ ip: "10.0.0.1", port: 80 }]) },
            { weight: 0.25, tree: { type: "alt", path: "/svc/users", alt: [{ type: "fail", path: "!" }, { type: "empty", path: "/x" }] } },
          ],
        },
      ],
    };
    const tree = ok(decodeBinding(doc));
    expect(NameTree.show(NameTree.map(tree, (l) => ({ id: l.id })))).toBe("~ | 0.75*/$/inet/10.0.0.1/80 & 0.25*(! | $)");
    const union = (tree as { readonly trees: readonly NameTree<BoundLeaf>[] }).trees[1] as { type: "union"; trees: { weight: number; tree: NameTree<BoundLeaf> }[] };
    expect(union.trees.map((w) => w.weight)).toEqual([0.75, 0.25]);
    expect((union.trees[0]?.tree as { value: BoundLeaf }).value.weight).toBe(0.75);
  });

  it("reads delegate nodes (namerd's delegator JSON) through to their child", () => {
    const doc = { type: "delegate", path: "/svc/users", dentry: { prefix: "/svc", dst: "/$/inet/a/1" }, delegate: leafJson("/$/inet/a/1", []) };
    expect(NameTree.show(NameTree.map(ok(decodeBinding(doc)), (l) => ({ id: l.id })))).toBe("/$/inet/a/1");
  });

  it("reads neg, pending and failed address sets", () => {
    expect(decodeAddr({ type: "neg" })).toEqual({ type: "neg" });
    expect(decodeAddr({ type: "pending" })).toEqual({ type: "pending" });
    expect(decodeAddr({ type: "failed", cause: "dns down" })).toEqual({ type: "failed", cause: "dns down" });
  });

  it("drops metadata values an address cannot hold instead of failing the binding", () => {
    const doc = leafJson("/$/inet/a/1", [{ ip: "a", port: 1, meta: { zone: "z1", canary: true, nested: { x: 1 }, n: 3 } }]);
    const leaf = (ok(decodeBinding(doc)) as { value: BoundLeaf }).value;
    expect(leaf.addr.type === "bound" && leaf.addr.addrs[0]?.meta).toEqual({ zone: "z1", n: 3 });
  });

  it("turns an exception node into a failed binding, with the code the namer appended", () => {
    expect(decodeBinding({ type: "exception", path: "/svc/a", message: "Max recursion level: 100 reached [DTAB_ERR_MAX_DEPTH]" })).toEqual({
      type: "failed",
      code: "DTAB_ERR_MAX_DEPTH",
      cause: "Max recursion level: 100 reached",
    });
    expect(decodeBinding({ type: "exception", path: "/svc/a", message: "boom" })).toEqual({ type: "failed", code: "NAMER_ERR_BINDING_FAILED", cause: "boom" });
    expect(decodeBinding({ type: "exception", path: "/svc/a", message: "boom", code: "DTAB_ERR_UNKNOWN_NAMER" })).toEqual({ type: "failed", code: "DTAB_ERR_UNKNOWN_NAMER", cause: "boom" });
    const nested = { type: "union", path: "/a", union: [{ weight: 1, tree: { type: "exception", path: "/a", message: "namer down" } }] };
    expect(decodeBinding(nested)).toEqual({ type: "failed", code: "NAMER_ERR_BINDING_FAILED", cause: "namer down" });
  });

  const malformed: [string, unknown, string][] = [
    ["null", null, "$"],
    ["an array", [], "$"],
    ["no type", { path: "/a" }, "$.type"],
    ["an unknown node type", { type: "tree" }, "$.type"],
    ["a leaf without bound", { type: "leaf", path: "/a" }, "$.bound"],
    ["a leaf id that is not a path", leafJson("svc", []), "$.bound.id"],
    ["a residual that is not a string", { type: "leaf", bound: { id: "/a", path: 3, addr: { type: "neg" } } }, "$.bound.path"],
    ["an address without a port", { type: "leaf", bound: { id: "/a", addr: { type: "bound", addrs: [{ ip: "a" }] } } }, "$.bound.addr.addrs[0].port"],
    ["a port out of range", leafJson("/a", [{ ip: "a", port: 70000 }]), "$.bound.addr.addrs[0].port"],
    ["an empty ip", leafJson("/a", [{ ip: "", port: 1 }]), "$.bound.addr.addrs[0].ip"],
    ["an unknown address type", { type: "leaf", bound: { id: "/a", addr: { type: "sort-of" } } }, "$.bound.addr.type"],
    ["a failed address without a cause", { type: "leaf", bound: { id: "/a", addr: { type: "failed" } } }, "$.bound.addr.cause"],
    ["addrs that are not a list", { type: "leaf", bound: { id: "/a", addr: { type: "bound", addrs: {} } } }, "$.bound.addr.addrs"],
    ["a negative weight", { type: "union", union: [{ weight: -1, tree: { type: "neg" } }] }, "$.union[0].weight"],
    ["a weight that is a string", { type: "union", union: [{ weight: "1", tree: { type: "neg" } }] }, "$.union[0].weight"],
    ["alternates that are not a list", { type: "alt", alt: "x" }, "$.alt"],
    ["a path that is not a string", { type: "neg", path: 1 }, "$.path"],
    ["an exception without a message", { type: "exception" }, "$.message"],
    ["an exception code that is not a string", { type: "exception", message: "x", code: 5 }, "$.code"],
  ];
  for (const [what, doc, at] of malformed) {
    it(`rejects ${what} (at ${at})`, () => {
      const e = thrown(() => decodeBinding(doc));
      expect(e).toBeInstanceOf(BindDocumentError);
      expect((e as BindDocumentError).at).toBe(at);
    });
  }

  it("rejects trees nested absurdly deep without blowing the stack", () => {
    let doc: unknown = { type: "neg" };
    for (let i = 0; i < 5000; i++) doc = { type: "alt", alt: [doc] };
    expect(thrown(() => decodeBinding(doc))).toBeInstanceOf(BindDocumentError);
  });

  it("rejects lines that are not JSON, such as a namer's plain-text last words", () => {
    expect(thrown(() => parseBindDocument("internal error, closing stream"))).toBeInstanceOf(BindDocumentError);
    expect(thrown(() => parseBindDocument('{"type":"leaf"'))).toBeInstanceOf(BindDocumentError);
  });
});

const addrArb: fc.Arbitrary<Addr> = fc.oneof(
  fc.record({
    type: fc.constant("bound" as const),
    addrs: fc.array(
      fc.record({
        host: fc.constantFrom("127.0.0.1", "10.0.0.2", "::1", "users.example"),
        port: fc.integer({ min: 0, max: 65535 }),
        meta: fc.dictionary(fc.constantFrom("nodeName", "zone", "weight", "x y"), fc.oneof(fc.string(), fc.integer())),
      }),
      { maxLength: 3 },
    ),
    meta: fc.dictionary(fc.constantFrom("a", "b"), fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }))),
  }),
  fc.constant({ type: "neg" as const }),
  fc.constant({ type: "pending" as const }),
  fc.string().map((cause) => ({ type: "failed" as const, cause })),
);
const label = fc.constantFrom("svc", "$", "inet", "127.0.0.1", "8080", "#", "io.l5d.fs", "a b", "ü");
const pathArb = fc.array(label, { maxLength: 4 }).map((ls) => Path.of(...ls));
const leafArb = fc.record({ id: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => Path.of(...ls)), residual: pathArb, addr: addrArb });
const treeArb = fc.letrec<{ tree: NameTree<BoundLeaf> }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb.map((l) => NameTree.leaf(l)),
    fc.constantFrom(NameTree.neg, NameTree.fail, NameTree.empty),
    fc.array(tie("tree"), { minLength: 1, maxLength: 3 }).map((ts) => NameTree.alt(...ts)),
    fc.array(fc.record({ weight: fc.double({ min: 0, max: 100, noNaN: true }), tree: tie("tree") }), { minLength: 1, maxLength: 3 }).map((ws) => NameTree.union(...ws)),
  ),
})).tree;

describe("decodeBinding (properties)", () => {
  it("reads back exactly what the namer sends: render(decode(wire)) = wire, where wire = JSON of render(b)", () => {
    // Compared with what crossed the wire, not with the rendered object: JSON
    // has no -0 (metadata -0 arrives as 0), and the property is about the wire.
    fc.assert(
      fc.property(pathArb, treeArb, (path, tree) => {
        const wire: unknown = JSON.parse(JSON.stringify(bindingJson(path, { type: "ok", tree })));
        const again = bindingJson(path, decodeBinding(wire));
        expect(again).toEqual(wire);
      }),
    );
  });

  it("never throws anything but BindDocumentError, whatever the input", () => {
    const jsonish = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom(null, true, 0, -1, 1.5, 70000, "", "/a", "leaf", "bound", "union", "alt"),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom("type", "path", "bound", "addr", "addrs", "id", "ip", "port", "meta", "union", "alt", "weight", "tree", "message", "cause", "delegate"), tie("v"), {
          maxKeys: 5,
        }),
      ),
    })).v;
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string().map((s) => ({ raw: s }))), (input) => {
        const text = typeof input === "object" && input !== null && "raw" in input ? (input as { raw: string }).raw : JSON.stringify(input);
        try {
          const b = parseBindDocument(text);
          expect(["ok", "failed"]).toContain(b.type);
        } catch (e) {
          expect(e).toBeInstanceOf(BindDocumentError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("decodeBinding mirrors the in-process interpreter", () => {
  it("decodes the namer's rendering of a live binding to the same Binding (ids, residuals, weights, addresses)", async () => {
    const store = await MemoryDtabStore.open({
      namespaces: { default: "/svc => 3 * /#/table/a & 1 * (/#/table/b | /$/inet/127.0.0.1/9)" },
    });
    const table = new TableNamer();
    table.set("a", ["10.0.0.1:80", "10.0.0.2:81"]);
    table.set("b", ["10.0.1.1:80"]);
    const interpreter = new NameInterpreter(store, [table], { logger: silentLogger });
    try {
      for (const [path, local] of [
        ["/svc/users/extra", Dtab.empty],
        ["/svc/x", Dtab.read("/svc/x => /$/inet/127.0.0.1/7")],
      ] as const) {
        const live = interpreter.bind("default", p(path), local);
        const b = live.current();
        expect(b.type).toBe("ok");
        const wire = JSON.parse(JSON.stringify(bindingJson(p(path), b)));
        expect(bindingKey(decodeBinding(wire))).toBe(bindingKey(b));
        live.close();
      }
    } finally {
      interpreter.close();
      await store.close();
    }
  });
});
