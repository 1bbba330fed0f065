// Whether llama.cpp (node-llama-cpp's prebuilt linux-x64 CPU build) is here to run tests against.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A package's folder in the nearest node_modules above this file, or null. */
export function packageDir(name: string): string | null {
  for (let d = here; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (dirname(d) === d) return null;
  }
}

/** The folder of node-llama-cpp's prebuilt linux-x64 CPU binaries, or why there is none. */
export function llamaBinaries(): { dir: string } | { skip: string } {
  if (!packageDir('node-llama-cpp')) return { skip: 'node-llama-cpp is not installed (a devDependency: run npm ci); these tests need llama.cpp' };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { skip: `llama.cpp checks run on linux-x64 (this is ${process.platform}-${process.arch})` };
  const cpu = packageDir('@node-llama-cpp/linux-x64');
  if (!cpu) return { skip: '@node-llama-cpp/linux-x64 (the prebuilt CPU build) is not installed' };
  return { dir: join(cpu, 'bins', 'linux-x64') };
}
