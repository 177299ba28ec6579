// Dentry-level diffs: canonical comparison (spacing never counts, order
// does), change lists with positions, and the unified text people read.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import { diffDtabs, formatDiff, sameDtab, summarize } from "../../../namer/ctl/diff.ts";
import { dtabs } from "./arbitraries.ts";

const base = Dtab.read("/srv=>/#/io.l5d.fs;/svc=>/srv");
const canary = Dtab.read("/srv => /#/io.l5d.fs;\n/svc/users => 1 * /srv/users-v2 & 9 * /srv/users;\n/svc => /srv;");

describe("sameDtab", () => {
  it("ignores spacing, comments and default weights but not order", () => {
    expect(sameDtab(base, Dtab.read("# c\n/srv  =>  /#/io.l5d.fs ;\n/svc=>/srv;"))).toBe(true);
    expect(sameDtab(Dtab.read("/a=>1*/b & 1*/c"), Dtab.read("/a=>/b&/c"))).toBe(true);
    expect(sameDtab(base, Dtab.read("/svc=>/srv;/srv=>/#/io.l5d.fs"))).toBe(false);
    expect(sameDtab(base, Dtab.read("/srv=>/#/io.l5d.fs"))).toBe(false);
  });
});

describe("diffDtabs", () => {
  it("lists added and removed dentries with their positions", () => {
    expect(diffDtabs(base, canary)).toEqual([{ op: "added", index: 1, prefix: "/svc/users", dst: "/srv/users-v2 & 9.00*/srv/users" }]);
    expect(diffDtabs(canary, base)).toEqual([{ op: "removed", index: 1, prefix: "/svc/users", dst: "/srv/users-v2 & 9.00*/srv/users" }]);
    expect(diffDtabs(base, Dtab.read("/srv=>/#/io.l5d.fs;/svc=>/srv/v2"))).toEqual([
      { op: "removed", index: 1, prefix: "/svc", dst: "/srv" },
      { op: "added", index: 1, prefix: "/svc", dst: "/srv/v2" },
    ]);
    expect(diffDtabs(base, base)).toEqual([]);
  });

  it("accounts for every dentry: kept + removed = before, kept + added = after, and no changes only for the same dtab", () => {
    fc.assert(
      fc.property(dtabs, dtabs, (a, b) => {
        const changes = diffDtabs(a, b);
        const added = changes.filter((c) => c.op === "added").length;
        const removed = changes.length - added;
        expect(a.length - removed).toBe(b.length - added);
        expect(changes.length === 0).toBe(sameDtab(a, b));
        for (const c of changes) expect(c.index).toBeLessThan(c.op === "added" ? b.length : a.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("formatDiff", () => {
  it("prints a unified diff counting dentries", () => {
    expect(formatDiff(base, canary, { from: "default version 1", to: "canary.dtab" })).toBe(
      [
        "--- default version 1",
        "+++ canary.dtab",
        "@@ -1,2 +1,3 @@",
        " /srv => /#/io.l5d.fs;",
        "+/svc/users => /srv/users-v2 & 9.00*/srv/users;",
        " /svc => /srv;",
        "",
      ].join("\n"),
    );
  });

  it("keeps three dentries of context, so distant changes come in separate hunks", () => {
    const before = Dtab.read(Array.from({ length: 12 }, (_, i) => `/p${i}=>/d${i}`).join(";"));
    const after = Dtab.read(Array.from({ length: 12 }, (_, i) => `/p${i}=>/d${i}${i === 0 || i === 11 ? "x" : ""}`).join(";"));
    const text = formatDiff(before, after, { from: "a", to: "b" });
    expect(text.match(/^@@ /gm)).toHaveLength(2);
    expect(text).toContain("@@ -1,4 +1,4 @@\n-/p0 => /d0;\n+/p0 => /d0x;\n");
    expect(text).not.toContain("/p5 => /d5;");
  });

  it("is empty for the same dtab, and coloured only when asked", () => {
    expect(formatDiff(base, Dtab.read("/srv => /#/io.l5d.fs ; /svc => /srv"), { from: "a", to: "b" })).toBe("");
    const coloured = formatDiff(base, canary, { from: "a", to: "b" }, { color: true });
    expect(coloured).toContain("\u001b[32m+/svc/users");
    expect(formatDiff(base, canary, { from: "a", to: "b" })).not.toContain("\u001b[");
  });

  it("shows creating from nothing as all additions", () => {
    expect(formatDiff(Dtab.empty, base, { from: "x (did not exist)", to: "f" })).toContain("@@ -0,0 +1,2 @@\n+/srv => /#/io.l5d.fs;\n+/svc => /srv;\n");
  });
});

describe("summarize", () => {
  it("counts added and removed dentries in words", () => {
    expect(summarize([])).toBe("no differences");
    expect(summarize(diffDtabs(base, canary))).toBe("1 dentry added");
    expect(summarize(diffDtabs(canary, Dtab.empty))).toBe("3 dentries removed");
    expect(summarize(diffDtabs(base, Dtab.read("/srv=>/a;/svc=>/b")))).toBe("2 dentries added, 2 removed");
  });
});
