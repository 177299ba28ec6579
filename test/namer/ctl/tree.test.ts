// namerctl's drawings of bound names: the bind tree (weights, ids,
// residuals, addresses and their meta, every node kind) and address sets,
// and the address meta that dtab/explain.ts now shows in delegations.
import { describe, expect, it } from "vitest";
import type { AddrJson, DelegateJson } from "../../../dtab/index.ts";
import { formatDelegateTree, formatMeta } from "../../../dtab/explain.ts";
import { formatAddrSet, formatBindTree } from "../../../namer/ctl/tree.ts";

const bound = (addrs: Array<[string, number, Record<string, unknown>?]>, meta: Record<string, unknown> = {}): AddrJson => ({
  type: "bound",
  addrs: addrs.map(([ip, port, m]) => ({ ip, port, meta: m ?? {} })),
  meta,
});

const leaf = (id: string, addr: AddrJson, residual = "/"): DelegateJson => ({ type: "leaf", path: "/svc/web", bound: { addr, id, path: residual } });

describe("formatBindTree", () => {
  it("draws a single bound name on the path's line, its addresses under it with meta aligned", () => {
    const tree = leaf("/#/io.l5d.fs/web", bound([["10.0.0.1", 8080], ["10.0.0.12", 8080, { zone: "eu-1a", weight: 2, nodeName: "node 7" }], ["fd00::1", 80]]), "/api");
    expect(formatBindTree(tree)).toBe(
      [
        "/svc/web ⇒ /#/io.l5d.fs/web  residual /api  3 addresses",
        "├─ 10.0.0.1:8080",
        '├─ 10.0.0.12:8080  weight=2 zone=eu-1a nodeName="node 7"',
        "└─ [fd00::1]:80",
      ].join("\n"),
    );
  });

  it("draws unions with weights and alternates, nested, with the tree lines continuing past deeper branches", () => {
    const tree: DelegateJson = {
      type: "union",
      path: "/svc/web",
      union: [
        { weight: 0.7, tree: { type: "alt", path: "/svc/web", alt: [leaf("/#/a/web", { type: "neg" }), leaf("/#/b/web", bound([["10.0.0.2", 1]]))] } },
        { weight: 0.3, tree: leaf("/$/inet/127.0.0.1/9000", bound([["127.0.0.1", 9000]])) },
      ],
    };
    expect(formatBindTree(tree)).toBe(
      [
        "/svc/web  union (balanced by weight)",
        "├─ 0.7 × alternates (the first with addresses is used)",
        "│  ├─ /#/a/web  no addresses (neg: discovery does not know the name)",
        "│  └─ /#/b/web  1 address",
        "│     └─ 10.0.0.2:1",
        "└─ 0.3 × /$/inet/127.0.0.1/9000  1 address",
        "   └─ 127.0.0.1:9000",
      ].join("\n"),
    );
  });

  it("says what every other node and address set is", () => {
    expect(formatBindTree({ type: "neg", path: "/svc/x" })).toBe("/svc/x  ✗ no binding (neg)");
    expect(formatBindTree({ type: "fail", path: "!" })).toBe("!  ✗ binding fails (fail)");
    expect(formatBindTree({ type: "empty", path: "/svc/x" })).toBe("/svc/x  ∅ empty (bound, no addresses)");
    expect(formatBindTree({ type: "exception", path: "/svc/x", message: "Max recursion level reached. [DTAB_ERR_MAX_DEPTH]" })).toBe(
      "/svc/x  ✗ error: Max recursion level reached. [DTAB_ERR_MAX_DEPTH]",
    );
    expect(formatBindTree(leaf("/#/a/web", { type: "pending" }))).toBe("/svc/web ⇒ /#/a/web  pending (discovery has not answered yet)");
    expect(formatBindTree(leaf("/#/a/web", { type: "failed", cause: "ENOENT" }))).toBe("/svc/web ⇒ /#/a/web  ✗ discovery failed: ENOENT");
    expect(formatBindTree(leaf("/#/a/web", bound([], { region: "eu" })))).toBe("/svc/web ⇒ /#/a/web  no addresses  region=eu");
  });
});

describe("formatAddrSet", () => {
  it("lists one address a line with its meta, the set's meta last", () => {
    expect(formatAddrSet(bound([["10.0.0.1", 80], ["10.0.0.100", 80, { weight: 0.5 }]]))).toBe("10.0.0.1:80\n10.0.0.100:80  weight=0.5");
    expect(formatAddrSet(bound([["10.0.0.1", 80]], { region: "eu" }))).toBe("10.0.0.1:80\n(set: region=eu)");
  });

  it("says what a set without addresses is", () => {
    expect(formatAddrSet(bound([]))).toBe("no addresses (the name is bound, but its address set is empty)");
    expect(formatAddrSet({ type: "neg" })).toBe("no addresses: the path does not bind to anything (neg)");
    expect(formatAddrSet({ type: "pending" })).toBe("pending: discovery has not answered yet");
    expect(formatAddrSet({ type: "failed", cause: "boom" })).toBe("failed: boom");
  });
});

describe("address meta in explanations (dtab/explain.ts)", () => {
  it("puts weight, zone and nodeName first and quotes values that would not stay one word", () => {
    expect(formatMeta({ custom: "x", nodeName: "n1", weight: 3, zone: "z" })).toBe("weight=3 zone=z nodeName=n1 custom=x");
    expect(formatMeta({ note: "two words", eq: "a=b", flag: true, list: [1, 2] })).toBe('note="two words" eq="a=b" flag=true list=[1,2]');
    expect(formatMeta({})).toBe("");
    expect(formatMeta(undefined)).toBe("");
  });

  it("shows an address's meta in a delegation leaf, and nothing extra for addresses without", () => {
    const text = formatDelegateTree({ type: "delegate", path: "/svc/web", delegate: { ...leaf("/#/fs/web", bound([["10.0.0.1", 80], ["10.0.0.2", 80, { zone: "a" }]])), dentry: { prefix: "/svc", dst: "/#/fs" } } });
    expect(text).toBe("/svc/web\n└─ /svc/web  via /svc=>/#/fs  ⇒ bound /#/fs/web: 10.0.0.1:80, 10.0.0.2:80 (zone=a)");
  });
});
