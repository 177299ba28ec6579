// The router loads undici's connection pool by its file path (undici's
// entry point would load all of undici); an undici upgrade that moves it
// must fail here, not in production.
import { createRequire } from "node:module";
import { Pool } from "undici";
import { describe, expect, it } from "vitest";

describe("undici's Pool, loaded alone", () => {
  it("is the class undici exports", () => {
    const alone: unknown = createRequire(import.meta.url)("undici/lib/dispatcher/pool.js");
    expect(alone).toBe(Pool);
  });
});
