// The pieces every namer shares: ServiceCell's last-good rule and its
// once-per-outage logging, canonical bound address sets, and mount paths.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Path } from "../../../dtab/index.ts";
import type { Logger } from "../../../lib/log.ts";
import { address, answerFor, boundAddr, mountPath, ServiceCell } from "../../../namer/namers/service-namer.ts";

function capture(): { logger: Logger; records: { level: number; msg: string; kept?: string }[] } {
  const records: { level: number; msg: string; kept?: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}

describe("ServiceCell", () => {
  it("is failed when discovery fails before any answer, and answers once it can", () => {
    const { logger } = capture();
    const cell = new ServiceCell(logger, { service: "web" });
    expect(cell.current()).toEqual({ type: "pending" });
    cell.fail("timeout");
    expect(cell.current()).toEqual({ type: "failed", cause: "timeout" });
    cell.answer(boundAddr([address("10.0.0.1", 80)]));
    expect(cell.current().type).toBe("bound");
  });

  it("keeps a bound set and a known neg through failures", () => {
    const { logger } = capture();
    const cell = new ServiceCell(logger, {});
    const bound = boundAddr([address("10.0.0.1", 80)]);
    cell.answer(bound);
    cell.fail("SERVFAIL");
    expect(cell.current()).toBe(bound);
    cell.answer({ type: "neg" });
    cell.fail("timeout");
    expect(cell.current()).toEqual({ type: "neg" });
  });

  it("warns once per distinct failure while it lasts, and says when discovery answers again", () => {
    const { logger, records } = capture();
    const cell = new ServiceCell(logger, { name: "web.test" });
    cell.answer(boundAddr([]));
    for (let i = 0; i < 5; i++) cell.fail("timeout");
    cell.fail("SERVFAIL");
    cell.answer(boundAddr([address("10.0.0.1", 80)]));
    cell.fail("timeout");
    const warn = 40;
    expect(records.filter((r) => r.level === warn).map((r) => r.kept)).toEqual(["bound", "bound", "bound"]);
    expect(records.filter((r) => r.level === 20)).toHaveLength(4);
    expect(records.filter((r) => r.msg === "discovery answers again")).toHaveLength(1);
  });
});

describe("bound address sets", () => {
  it("are sorted and without exact duplicates, so order is no change", () => {
    const a = boundAddr([address("10.0.0.2", 80), address("10.0.0.1", 80), address("10.0.0.1", 80), address("10.0.0.1", 80, { weight: 2 })]);
    const b = boundAddr([address("10.0.0.1", 80, { weight: 2 }), address("10.0.0.1", 80), address("10.0.0.2", 80)]);
    expect(a).toEqual(b);
    expect(a.type === "bound" && a.addrs).toHaveLength(3);
    expect(address("h", 1, { zone: undefined, weight: 1 }).meta).toEqual({ weight: 1 });
  });

  it("are phrased per residual: bound keeps id and rest, the rest pass through", () => {
    const id = Path.read("/#/x/web");
    const rest = Path.read("/a");
    expect(answerFor(boundAddr([]), id, rest)).toMatchObject({ type: "bound", id, residual: rest });
    expect(answerFor({ type: "neg" }, id, rest)).toEqual({ type: "neg" });
    expect(answerFor({ type: "failed", cause: "c" }, id, rest)).toEqual({ type: "failed", cause: "c" });
    expect(answerFor({ type: "pending" }, id, rest)).toEqual({ type: "pending" });
  });

  it("mount a prefix under /#", () => {
    expect(mountPath("/io.l5d.fs").show).toBe("/#/io.l5d.fs");
    expect(mountPath("/a/b").show).toBe("/#/a/b");
  });
});
