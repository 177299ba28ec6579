// Dtab files as namerctl reads them: text or JSON, versions they carry, parse
// errors located at file:line:column, and which version an update sends.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../namer/ctl/errors.ts";
import { headerVersion, lineAndColumn, parseDtabInput, readDtabFile, selectVersion } from "../../../namer/ctl/input.ts";

function failure(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error("expected an InputError");
}

describe("parseDtabInput", () => {
  it("reads dtab text, taking the version from a `# version N` header comment", () => {
    const input = parseDtabInput("# version 7\n# edited by hand\n/srv => /#/io.l5d.fs ;\n/svc => /srv ;\n", "f.dtab");
    expect(input).toMatchObject({ version: "7", source: "f.dtab" });
    expect(input.dtab.show).toBe("/srv=>/#/io.l5d.fs;/svc=>/srv");
    expect(parseDtabInput("/a=>/b", "f").version).toBeUndefined();
  });

  it("reads namerd's JSON list and the {version, dtab} object `get --json` writes", () => {
    expect(parseDtabInput('[{"prefix":"/a","dst":"/b"}]', "f.json")).toEqual({ dtab: expect.anything(), source: "f.json" });
    const object = parseDtabInput('\n {"namespace":"x","version":"3","dtab":[{"prefix":"/a","dst":"/b"}]}', "f.json");
    expect(object.version).toBe("3");
    expect(object.dtab.show).toBe("/a=>/b");
    expect(parseDtabInput('{"version":4,"dtab":[]}', "f").version).toBe("4");
    expect(parseDtabInput('{"version":null,"dtab":[]}', "f").version).toBeUndefined();
  });

  it("names file:line:column for a text parse error and shows the line with a caret", () => {
    const e = failure(() => parseDtabInput("# ok\n/srv => /a;\n\t/svc => |;\n", "my.dtab"));
    expect(e.message).toBe("my.dtab:3:10: expected a name tree ('/', '(', '!', '~' or '$') but found '|'\n  \t/svc => |;\n  \t        ^");
  });

  it("locates JSON syntax errors and names the dentry of a bad JSON dentry", () => {
    expect(failure(() => parseDtabInput('[\n  {"prefix": "/a",, }\n]', "d.json")).message).toMatch(/^d\.json:2:19: not valid JSON: /);
    expect(failure(() => parseDtabInput('[{"prefix":"/a","dst":"/b//"}]', "d.json")).message).toBe(
      "d.json: dentry [0] \"dst\": expected label char but found '/' at offset 3 in '/b/[/]'",
    );
    expect(failure(() => parseDtabInput('{"dentries":[]}', "d.json")).message).toContain('an object with "dtab"');
  });

  it("refuses versions that are not meshd versions, in JSON and in the header", () => {
    expect(failure(() => parseDtabInput('{"version":"abc","dtab":[]}', "f")).message).toContain('"version" must be a version');
    expect(failure(() => parseDtabInput("# version v3\n/a=>/b", "f")).message).toContain('"# version" header');
  });
});

describe("headerVersion", () => {
  it("looks only at the comments before the first dentry", () => {
    expect(headerVersion("\n# Version 12\n/a=>/b")).toBe("12");
    expect(headerVersion("/a=>/b;\n# version 12\n")).toBeUndefined();
    expect(headerVersion("# versions are great\n/a=>/b")).toBeUndefined();
  });
});

describe("lineAndColumn", () => {
  it("counts from 1", () => {
    expect(lineAndColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn("ab\n", 3)).toEqual({ line: 2, column: 1 });
  });
});

describe("selectVersion", () => {
  it("prefers --version, then the file's version, then none (the caller reads one)", () => {
    expect(selectVersion("5", { version: "3" })).toEqual({ version: "5", from: "--version" });
    expect(selectVersion(undefined, { version: "3" })).toEqual({ version: "3", from: "file" });
    expect(selectVersion(undefined, {})).toBeUndefined();
  });
});

describe("readDtabFile", () => {
  it("reads a file, or standard input for -", async () => {
    const dir = mkdtempSync(join(tmpdir(), "namerctl-input-"));
    writeFileSync(join(dir, "a.dtab"), "/a=>/b");
    expect((await readDtabFile(join(dir, "a.dtab"))).dtab.show).toBe("/a=>/b");
    const stdin = await readDtabFile("-", async () => "/c=>/d");
    expect(stdin).toMatchObject({ source: "<stdin>" });
    expect(stdin.dtab.show).toBe("/c=>/d");
    await expect(readDtabFile(join(dir, "missing.dtab"))).rejects.toThrow(`cannot read ${join(dir, "missing.dtab")}: no such file`);
    await expect(readDtabFile(dir)).rejects.toThrow("it is a directory");
  });
});
