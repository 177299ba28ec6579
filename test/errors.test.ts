// The error catalogues: codes are unique across packages, follow the naming
// scheme, carry an HTTP status, and are documented in docs/errors.md.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DTAB_ERRORS, DtabError } from "../dtab/index.ts";
import { CONFIG_ERRORS } from "../lib/config.ts";
import { NAMER_ERRORS, NamerError } from "../namer/errors.ts";
import { ROUTER_ERRORS } from "../router/errors.ts";

const CATALOGUES: Record<string, Record<string, { status: number; description: string }>> = {
  DTAB: DTAB_ERRORS,
  NAMER: NAMER_ERRORS,
  CONFIG: CONFIG_ERRORS,
  ROUTER: ROUTER_ERRORS,
};

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");

describe("error catalogues", () => {
  const all = Object.entries(CATALOGUES).flatMap(([pkg, codes]) => Object.entries(codes).map(([code, info]) => ({ pkg, code, ...info })));

  it("are non-empty and unique across packages", () => {
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((e) => e.code)).size).toBe(all.length);
  });

  it("name each code after its package and give it an HTTP error status and a description", () => {
    for (const e of all) {
      expect(e.code).toMatch(new RegExp(`^${e.pkg}_ERR_[A-Z0-9_]+$`));
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
      expect(e.description.length).toBeGreaterThan(10);
    }
  });

  it("document every code with its status in docs/errors.md, and nothing that does not exist", () => {
    for (const e of all) {
      expect(doc, e.code).toMatch(new RegExp(`\\| \`${e.code}\` \\| ${e.status} \\|`));
    }
    const documented = [...doc.matchAll(/\| `([A-Z]+_ERR_[A-Z0-9_]+)` \|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(all.map((e) => e.code).sort());
  });

  it("give each error class the status of its code", () => {
    const e = new DtabError("DTAB_ERR_UNKNOWN_NAMER", "x");
    expect(e.status).toBe(502);
    expect(e.code).toBe("DTAB_ERR_UNKNOWN_NAMER");
    expect(e.name).toBe("DtabError");
    const n = new NamerError("NAMER_ERR_VERSION_MISMATCH", "x", { cause: e });
    expect(n.status).toBe(412);
    expect(n.cause).toBe(e);
  });
});
