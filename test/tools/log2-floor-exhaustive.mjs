#!/usr/bin/env node
// One-off check (about a minute): over every positive finite float32 x, ⌊fround(log2 x)⌋ — the
// floor of a float32 log2, bits.ts floorLog2F32 — is e or e + 1 (e = the exact exponent), and the
// e + 1 cases are exactly the top N_e values of each binade. Prints N_e per binade; they must equal
// the table of MICROXCALING.md §4.1 that test/unit/ggml-c-model.ts and the kernels' threshold
// tables encode. Run: node test/tools/log2-floor-exhaustive.mjs
const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);
const counts = {};
let bad = 0;
for (let e = -149; e <= 127; e++) {
  const first = e < -126 ? 2 ** (e + 149) : (e + 127) * 2 ** 23;
  const last = e < -126 ? 2 ** (e + 150) - 1 : (e + 128) * 2 ** 23 - 1;
  let n = 0;
  let up = false;
  for (let b = first; b <= last; b++) {
    u[0] = b;
    const r = Math.floor(Math.fround(Math.log2(f[0])));
    if (r === e + 1) {
      n++;
      up = true;
    } else if (r !== e || up) {
      bad++;
      if (bad <= 10) console.log(`not a top-N pattern: bits ${b.toString(16)} gave ${r} in binade ${e}`);
    }
  }
  counts[e] = n;
}
console.log(JSON.stringify(counts));
console.log(bad === 0 ? 'every binade: the top N_e values round up, no others' : `${bad} exceptions`);
process.exitCode = bad === 0 ? 0 : 1;
