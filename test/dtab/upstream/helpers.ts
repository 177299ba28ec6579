// Shared helpers for the upstream conformance suite: catching DtabErrors,
// summarising bound trees the way Finagle's assertEval compares them, and
// small namers standing in for the test namers of Finagle and Linkerd.
import { expect } from "vitest";
import { DtabError, NameTree, Path, type BoundName, type DtabErrorCode, type Namer } from "../../../dtab/index.ts";
import { thrown } from "../../support/thrown.ts";

/** Runs `fn`, asserts it throws a DtabError (with `code` / `offset` when given) and returns the error. */
export function dtabError(fn: () => unknown, code?: DtabErrorCode, offset?: number): DtabError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(DtabError);
  const err = e as DtabError;
  if (code !== undefined) expect(err.code).toBe(code);
  if (offset !== undefined) expect(err.offset).toBe(offset);
  return err;
}

/** One bound name as Finagle's tests compare it: its addresses and the union weight in its metadata. */
export interface BoundSummary {
  readonly id: string;
  readonly residual: string;
  readonly addrs: readonly string[];
  readonly weight: number | undefined;
}

function summary(b: BoundName): BoundSummary {
  return { id: b.id.show, residual: b.residual.show, addrs: [...b.addrs].sort(), weight: b.weight };
}

/** `tree.eval` as a sorted list of summaries, or null when the tree evaluates to nothing (Neg or Fail). */
export function evalBound(tree: NameTree<BoundName>): BoundSummary[] | null {
  const set = NameTree.eval(tree);
  if (set === null) return null;
  return [...set].map(summary).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The addresses and weights of `evalBound`, for comparing with Finagle's `assertEval` expectations. */
export function evalAddrs(tree: NameTree<BoundName>): { addrs: readonly string[]; weight: number | undefined }[] | null {
  const all = evalBound(tree);
  if (all === null) return null;
  return all
    .map(({ addrs, weight }) => ({ addrs, weight }))
    .sort((a, b) => (a.addrs.join() < b.addrs.join() ? -1 : a.addrs.join() > b.addrs.join() ? 1 : 0));
}

/** A tree's leaves (paths) after eval, as sorted show strings; null when it evaluates to nothing. */
export function evalPaths(tree: NameTree<Path>): string[] | null {
  const set = NameTree.eval(tree);
  return set === null ? null : [...set].map((p) => p.show).sort();
}

/** A namer mounted at `prefix` that binds every residual to a bound name with the given id and no addresses. */
export function bindingNamer(prefix: string, id: string = prefix): Namer {
  return {
    prefix: Path.read(prefix),
    lookup: (residual) => NameTree.leaf({ id, residual, addrs: [] }),
  };
}
