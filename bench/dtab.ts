// Benchmark: Dtab.lookup and bind on dtabs of 10, 100 and 1,000 dentries,
// printed beside a reference measured in the same run: the cheapest possible
// scan of the same prefixes as plain strings (startsWith over an array), which
// is the floor any last-match-wins lookup has to pay.
// Run: npm run bench:dtab   (or: node bench/dtab.ts [--ms 400])
import { Dtab, NameTree, Path, bind } from "../dtab/index.ts";

const argMs = process.argv.indexOf("--ms");
const MEASURE_MS = argMs > 0 ? Number(process.argv[argMs + 1]) : 400;
const SIZES = [10, 100, 1_000];

/** A dtab of `n` rules shaped like real ones: exact service names, some wildcards and weighted canaries. */
function makeDtab(n: number): Dtab {
  const lines = ["/port => /$/inet/127.0.0.1", "/svc => /#/io.l5d.fs"];
  for (let i = 0; lines.length < n; i++) {
    if (i % 10 === 9) lines.push(`/svc/*/canary-${i} => 0.9*/port/${9000 + (i % 100)} & 0.1*/port/${9100 + (i % 100)}`);
    else lines.push(`/svc/service-${i} => /port/${8000 + (i % 1000)}`);
  }
  return Dtab.read(lines.slice(0, n).join(";\n"));
}

interface Measured {
  opsPerSec: number;
  usPerOp: number;
}

/** Runs `fn` over and over for MEASURE_MS after a warm-up, returning throughput. */
function measure(fn: (i: number) => unknown): Measured {
  let sink = 0;
  const warmEnd = performance.now() + MEASURE_MS / 4;
  for (let i = 0; performance.now() < warmEnd; i++) if (fn(i) !== undefined) sink++;
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MEASURE_MS) {
    for (let j = 0; j < 64; j++, ops++) if (fn(ops) !== undefined) sink++;
    now = performance.now();
  }
  if (sink < 0) console.log(sink);
  const seconds = (now - start) / 1000;
  return { opsPerSec: ops / seconds, usPerOp: (seconds * 1e6) / ops };
}

const fmtOps = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtUs = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

const rows: string[][] = [];
let worstLookupUs = 0;
for (const n of SIZES) {
  const dtab = makeDtab(n);
  // Names that exist in the table (spread over it) and that need a rewrite chain to bind.
  const names = Array.from({ length: 64 }, (_, k) => {
    const i = Math.floor((k * (n - 2)) / 64);
    return i % 10 === 9 ? `/svc/x/canary-${i}` : `/svc/service-${i}`;
  }).filter((s) => dtab.lookup(Path.read(s)).type !== "neg");
  const paths = names.map((s) => Path.read(s));
  const prefixes = dtab.dentries.map((d) => d.prefix.show);

  const lookup = measure((i) => dtab.lookup(paths[i % paths.length] as Path));
  const reference = measure((i) => {
    const name = names[i % names.length] as string;
    let hit = -1;
    for (let j = prefixes.length - 1; j >= 0; j--) if (name.startsWith(prefixes[j] as string)) hit = j;
    return hit;
  });
  const bound = measure((i) => bind(dtab, paths[i % paths.length] as Path));
  worstLookupUs = Math.max(worstLookupUs, lookup.usPerOp);

  rows.push([
    String(n),
    fmtOps(lookup.opsPerSec),
    fmtUs(lookup.usPerOp),
    fmtOps(reference.opsPerSec),
    (lookup.opsPerSec / reference.opsPerSec).toFixed(2) + "×",
    fmtOps(bound.opsPerSec),
    fmtUs(bound.usPerOp),
  ]);
}

const sample = NameTree.show(bind(makeDtab(100), Path.read("/svc/service-42")));
const header = ["dentries", "lookup ops/s", "µs/op", "ref scan ops/s", "lookup/ref", "bind ops/s", "µs/op"];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (cells: string[]): string => cells.map((cell, c) => cell.padStart(widths[c] as number)).join("  ");
console.log(`meshd dtab benchmark (node ${process.version}, ${MEASURE_MS} ms per figure)`);
console.log("reference: a plain startsWith scan of the same prefixes as strings, same process, same names");
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(`sample bind of /svc/service-42 on 100 dentries: ${sample}`);
console.log(`slowest lookup: ${fmtUs(worstLookupUs)} µs per lookup on ${SIZES.at(-1)} dentries (target: well under 1,000 µs) → ${worstLookupUs < 1000 ? "OK" : "TOO SLOW"}`);
