// The edit loop against a fake namer and a scripted editor: every way out of
// it (saved, unchanged, cancelled, conflict then saved, parse error then
// fixed, failures that keep the operator's text).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import type { NamespaceDtab } from "../../../namer/ctl/client.ts";
import { editNamespace, editedBody, editorCommand, renderEditFile, type EditDeps } from "../../../namer/ctl/edit.ts";
import { ApiError, CtlError } from "../../../namer/ctl/errors.ts";

/** A namer with one namespace held in memory, compare-and-set like the real one. */
class FakeNamer {
  state: NamespaceDtab | undefined;
  readonly writes: string[] = [];
  failNextUpdate: ApiError | undefined;

  constructor(text: string) {
    this.state = { namespace: "ns", version: "1", dtab: Dtab.read(text) };
  }

  /** Versions only grow, across deletes too, as in the real stores. */
  #last = 1;

  set(text: string): void {
    this.#last++;
    this.state = { namespace: "ns", version: String(this.#last), dtab: Dtab.read(text) };
  }

  readonly client: EditDeps["client"] = {
    get: async () => {
      if (this.state === undefined) throw new ApiError(404, "NAMER_ERR_NOT_FOUND", "namespace ns does not exist");
      return this.state;
    },
    find: async () => this.state,
    update: async (_ns, dtab, ifMatch) => {
      if (this.failNextUpdate !== undefined) {
        const e = this.failNextUpdate;
        this.failNextUpdate = undefined;
        throw e;
      }
      if (this.state === undefined) throw new ApiError(404, "NAMER_ERR_NOT_FOUND", "namespace ns does not exist");
      if (this.state.version !== ifMatch) throw new ApiError(412, "NAMER_ERR_VERSION_MISMATCH", `at version ${this.state.version}, not ${ifMatch}`);
      this.set(dtab.show);
      this.writes.push(dtab.show);
      return this.state.version;
    },
  };
}

/** An editor that runs one step per round, recording what it was shown. */
function scripted(steps: ReadonlyArray<(text: string) => string | undefined>): { edit: (file: string) => Promise<void>; seen: string[]; files: string[] } {
  const seen: string[] = [];
  const files: string[] = [];
  return {
    seen,
    files,
    edit: async (file) => {
      const text = readFileSync(file, "utf8");
      seen.push(text);
      files.push(file);
      const step = steps[seen.length - 1];
      if (step === undefined) throw new Error(`editor opened ${seen.length} times, more than scripted`);
      const next = step(text);
      if (next !== undefined) writeFileSync(file, next);
    },
  };
}

function run(namer: FakeNamer, editor: ReturnType<typeof scripted>): { messages: string[]; result: ReturnType<typeof editNamespace> } {
  const messages: string[] = [];
  return { messages, result: editNamespace("ns", { client: namer.client, edit: editor.edit, say: (t) => messages.push(t) }) };
}

describe("editorCommand", () => {
  it("uses $VISUAL, then $EDITOR, then vi (as git does)", () => {
    expect(editorCommand({ EDITOR: "nano", VISUAL: "code --wait" })).toBe("code --wait");
    expect(editorCommand({ EDITOR: "nano", VISUAL: " " })).toBe("nano");
    expect(editorCommand({})).toBe("vi");
  });
});

describe("the edit file", () => {
  it("has the version and instructions as comments above the dtab, and gives back only the dtab", () => {
    const file = renderEditFile("ns", "4", "/a => /b ;\n", ["conflict: something"]);
    expect(file).toBe(
      [
        "# conflict: something",
        "#",
        "# version 4",
        "# Editing namespace ns. Save and quit to apply the dtab below if ns is still at version 4.",
        "# Lines starting with '#' are ignored. Leave the dtab unchanged, or delete every dentry, to cancel.",
        "",
        "/a => /b ;",
        "",
      ].join("\n"),
    );
    expect(editedBody(file)).toBe("/a => /b ;\n");
    expect(Dtab.read(file).show).toBe("/a=>/b");
  });
});

describe("editNamespace", () => {
  it("writes the edited dtab with If-Match and removes the temp file", async () => {
    const namer = new FakeNamer("/a=>/b");
    const ed = scripted([(t) => t.replace("/a => /b ;", "/a => /c ;")]);
    const outcome = await run(namer, ed).result;
    expect(outcome).toEqual({ kind: "updated", version: "2", previousVersion: "1", changes: expect.any(Array) });
    expect(namer.writes).toEqual(["/a=>/c"]);
    expect(ed.seen[0]).toContain("# version 1\n");
    expect(existsSync(dirname(ed.files[0] as string))).toBe(false);
  });

  it("writes nothing when the dtab is unchanged or reformatted, and cancels on a file without dentries", async () => {
    const namer = new FakeNamer("/a=>/b;/c=>/d");
    expect(await run(namer, scripted([() => undefined])).result).toEqual({ kind: "unchanged", version: "1" });
    expect(await run(namer, scripted([() => "/a=>/b;\n/c   =>   /d"])).result).toEqual({ kind: "unchanged", version: "1" });
    expect(await run(namer, scripted([(t) => t.split("\n").filter((l) => l.startsWith("#")).join("\n")])).result).toMatchObject({ kind: "cancelled" });
    expect(namer.writes).toEqual([]);
  });

  it("on 412 shows the other change and reopens on the operator's text against the new version", async () => {
    const namer = new FakeNamer("/a=>/b");
    const ed = scripted([
      (t) => {
        namer.set("/a=>/b;/other=>/x"); // someone else, while the operator edits
        return t + "/mine => /y ;\n";
      },
      (t) => t + "/other => /x ;\n",
    ]);
    const { messages, result } = run(namer, ed);
    expect(await result).toMatchObject({ kind: "updated", version: "3", previousVersion: "2" });
    expect(namer.writes).toEqual(["/a=>/b;/mine=>/y;/other=>/x"]);
    expect(messages.join("")).toContain("ns changed on the namer while you were editing (version 1 → 2); the other change:\n--- ns version 1 (what you edited)\n+++ ns version 2 (on the namer now)\n");
    expect(messages.join("")).toContain("+/other => /x;");
    expect(ed.seen[1]).toMatch(/^# conflict: ns changed from version 1 to 2 while you were editing\./);
    expect(ed.seen[1]).toContain("# version 2\n");
    expect(editedBody(ed.seen[1] as string)).toBe("/a => /b ;\n/mine => /y ;\n");
  });

  it("stops without writing when the other change already made the namespace what the operator wants", async () => {
    const namer = new FakeNamer("/a=>/b");
    const ed = scripted([
      (t) => {
        namer.set("/a=>/c");
        return t.replace("/b", "/c");
      },
    ]);
    expect(await run(namer, ed).result).toEqual({ kind: "unchanged", version: "2" });
    expect(namer.writes).toEqual([]);
  });

  it("reopens with the parse error above the dtab, pointing at the line as the reopened file numbers it", async () => {
    const namer = new FakeNamer("/a=>/b");
    const ed = scripted([(t) => t.replace("/a => /b ;", "/a => /b ;\n/c => ) ;"), (t) => t.replace(/^\/c => \) ;$/m, "/c => /d ;")]);
    const { messages, result } = run(namer, ed);
    expect(await result).toMatchObject({ kind: "updated" });
    expect(namer.writes).toEqual(["/a=>/b;/c=>/d"]);
    const reopened = (ed.seen[1] as string).split("\n");
    const m = /^# error: line (\d+), column (\d+): expected a name tree/.exec(reopened[0] as string);
    expect(m).not.toBeNull();
    expect(reopened[Number(m?.[1]) - 1]).toBe("/c => ) ;");
    expect(m?.[2]).toBe("7");
    expect(messages.join("")).toContain("reopening the editor");
  });

  it("gives up, keeping the text, when the file still does not parse and was saved untouched", async () => {
    const namer = new FakeNamer("/a=>/b");
    const ed = scripted([(t) => t.replace("/a => /b ;", "/a => ) ;"), () => undefined]);
    const { messages, result } = run(namer, ed);
    await expect(result).rejects.toThrow(CtlError);
    await expect(result).rejects.toThrow("the dtab still does not parse");
    expect(namer.writes).toEqual([]);
    expect(messages.at(-1)).toBe(`namerctl: your edited dtab is kept in ${ed.files[0]}`);
    expect(readFileSync(ed.files[0] as string, "utf8")).toContain("/a => ) ;");
  });

  it("keeps the operator's text when the write fails, and fails when the namespace was deleted meanwhile", async () => {
    const namer = new FakeNamer("/a=>/b");
    namer.failNextUpdate = new ApiError(401, "NAMER_ERR_UNAUTHORIZED", "no token");
    const ed = scripted([(t) => t + "/c => /d ;\n"]);
    const { messages, result } = run(namer, ed);
    await expect(result).rejects.toBeInstanceOf(ApiError);
    expect(messages).toEqual([`namerctl: your edited dtab is kept in ${ed.files[0]}`]);
    expect(existsSync(ed.files[0] as string)).toBe(true);

    const gone = new FakeNamer("/a=>/b");
    const ed2 = scripted([
      (t) => {
        gone.state = undefined;
        return t + "/c => /d ;\n";
      },
    ]);
    await expect(run(gone, ed2).result).rejects.toThrow("ns was deleted on the namer while you were editing; nothing was written");

    // Deleted and created again: a conflict, so the operator sees the new dtab.
    const reborn = new FakeNamer("/a=>/b");
    const ed3 = scripted([
      (t) => {
        reborn.state = undefined;
        reborn.set("/z=>/y");
        return t + "/c => /d ;\n";
      },
      () => undefined,
    ]);
    const again = run(reborn, ed3);
    expect(await again.result).toMatchObject({ kind: "updated", previousVersion: "2", version: "3" });
    expect(again.messages.join("")).toContain("-/a => /b;\n+/z => /y;");
  });
});
