// The delegation explanation in Linkerd's /delegator.json shape
// (dtab-semantics §10): node types, dentries, path printing, simplification,
// errors kept as nodes, and the text rendering used by the CLIs.
import { describe, expect, it } from "vitest";
import { Dtab, type DtabError, NameTree, type Namer, Path, canonicalIp, delegate } from "../../dtab/index.ts";
import { formatDelegateTree } from "../../dtab/explain.ts";
import { thrown } from "../support/thrown.ts";

const explain = (dtab: string, path: string, namers: Namer[] = []) => delegate(Dtab.read(dtab), Path.read(path), namers);
const inetBound = (id: string, ip: string, port: number, residual = "/") => ({
  addr: { type: "bound", addrs: [{ ip, port, meta: {} }], meta: {} },
  id,
  path: residual,
});

describe("delegate", () => {
  it("shows each rewrite with the dentry that produced it, down to the bound leaf", () => {
    expect(explain("/foo=>/bar;/bar=>/$/inet/127.1/8080", "/foo")).toEqual({
      type: "delegate",
      path: "/foo",
      delegate: {
        type: "delegate",
        path: "/bar",
        dentry: { prefix: "/foo", dst: "/bar" },
        delegate: {
          type: "leaf",
          path: "/$/inet/127.1/8080",
          dentry: { prefix: "/bar", dst: "/$/inet/127.1/8080" },
          bound: inetBound("/$/inet/127.1/8080", "127.0.0.1", 8080),
        },
      },
    });
  });

  it("writes members in Linkerd's order: type, path, dentry, then the rest", () => {
    const json = explain("/foo=>/bar;/bar=>/$/inet/127.1/8080", "/foo");
    expect(Object.keys(json)).toEqual(["type", "path", "delegate"]);
    const inner = (json as unknown as { delegate: Record<string, unknown> }).delegate;
    expect(Object.keys(inner)).toEqual(["type", "path", "dentry", "delegate"]);
  });

  it("shows every alternate (unlike bind), with Neg and Fail kept", () => {
    expect(explain("/foo=>/bah | /beh | /$/fail", "/foo")).toEqual({
      type: "alt",
      path: "/foo",
      alt: [
        { type: "neg", path: "/bah", dentry: { prefix: "/foo", dst: "/bah | /beh | /$/fail" } },
        { type: "neg", path: "/beh", dentry: { prefix: "/foo", dst: "/bah | /beh | /$/fail" } },
        { type: "fail", path: "/$/fail", dentry: { prefix: "/foo", dst: "/bah | /beh | /$/fail" } },
      ],
    });
  });

  it("lists several matching dentries last-first and splices alternates at the same path", () => {
    expect(explain("/a=>/b | /c;/a=>/d", "/a")).toEqual({
      type: "alt",
      path: "/a",
      alt: [
        { type: "neg", path: "/d", dentry: { prefix: "/a", dst: "/d" } },
        { type: "neg", path: "/b", dentry: { prefix: "/a", dst: "/b | /c" } },
        { type: "neg", path: "/c", dentry: { prefix: "/a", dst: "/b | /c" } },
      ],
    });
  });

  it("prints an explicit ~ as path \"~\" and does not ask the namers (unlike bind)", () => {
    expect(explain("/$/inet=>~", "/$/inet/127.0.0.1/80")).toEqual({
      type: "delegate",
      path: "/$/inet/127.0.0.1/80",
      delegate: { type: "neg", path: "~", dentry: { prefix: "/$/inet", dst: "~" } },
    });
  });

  it("prints ! as path \"!\" and /$/fail paths as themselves", () => {
    expect(explain("/foo=>!", "/foo")).toEqual({
      type: "delegate",
      path: "/foo",
      delegate: { type: "fail", path: "!", dentry: { prefix: "/foo", dst: "!" } },
    });
    expect(explain("", "/$/fail/x")).toEqual({ type: "fail", path: "/$/fail/x" });
  });

  it("shows empty bindings", () => {
    expect(explain("/foo=>$", "/foo")).toEqual({
      type: "delegate",
      path: "/foo",
      delegate: { type: "empty", path: "/foo", dentry: { prefix: "/foo", dst: "$" } },
    });
    expect(explain("", "/$/nil")).toEqual({ type: "empty", path: "/$/nil" });
  });

  it("keeps union weights as {weight, tree}", () => {
    const dst = "0.30*/$/inet/127.1/1 & 0.70*/$/inet/127.1/2";
    expect(explain(`/foo=>${dst}`, "/foo")).toEqual({
      type: "union",
      path: "/foo",
      union: [
        { weight: 0.3, tree: { type: "leaf", path: "/$/inet/127.1/1", dentry: { prefix: "/foo", dst }, bound: inetBound("/$/inet/127.1/1", "127.0.0.1", 1) } },
        { weight: 0.7, tree: { type: "leaf", path: "/$/inet/127.1/2", dentry: { prefix: "/foo", dst }, bound: inetBound("/$/inet/127.1/2", "127.0.0.1", 2) } },
      ],
    });
  });

  it("reports the residual of a bound name", () => {
    const json = explain("/svc=>/$/inet/127.0.0.1/80", "/svc/extra");
    expect(json).toMatchObject({ type: "delegate", delegate: { type: "leaf", bound: { id: "/$/inet/127.0.0.1/80", path: "/extra" } } });
  });

  it("asks configured namers and records their errors as exception nodes", () => {
    const namers: Namer[] = [
      { prefix: Path.read("/#/ok"), lookup: (r) => NameTree.leaf({ id: Path.of("#", "ok").concat(r), addrs: ["10.1.1.1:80", "10.1.1.2:80"] }) },
      {
        prefix: Path.read("/#/broken"),
        lookup: () => {
          throw new Error("zookeeper unreachable");
        },
      },
    ];
    expect(explain("/svc=>/#/broken | /#/ok", "/svc/users", namers)).toEqual({
      type: "alt",
      path: "/svc/users",
      alt: [
        { type: "exception", path: "/#/broken/users", dentry: { prefix: "/svc", dst: "/#/broken | /#/ok" }, message: expect.stringContaining("zookeeper unreachable") },
        {
          type: "leaf",
          path: "/#/ok/users",
          dentry: { prefix: "/svc", dst: "/#/broken | /#/ok" },
          bound: {
            addr: { type: "bound", addrs: [{ ip: "10.1.1.1", port: 80, meta: {} }, { ip: "10.1.1.2", port: 80, meta: {} }], meta: {} },
            id: "/#/ok/users",
            path: "/",
          },
        },
      ],
    });
  });

  it("shows an unknown /$ namer as an exception node", () => {
    expect(explain("", "/$/inet/host")).toEqual({ type: "exception", path: "/$/inet/host", message: "Unknown namer: inet for path: /$/inet/host" });
  });

  it("turns a loop inside a several-branch node into an exception there, and fails at the root otherwise", () => {
    const json = explain("/svc=>/loop & /$/inet/127.0.0.1/1;/loop=>/loop", "/svc");
    expect(json.type).toBe("union");
    const branches = (json as unknown as { union: { tree: { type: string; path: string; message?: string } }[] }).union;
    expect(branches[0]?.tree).toMatchObject({ type: "exception", path: "/svc", message: "Max recursion level reached." });
    expect(branches[1]?.tree.type).toBe("leaf");
    const e = thrown(() => explain("/a=>/b;/b=>/a", "/a")) as DtabError;
    expect(e.code).toBe("DTAB_ERR_MAX_DEPTH");
  });

  it("fails as a whole, quickly, when alternates or unions loop back on themselves", () => {
    expect((thrown(() => explain("/a=>/a | /a", "/a")) as DtabError).code).toBe("DTAB_ERR_TOO_COMPLEX");
    expect((thrown(() => explain("/a=>/a & /a", "/a")) as DtabError).code).toBe("DTAB_ERR_TOO_COMPLEX");
  });

  it("shows Neg with the path when nothing matches at all", () => {
    expect(explain("/a=>/b", "/c")).toEqual({ type: "neg", path: "/c" });
  });
});

describe("canonicalIp (Java's InetAddress for IPv4 literals)", () => {
  it("expands short forms and leaves names alone", () => {
    expect(canonicalIp("127.1")).toBe("127.0.0.1");
    expect(canonicalIp("10")).toBe("0.0.0.10");
    expect(canonicalIp("1.2.3")).toBe("1.2.0.3");
    expect(canonicalIp("192.168.1.1")).toBe("192.168.1.1");
    expect(canonicalIp("localhost")).toBe("localhost");
    expect(canonicalIp("300.1.1.1")).toBe("300.1.1.1");
  });
});

describe("formatDelegateTree", () => {
  it("draws one line per step with dentries, weights and bindings", () => {
    const text = formatDelegateTree(explain("/svc=>/#/io.l5d.fs | /$/inet/127.1/9000;/svc/web=>0.7*/$/inet/127.0.0.1/8080 & 0.3*/$/inet/127.0.0.1/8081", "/svc/web"));
    const lines = text.split("\n");
    expect(lines[0]).toBe("/svc/web  (alternates: the first that binds wins)");
    expect(text).toContain("0.7 × /$/inet/127.0.0.1/8080  via /svc/web=>0.70*/$/inet/127.0.0.1/8080 & 0.30*/$/inet/127.0.0.1/8081  ⇒ bound /$/inet/127.0.0.1/8080: 127.0.0.1:8080");
    expect(text).toContain("├─ /#/io.l5d.fs/web  via /svc=>/#/io.l5d.fs | /$/inet/127.1/9000  ✗ no binding (neg)");
    expect(lines.at(-1)).toBe("└─ /$/inet/127.1/9000/web  via /svc=>/#/io.l5d.fs | /$/inet/127.1/9000  ⇒ bound /$/inet/127.1/9000 (residual /web): 127.0.0.1:9000");
  });
});
