// fast-check generators for namerctl's tests: dtabs built from the grammar
// (prefixes with wildcards, unions with weights, alternatives, negation),
// small enough that failures read easily.
import fc from "fast-check";
import { Dtab } from "../../../dtab/index.ts";

const label = fc.constantFrom("srv", "svc", "users", "users-v2", "#", "io.l5d.fs", "$", "inet", "127.0.0.1", "4140", "x_y", "a:b");
const path = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => "/" + ls.join("/"));
const prefix = fc.array(fc.oneof(label, fc.constant("*")), { minLength: 1, maxLength: 3 }).map((ls) => "/" + ls.join("/"));
const leaf = fc.oneof({ weight: 6, arbitrary: path }, { weight: 1, arbitrary: fc.constantFrom("~", "!", "$") });
const weighted = fc.tuple(fc.constantFrom("", "1 * ", "9 * ", "0.5 * "), leaf).map(([w, t]) => w + t);
const tree = fc.oneof(
  leaf,
  fc.array(weighted, { minLength: 2, maxLength: 3 }).map((ts) => ts.join(" & ")),
  fc.array(leaf, { minLength: 2, maxLength: 3 }).map((ts) => ts.join(" | ")),
);
const dentry = fc.tuple(prefix, tree).map(([p, t]) => `${p} => ${t}`);

/** Dtabs of 0–6 dentries. */
export const dtabs = fc.array(dentry, { maxLength: 6 }).map((ds) => Dtab.read(ds.join(";\n")));
