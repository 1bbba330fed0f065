#!/usr/bin/env node
// Launcher for the `microscale` command; the CLI is compiled from src/cli into dist/cli by `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('microscale: the CLI is not built (dist/cli/main.js is missing); run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
