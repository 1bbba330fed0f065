// Runs test/oracle/qsnr_oracle.py on float32 arrays (written to a temporary folder, removed after).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../helpers/needs.js';

const SCRIPT = fileURLToPath(new URL('./qsnr_oracle.py', import.meta.url));

/** QSNR in dB of every oracle format on each named array: result[name][label]. */
export function runOracle(arrays: Record<string, Float32Array>): Record<string, Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'microscale-qsnr-'));
  try {
    const files = Object.entries(arrays).map(([name, x]) => {
      const f = join(dir, `${name}.f32`);
      writeFileSync(f, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      return [name, f] as const;
    });
    const out = JSON.parse(execFileSync(PYTHON, [SCRIPT, ...files.map((f) => f[1])], { encoding: 'utf8' })) as Record<string, Record<string, number>>;
    return Object.fromEntries(files.map(([name, f]) => [name, out[f]!]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The format labels the oracle models. */
export function oracleLabels(): string[] {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, '--labels'], { encoding: 'utf8' })) as string[];
}
