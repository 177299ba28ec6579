// The shared Watchable machinery every namer is built on: equality-based
// dedupe, listener isolation, ordered delivery when a listener sets the cell
// again, derived watchables, and refcounted sharing of underlying watches.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Path } from "../../../dtab/index.ts";
import { Cell, constant, mapWatchable, sameValue, SharedWatches } from "../../../namer/namers/index.ts";

describe("sameValue", () => {
  it("compares plain data structurally and paths with equals", () => {
    expect(sameValue({ a: [1, { b: "x" }], p: Path.read("/a/b") }, { p: Path.of("a", "b"), a: [1, { b: "x" }] })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue(Path.read("/a"), Path.read("/b"))).toBe(false);
    expect(sameValue(null, {})).toBe(false);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
  });
});

describe("Cell", () => {
  it("tells subscribers about changes only, not the current value and not an equal one", () => {
    const cell = new Cell({ n: 1 });
    const seen: number[] = [];
    cell.subscribe((v) => seen.push(v.n));
    expect(cell.set({ n: 1 })).toBe(false);
    expect(cell.set({ n: 2 })).toBe(true);
    cell.set({ n: 2 });
    cell.set({ n: 3 });
    expect(seen).toEqual([2, 3]);
    expect(cell.current()).toEqual({ n: 3 });
  });

  it("keeps telling the other listeners when one throws, and logs it", () => {
    const logged: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => void logged.push(line) });
    const cell = new Cell(0, { logger });
    const seen: number[] = [];
    cell.subscribe(() => {
      throw new Error("listener bug");
    });
    cell.subscribe((v) => seen.push(v));
    cell.set(1);
    cell.set(2);
    expect(seen).toEqual([1, 2]);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toContain("listener bug");
  });

  it("delivers values in order when a listener sets the cell again, telling each listener each value once", () => {
    const cell = new Cell(0);
    const a: number[] = [];
    const b: number[] = [];
    cell.subscribe((v) => {
      a.push(v);
      if (v === 1) cell.set(2);
    });
    cell.subscribe((v) => b.push(v));
    cell.set(1);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]);
  });

  it("does not tell a listener that subscribed during delivery the value it subscribed at", () => {
    const cell = new Cell(0);
    const late: number[] = [];
    cell.subscribe((v) => {
      if (v === 1) {
        cell.set(2);
        cell.subscribe((w) => late.push(w));
      }
    });
    cell.set(1);
    cell.set(3);
    expect(late).toEqual([3]);
  });

  it("stops telling a listener once unsubscribed, even mid-delivery", () => {
    const cell = new Cell(0);
    const seen: number[] = [];
    let unsubscribeSecond = (): void => undefined;
    cell.subscribe(() => unsubscribeSecond());
    unsubscribeSecond = cell.subscribe((v) => seen.push(v));
    cell.set(1);
    expect(seen).toEqual([]);
  });

  it("close drops subscribers, runs onClose once and ignores later sets", () => {
    let closed = 0;
    const cell = new Cell(1, { onClose: () => closed++ });
    const seen: number[] = [];
    cell.subscribe((v) => seen.push(v));
    cell.close();
    cell.close();
    expect(cell.set(2)).toBe(false);
    expect(cell.subscribe(() => seen.push(-1))).toBeTypeOf("function");
    expect(seen).toEqual([]);
    expect(closed).toBe(1);
    expect(cell.current()).toBe(1);
  });
});

describe("mapWatchable and constant", () => {
  it("follows the source through f, deduplicated on the result, and closes the source", () => {
    const source = new Cell(1);
    const parity = mapWatchable(source, (n) => (n % 2 === 0 ? "even" : "odd"));
    const seen: string[] = [];
    parity.subscribe((v) => seen.push(v));
    source.set(3);
    source.set(4);
    source.set(6);
    source.set(7);
    expect(seen).toEqual(["even", "odd"]);
    parity.close();
    expect(source.closed).toBe(true);
  });

  it("a constant never changes and holds nothing", () => {
    const c = constant("x");
    expect(c.current()).toBe("x");
    c.subscribe(() => {
      throw new Error("never called");
    })();
    c.close();
    expect(c.current()).toBe("x");
  });
});

describe("SharedWatches", () => {
  it("opens one underlying watch per key, shares it, and closes it with the last handle", () => {
    const pool = new SharedWatches<number>();
    const opened: Cell<number>[] = [];
    const open = (): Cell<number> => {
      const cell = new Cell(0);
      opened.push(cell);
      return cell;
    };
    const a = pool.observe("k", open);
    const b = pool.observe("k", open);
    const other = pool.observe("j", open);
    expect(opened).toHaveLength(2);
    expect(pool.keys()).toEqual(["k", "j"]);
    const seenA: number[] = [];
    const seenB: number[] = [];
    a.subscribe((v) => seenA.push(v));
    b.subscribe((v) => seenB.push(v));
    opened[0]?.set(1);
    a.close();
    a.close();
    opened[0]?.set(2);
    expect(seenA).toEqual([1]);
    expect(seenB).toEqual([1, 2]);
    expect(opened[0]?.closed).toBe(false);
    b.close();
    expect(opened[0]?.closed).toBe(true);
    expect(pool.keys()).toEqual(["j"]);
    // A fresh observer opens a fresh watch.
    pool.observe("k", open);
    expect(opened).toHaveLength(3);
    pool.closeAll();
    expect(opened.every((c) => c.closed)).toBe(true);
    expect(pool.size).toBe(0);
    expect(other.current()).toBe(0);
  });

  it("hands out but does not keep a watch opened after closeAll", () => {
    const pool = new SharedWatches<number>();
    pool.closeAll();
    const cell = new Cell(5);
    const late = pool.observe("k", () => cell);
    expect(late.current()).toBe(5);
    expect(pool.size).toBe(0);
    late.close();
    expect(cell.closed).toBe(true);
  });
});
