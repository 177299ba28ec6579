// Request ids (l5d-reqid) as Linkerd makes them: 64 random bits in 16 hex
// digits. Drawn from a pool of random bytes filled a few thousand ids at a
// time, so a request costs a slice of a buffer rather than a call for entropy.
import { randomFillSync } from "node:crypto";

const ID_BYTES = 8;
const POOL_IDS = 512;
const pool = Buffer.alloc(ID_BYTES * POOL_IDS);
let next = POOL_IDS;

export function newRequestId(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next++ * ID_BYTES;
  return pool.toString("hex", start, start + ID_BYTES);
}
