// namerctl's text output: aligned dtabs that parse back to the same dtab,
// the `get` header, and the history table.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import type { HistoryEntry } from "../../../namer/ctl/client.ts";
import { formatHistory, formatTable, formatVersionedDtab, prettyDtab } from "../../../namer/ctl/format.ts";
import { dtabs } from "./arbitraries.ts";

describe("prettyDtab", () => {
  it("puts one dentry on a line with the arrows aligned", () => {
    const d = Dtab.read("/srv=>/#/io.l5d.fs;/svc/users=>1*/srv/users-v2 & 9*/srv/users;/svc=>/srv|/srv/fallback");
    expect(prettyDtab(d)).toBe(
      ["/srv       => /#/io.l5d.fs ;", "/svc/users => /srv/users-v2 & 9.00*/srv/users ;", "/svc       => /srv | /srv/fallback ;", ""].join("\n"),
    );
  });

  it("prints nothing for the empty dtab, and `get` says so in a comment", () => {
    expect(prettyDtab(Dtab.empty)).toBe("");
    expect(formatVersionedDtab("4", Dtab.empty)).toBe("# version 4\n# (empty dtab)\n");
    expect(Dtab.read(formatVersionedDtab("4", Dtab.empty)).length).toBe(0);
  });

  it("parses back to the same dtab, with or without the version header", () => {
    fc.assert(
      fc.property(dtabs, (d) => {
        expect(Dtab.read(prettyDtab(d)).show).toBe(d.show);
        expect(Dtab.read(formatVersionedDtab("12", d)).show).toBe(d.show);
      }),
      { numRuns: 500 },
    );
  });
});

describe("formatHistory", () => {
  const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
    version: "1",
    action: "create",
    dtab: "/a=>/b",
    at: "2025-03-04T05:06:07.890Z",
    actor: "token-1:alice",
    source: "10.0.0.7",
    ...over,
  });

  it("lays entries out as a table, newest first as given, rollbacks naming the version they restored", () => {
    const text = formatHistory([
      entry({ version: "3", action: "rollback", restoredVersion: "1", previousVersion: "2", actor: "local" }),
      entry({ version: "2", action: "update", previousVersion: "1" }),
      entry({}),
    ]);
    expect(text).toBe(
      [
        "VERSION  ACTION         WHEN                  WHO            FROM",
        "3        rollback to 1  2025-03-04T05:06:07Z  local          10.0.0.7",
        "2        update         2025-03-04T05:06:07Z  token-1:alice  10.0.0.7",
        "1        create         2025-03-04T05:06:07Z  token-1:alice  10.0.0.7",
        "",
      ].join("\n"),
    );
  });

  it("says so when there is no history, and keeps a timestamp it cannot read", () => {
    expect(formatHistory([])).toBe("no history\n");
    expect(formatHistory([entry({ at: "yesterday" })])).toContain("  yesterday  ");
  });

  it("pads every column but the last", () => {
    expect(formatTable(["A", "B"], [["long cell", "x"]])).toBe("A          B\nlong cell  x\n");
  });
});
