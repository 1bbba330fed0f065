// docs/formats.md and its plots are generated from the catalog; they must match it.
// Regenerate with `node docs/generate-formats.mjs` (part of `npm run docs`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const docs = fileURLToPath(new URL('../../docs/', import.meta.url));

it('docs/formats.md and docs/img/*.svg are current', async () => {
  // @ts-expect-error -- plain ESM script without type declarations
  const gen = (await import('../../docs/generate-formats.mjs')) as { formatsMarkdown(): string; svgFiles(): [string, string][] };
  expect(readFileSync(`${docs}formats.md`, 'utf8')).toBe(gen.formatsMarkdown());
  for (const [name, svg] of gen.svgFiles()) expect(readFileSync(`${docs}${name}`, 'utf8'), name).toBe(svg);
});
