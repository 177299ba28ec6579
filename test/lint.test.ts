// The lint setup enforces the architecture: dtab ← namer ← router, ioredis
// only in namer/, dtab/ free of I/O and Node APIs. Checked by linting small
// sources placed (virtually) in each folder.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: new URL("..", import.meta.url).pathname });

async function ruleViolations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const restricted = (messages: string[]): string[] => messages.filter((m) => m.startsWith("no-restricted-"));

describe("dependency rules", () => {
  it("keep dtab/ pure: no packages, no node: modules, no Node globals, no other folders", async () => {
    expect(restricted(await ruleViolations("dtab/x.ts", `import { readFileSync } from "node:fs";\nexport const a = readFileSync;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("dtab/x.ts", `import "yaml";\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("dtab/x.ts", `import { x } from "../namer/x.ts";\nexport const a = x;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("dtab/x.ts", `export const a = process.env;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("dtab/x.ts", `import { Path } from "./path.ts";\nexport const a = Path;\n`))).toEqual([]);
  });

  it("keep namer/ off the router", async () => {
    expect(restricted(await ruleViolations("namer/api/x.ts", `import { x } from "../../router/x.ts";\nexport const a = x;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("namer/store/x.ts", `import { Redis } from "ioredis";\nimport { Dtab } from "../../dtab/index.ts";\nexport const a = [Redis, Dtab];\n`))).toEqual([]);
  });

  it("let router/ use only dtab/ and the namer's client and wire types, never Redis", async () => {
    expect(restricted(await ruleViolations("router/x.ts", `import { Redis } from "ioredis";\nexport const a = Redis;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("router/resolve/x.ts", `import { s } from "../../namer/store/redis.ts";\nexport const a = s;\n`))).toHaveLength(1);
    expect(restricted(await ruleViolations("router/resolve/x.ts", `import { c } from "../../namer/client/index.ts";\nimport { w } from "../../namer/wire.ts";\nimport { Dtab } from "../../dtab/index.ts";\nexport const a = [c, w, Dtab];\n`))).toEqual([]);
  });

  it("forbid `any` in code", async () => {
    const messages = await ruleViolations("namer/x.ts", `export function f(a: any): void { void a; }\n`);
    expect(messages.some((m) => m.startsWith("@typescript-eslint/no-explicit-any"))).toBe(true);
  });
});
