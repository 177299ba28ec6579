// Binding (dtab-semantics §7–8): dtab first, namers on Neg, the system namers,
// alternates and unions, weights, depth accounting and failures.
import { describe, expect, it } from "vitest";
import { type BoundName, type BoundNameInput, Dtab, DtabError, NameTree, type Namer, Path, bind } from "../../dtab/index.ts";
import { thrown } from "../support/thrown.ts";

const b = (dtab: string, path: string, namers: Namer[] = []): NameTree<BoundName> =>
  bind(Dtab.read(dtab), Path.read(path), namers);
const showBound = (dtab: string, path: string, namers: Namer[] = []): string => NameTree.show(b(dtab, path, namers));

/** A namer that binds every name under it to one address and records what it was asked. */
function recordingNamer(prefix: string, answer: (residual: Path) => NameTree<Path | BoundNameInput>): Namer & { asked: string[] } {
  const asked: string[] = [];
  return {
    prefix: Path.read(prefix),
    asked,
    lookup(residual: Path) {
      asked.push(residual.show);
      return answer(residual);
    },
  };
}

const fsNamer = (addrs: Record<string, string[]>): Namer & { asked: string[] } =>
  recordingNamer("/#/io.l5d.fs", (residual) => {
    const name = residual.segments[0];
    if (name === undefined || !(name in addrs)) return NameTree.neg;
    return NameTree.leaf({
      id: Path.of("#", "io.l5d.fs", name),
      residual: residual.drop(1),
      addrs: addrs[name] as string[],
    });
  });

function onlyLeaf(tree: NameTree<BoundName>): BoundName {
  if (tree.type !== "leaf") throw new Error(`expected a leaf, got ${NameTree.show(tree)}`);
  return tree.value;
}

describe("system namers", () => {
  it("binds /$/inet/<host>/<port> with the rest as residual", () => {
    const leaf = onlyLeaf(b("", "/$/inet/127.0.0.1/8080/extra/bits"));
    expect(leaf.id.show).toBe("/$/inet/127.0.0.1/8080");
    expect(leaf.residual.show).toBe("/extra/bits");
    expect(leaf.addrs).toEqual(["127.0.0.1:8080"]);
    expect(leaf.weight).toBeUndefined();
  });

  it("tries host/port before port alone", () => {
    expect(onlyLeaf(b("", "/$/inet/1234/5678")).addrs).toEqual(["1234:5678"]);
    const portOnly = onlyLeaf(b("", "/$/inet/1234"));
    expect(portOnly.id.show).toBe("/$/inet/1234");
    expect(portOnly.addrs).toEqual([":1234"]);
    const withRest = onlyLeaf(b("", "/$/inet/1234/not-a-port"));
    expect(withRest.id.show).toBe("/$/inet/1234");
    expect(withRest.residual.show).toBe("/not-a-port");
  });

  it("parses ports like Integer.parseInt and keeps the original text in the id", () => {
    const leaf = onlyLeaf(b("", "/$/inet/127.1/080"));
    expect(leaf.id.show).toBe("/$/inet/127.1/080");
    expect(leaf.addrs).toEqual(["127.1:80"]);
    expect(onlyLeaf(b("", "/$/inet/h/\\x2b80")).addrs).toEqual(["h:80"]);
    expect(onlyLeaf(b("", "/$/inet/h/-1")).addrs).toEqual(["h:-1"]);
    // Past int32 is not a port, and "h" is not one either: this is /$/inet with no port, an unknown namer.
    expect(() => b("", "/$/inet/h/99999999999")).toThrow(DtabError);
  });

  it("supports fixedinet, nil and fail; brackets IPv6 hosts", () => {
    expect(onlyLeaf(b("", "/$/fixedinet/localhost/80")).addrs).toEqual(["localhost:80"]);
    expect(b("", "/$/nil")).toEqual(NameTree.empty);
    expect(b("", "/$/nil/anything")).toEqual(NameTree.empty);
    expect(b("", "/$/fail/x")).toEqual(NameTree.fail);
    expect(onlyLeaf(b("", "/$/inet/::1/80")).addrs).toEqual(["[::1]:80"]);
  });

  it("fails on unknown /$ namers, including /$/inet without a port", () => {
    for (const p of ["/$/inet", "/$/inet/host", "/$/nilly", "/$/com.example.Namer/x"]) {
      const e = thrown(() => b("", p)) as DtabError;
      expect(e.code, p).toBe("DTAB_ERR_UNKNOWN_NAMER");
    }
    expect((thrown(() => b("", "/$/inet/host")) as Error).message).toBe("Unknown namer: inet for path: /$/inet/host");
  });

  it("answers Neg for /$ alone and for /# paths with no namer", () => {
    expect(b("", "/$")).toEqual(NameTree.neg);
    expect(b("", "/#/io.l5d.fs/users")).toEqual(NameTree.neg);
    expect(b("", "/svc/users")).toEqual(NameTree.neg);
  });
});

describe("the dtab comes first", () => {
  it("rewrites until a namer binds", () => {
    expect(showBound("/svc=>/$/inet/127.0.0.1", "/svc/8080")).toBe("/$/inet/127.0.0.1/8080");
  });

  it("consults the dtab even for /$ paths", () => {
    expect(showBound("/$/inet/127.0.0.1/8080=>/$/inet/127.0.0.1/9090", "/$/inet/127.0.0.1/8080")).toBe(
      "/$/inet/127.0.0.1/9090",
    );
  });

  it("falls to the namers when the only matching dentry is ~, but not for ~ | ~ or !", () => {
    expect(showBound("/$/inet=>~", "/$/inet/127.0.0.1/80")).toBe("/$/inet/127.0.0.1/80");
    expect(b("/$/inet=>~ | ~", "/$/inet/127.0.0.1/80")).toEqual(NameTree.neg);
    expect(b("/$/inet=>!", "/$/inet/127.0.0.1/80")).toEqual(NameTree.fail);
  });
});

describe("configured namers", () => {
  it("gets the path minus its prefix, only when the dtab has no rule", () => {
    const fs = fsNamer({ users: ["10.0.0.1:80"] });
    const leaf = onlyLeaf(b("/svc=>/#/io.l5d.fs", "/svc/users/extra", [fs]));
    expect(fs.asked).toEqual(["/users/extra"]);
    expect(leaf.id.show).toBe("/#/io.l5d.fs/users");
    expect(leaf.residual.show).toBe("/extra");
    expect(leaf.addrs).toEqual(["10.0.0.1:80"]);
  });

  it("tries matching namers in order; a Neg answer falls through to the next", () => {
    const first = recordingNamer("/#/disco", () => NameTree.neg);
    const second = recordingNamer("/#/disco", () => NameTree.leaf({ id: "/#/disco/x", addrs: ["h:1"] }));
    const other = recordingNamer("/#/other", () => NameTree.leaf({ id: "/#/other", addrs: ["h:2"] }));
    expect(showBound("", "/#/disco/x", [other, first, second])).toBe("/#/disco/x");
    expect(other.asked).toEqual([]);
    expect(first.asked).toEqual(["/x"]);
    expect(second.asked).toEqual(["/x"]);
  });

  it("delegates path leaves a namer returns through the dtab again", () => {
    const rewriting = recordingNamer("/#/alias", (r) => NameTree.leaf(Path.read("/svc").concat(r)));
    expect(showBound("/svc=>/$/inet/127.0.0.1", "/#/alias/81", [rewriting])).toBe("/$/inet/127.0.0.1/81");
  });

  it("does not fall back when an address set is empty: only Neg falls through", () => {
    const fs = fsNamer({ empty: [] });
    const leaf = onlyLeaf(b("/svc=>/#/io.l5d.fs | /$/inet/127.0.0.1/1", "/svc/empty", [fs]));
    expect(leaf.addrs).toEqual([]);
    expect(leaf.id.show).toBe("/#/io.l5d.fs/empty");
  });

  it("turns a namer's exception into a failure of that branch", () => {
    const broken = recordingNamer("/#/broken", () => {
      throw new Error("backend down");
    });
    const e = thrown(() => b("/svc=>/#/broken", "/svc/a", [broken])) as DtabError;
    expect(e.code).toBe("DTAB_ERR_NAMER_FAILED");
    expect(e.message).toContain("backend down");
    expect((e.cause as Error).message).toBe("backend down");
  });
});

describe("alternates", () => {
  it("binds in order, falling through only on Neg", () => {
    expect(showBound("/svc=>/nothing | /$/inet/h/1 | /$/inet/h/2", "/svc")).toBe("/$/inet/h/1");
  });

  it("stops on Fail", () => {
    expect(b("/svc=>! | /$/inet/h/1", "/svc")).toEqual(NameTree.fail);
    expect(b("/svc=>/x | /$/inet/h/1; /x=>/$/fail", "/svc")).toEqual(NameTree.fail);
  });

  it("returns Empty and empty address sets without trying later branches", () => {
    expect(b("/svc=>$ | /$/inet/h/1", "/svc")).toEqual(NameTree.empty);
    expect(b("/svc=>/$/nil | /$/inet/h/1", "/svc")).toEqual(NameTree.empty);
  });

  it("never binds later branches, so their errors do not matter", () => {
    expect(showBound("/svc=>/$/inet/h/1 | /$/unknown", "/svc")).toBe("/$/inet/h/1");
  });

  it("fails as a whole when a branch errors before one binds", () => {
    expect((thrown(() => b("/svc=>/$/unknown | /$/inet/h/1", "/svc")) as DtabError).code).toBe("DTAB_ERR_UNKNOWN_NAMER");
  });

  it("lets later dentries take precedence through the Alt that lookup builds", () => {
    expect(showBound("/svc=>/$/inet/h/1; /svc=>/$/inet/h/2", "/svc")).toBe("/$/inet/h/2");
    expect(showBound("/svc=>/$/inet/h/1; /svc=>/nowhere", "/svc")).toBe("/$/inet/h/1");
  });
});

describe("unions", () => {
  it("binds every branch and keeps weights; leaves get the nearest union's weight", () => {
    const tree = b("/foo => 3*/baz & /$/inet/h/7070; /baz => 3*/$/inet/h/8080 & 2*/$/inet/h/9090", "/foo");
    expect(NameTree.show(tree)).toBe("3.00*(3.00*/$/inet/h/8080 & 2.00*/$/inet/h/9090) & /$/inet/h/7070");
    const weights: Record<string, number | undefined> = {};
    const walk = (t: NameTree<BoundName>): void => {
      if (t.type === "leaf") weights[t.value.id.show] = t.value.weight;
      if (t.type === "union") t.trees.forEach((w) => walk(w.tree));
    };
    walk(tree);
    expect(weights).toEqual({ "/$/inet/h/8080": 3, "/$/inet/h/9090": 2, "/$/inet/h/7070": 1 });
  });

  it("drops Neg and Fail branches and unwraps a single survivor", () => {
    const one = onlyLeaf(b("/svc=>0.2*/nothing & 0.8*/$/inet/h/1 & 0.5*!", "/svc"));
    expect(one.id.show).toBe("/$/inet/h/1");
    expect(one.weight).toBe(0.8);
    expect(b("/svc=>/nothing & /nowhere", "/svc")).toEqual(NameTree.neg);
    expect(b("/svc=>! & !", "/svc")).toEqual(NameTree.neg);
  });

  it("keeps Empty branches (they take their share and fail downstream)", () => {
    expect(showBound("/svc=>0.5*/$/nil & 0.5*/$/inet/h/1", "/svc")).toBe("0.50*$ & 0.50*/$/inet/h/1");
  });

  it("ignores failing branches when another succeeds, fails with the first error when none does", () => {
    expect(showBound("/svc=>/$/unknown & /$/inet/h/1", "/svc")).toBe("/$/inet/h/1");
    const e = thrown(() => b("/svc=>/$/first & /$/second", "/svc")) as DtabError;
    expect(e.message).toContain("first");
  });

  it("binds a one-branch union with that branch's weight", () => {
    const tree = bind(Dtab.empty, NameTree.union({ weight: 0.25, tree: NameTree.leaf(Path.read("/$/inet/h/1")) }));
    expect(onlyLeaf(tree).weight).toBe(0.25);
  });

  it("never leaves an Alt in a bound tree", () => {
    const tree = b("/svc=>(/$/inet/h/1 | /$/inet/h/2) & (/x | /$/inet/h/3)", "/svc");
    expect(NameTree.show(tree)).toBe("/$/inet/h/1 & /$/inet/h/3");
  });
});

describe("depth limit", () => {
  const chain = (rewrites: number): string =>
    Array.from({ length: rewrites }, (_, i) => `/p${i}=>/p${i + 1}`).join(";") + `;/p${rewrites}=>/$/inet/h/1`;

  it("allows 99 rewrites and the namer hit, fails at 100", () => {
    // chain(n) has n+1 dentries: /p0 → … → /p(n) → /$/inet, i.e. n+1 rewrites then the system namer.
    expect(showBound(chain(98), "/p0")).toBe("/$/inet/h/1");
    const e = thrown(() => b(chain(99), "/p0")) as DtabError;
    expect(e.code).toBe("DTAB_ERR_MAX_DEPTH");
    expect(e.message).toBe("Max recursion level: 100 reached in Namer lookup");
  });

  it("fails at 100 rewrites even when the last lookup would give Neg", () => {
    const toNeg = Array.from({ length: 100 }, (_, i) => `/p${i}=>/p${i + 1}`).join(";");
    expect((thrown(() => b(toNeg, "/p0")) as DtabError).code).toBe("DTAB_ERR_MAX_DEPTH");
    const shorter = Array.from({ length: 99 }, (_, i) => `/p${i}=>/p${i + 1}`).join(";");
    expect(b(shorter, "/p0")).toEqual(NameTree.neg);
  });

  it("catches loops and honours maxDepth", () => {
    expect((thrown(() => b("/a=>/b;/b=>/a", "/a")) as DtabError).code).toBe("DTAB_ERR_MAX_DEPTH");
    expect(() => bind(Dtab.read(chain(3)), Path.read("/p0"), [], { maxDepth: 4 })).toThrow(DtabError);
    expect(NameTree.show(bind(Dtab.read(chain(3)), Path.read("/p0"), [], { maxDepth: 5 }))).toBe("/$/inet/h/1");
  });

  it("a loop in one union branch does not fail the others", () => {
    expect(showBound("/svc=>/loop & /$/inet/h/1; /loop=>/loop", "/svc")).toBe("/$/inet/h/1");
  });

  it("gives up on unions that loop back on themselves instead of running for ages", () => {
    const started = Date.now();
    const e = thrown(() => b("/a=>/a & /a", "/a")) as DtabError;
    expect(e.code).toBe("DTAB_ERR_TOO_COMPLEX");
    expect(Date.now() - started).toBeLessThan(5_000);
    // The budget is for the whole bind: a branch that ran it out fails the union even though another bound.
    expect((thrown(() => b("/svc=>/$/inet/h/1 & /a; /a=>/a & /a", "/svc")) as DtabError).code).toBe("DTAB_ERR_TOO_COMPLEX");
    expect(() => bind(Dtab.read("/a=>/b & /c; /b=>/$/inet/h/1; /c=>/$/inet/h/2"), Path.read("/a"), [], { maxLookups: 2 })).toThrow(DtabError);
    expect(NameTree.show(bind(Dtab.read("/a=>/b & /c; /b=>/$/inet/h/1; /c=>/$/inet/h/2"), Path.read("/a"), [], { maxLookups: 5 }))).toBe(
      "/$/inet/h/1 & /$/inet/h/2",
    );
  });
});

describe("bind inputs", () => {
  it("accepts strings and trees as well as a Dtab and a Path", () => {
    expect(NameTree.show(bind("/svc=>/$/inet/h", "/svc/1"))).toBe("/$/inet/h/1");
    const tree = NameTree.read("/nothing | /$/inet/h/2");
    expect(NameTree.show(bind(Dtab.empty, tree))).toBe("/$/inet/h/2");
  });
});
