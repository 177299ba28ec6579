import { describe, expect, it } from "vitest";
import { Path } from "../../dtab/index.ts";
import { createIdentifier, type IdentifyRequest } from "../../router/identify/identifiers.ts";

function request(authority: string, headers: IdentifyRequest["headers"] = {}): IdentifyRequest {
  return { method: "GET", httpVersion: "1.1", authority, path: "/x?y=1", headers };
}

describe("io.l5d.header.token", () => {
  const byHost = createIdentifier({ kind: "io.l5d.header.token", header: "Host" }, Path.read("/svc"));

  it("names a request /svc/<host> and forwards its target as is", () => {
    expect(byHost(request("web:8080"))).toEqual({ name: Path.read("/svc/web:8080"), path: "/x?y=1" });
  });

  it("makes a host's path once and names many distinct hosts right (past what it keeps)", () => {
    const first = byHost(request("api"));
    const again = byHost(request("api"));
    expect(typeof first === "string" || typeof again === "string").toBe(false);
    if (typeof first === "string" || typeof again === "string") return;
    expect(again.name).toBe(first.name);
    for (let i = 0; i < 3000; i++) {
      const got = byHost(request(`host-${i}`));
      expect(typeof got === "string" ? got : got.name.show).toBe(`/svc/host-${i}`);
    }
    const later = byHost(request("api"));
    expect(typeof later === "string" ? later : later.name.show).toBe("/svc/api");
  });

  it("reads another header, and says which one is missing", () => {
    const byTenant = createIdentifier({ kind: "io.l5d.header.token", header: "X-Tenant" }, Path.read("/tenant"));
    const got = byTenant(request("web", { "x-tenant": "blue" }));
    expect(typeof got === "string" ? got : got.name.show).toBe("/tenant/blue");
    expect(byTenant(request("web"))).toBe("no X-Tenant header");
  });
});
