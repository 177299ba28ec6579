// One answer to "is this address this host's own?" for the admin and namer
// write APIs (client addresses) and for listeners (configured ips).
import { describe, expect, it } from "vitest";
import { isLoopback } from "../../lib/loopback.ts";

describe("isLoopback", () => {
  it("accepts 127.0.0.0/8, ::1, their IPv4-mapped forms and the name localhost", () => {
    for (const ip of ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:127.0.0.3", "localhost"]) expect(isLoopback(ip), ip).toBe(true);
  });

  it("refuses every other address, and none at all", () => {
    for (const ip of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "::2", "fe80::1", "localhost.example.com", "1127.0.0.1", ""]) expect(isLoopback(ip), ip).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
