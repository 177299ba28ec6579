// The shapes of the namer's name and registry answers (namerd's delegator
// JSON, address sets, registry instances), checked before namerctl draws
// them so a wrong answer is a clear message rather than a crash mid-tree.
// Checked, not rebuilt: --json prints what the namer sent, members included
// that namerctl does not know.
import { z } from "zod";
import type { AddrJson, DelegateJson } from "../../dtab/index.ts";

const meta = z.record(z.string(), z.unknown());

const address = z.looseObject({ ip: z.string(), port: z.number(), meta: meta.optional() });

export const addrSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("bound"), addrs: z.array(address), meta: meta.optional() }),
  z.looseObject({ type: z.literal("neg") }),
  z.looseObject({ type: z.literal("pending") }),
  z.looseObject({ type: z.literal("failed"), cause: z.string() }),
]);

const dentry = z.looseObject({ prefix: z.string(), dst: z.string() }).optional();

// Recursive: getters let zod see the node type before it is complete.
const node = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("delegate"),
    path: z.string(),
    dentry,
    get delegate() {
      return node;
    },
  }),
  z.looseObject({
    type: z.literal("alt"),
    path: z.string(),
    dentry,
    get alt() {
      return z.array(node);
    },
  }),
  z.looseObject({
    type: z.literal("union"),
    path: z.string(),
    dentry,
    get union() {
      return z.array(z.looseObject({ weight: z.number(), tree: node }));
    },
  }),
  z.looseObject({ type: z.literal("leaf"), path: z.string(), dentry, bound: z.looseObject({ addr: addrSchema, id: z.string(), path: z.string() }) }),
  z.looseObject({ type: z.enum(["neg", "fail", "empty"]), path: z.string(), dentry }),
  z.looseObject({ type: z.literal("exception"), path: z.string(), dentry, message: z.string() }),
]);

export const delegateSchema: z.ZodType<unknown> = node;

const instance = z.looseObject({
  service: z.string(),
  id: z.string(),
  host: z.string(),
  port: z.number(),
  ttlSeconds: z.number(),
  meta: z.record(z.string(), z.union([z.string(), z.number()])),
  registeredAt: z.string(),
  expiresAt: z.string(),
});

/** A live instance of a service: the registry API sends the registry's own, as JSON (all strings and numbers). */
export type { Instance } from "../registry/types.ts";

export const instanceSchema: z.ZodType<unknown> = instance;
export const instancesSchema: z.ZodType<unknown> = z.array(instance);

/** The first problem zod found, as `$.union[0].tree.bound: …`. */
function problem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "wrong shape";
  const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  return `$${at}: ${issue.message}`;
}

/**
 * `value` as a T when `schema` accepts it, unchanged (unknown members kept);
 * otherwise the first problem, for the caller's message.
 */
export function check<T>(schema: z.ZodType<unknown>, value: unknown): { ok: true; value: T } | { ok: false; problem: string } {
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: value as T } : { ok: false, problem: problem(parsed.error) };
}

export type { AddrJson, DelegateJson };
