// `microscale formats`: the table of every named format.
import type { Command } from 'commander';
import { listFormats } from '../../index.js';
import { bitsCell, blockCell, scaleCell, summarize } from '../describe.js';
import type { CliContext } from '../context.js';
import { formatNumber, renderTable, toJson } from '../text.js';

const HEADER = ['name', 'family', 'element', 'block', 'scale', 'bits/elem', 'max'] as const;

export function registerFormats(program: Command, ctx: CliContext): Command {
  return program
    .command('formats')
    .description('list every named format with its element, block, scale, bits per element and largest magnitude')
    .option('--json', 'print the table as a JSON array (one object per format, exact numbers)')
    .addHelpText(
      'after',
      `
Columns:
  name       canonical name, accepted by --format and \`microscale info\`
  family     element, ocp-mx, mx-extension, bdr, software, nvfp4 or ggml
  element    element format of each stored code
  block      elements per scale: N, N/K (block / microexponent sub-block),
             row, tensor, or - (no scale)
  scale      stored scale type and bits; "+ 1b/2" = a 1-bit microexponent per
             2 elements, "+ min" = an offset beside each scale, "+ fp32/tensor"
             = a second per-tensor scale
  bits/elem  stored bits per element with block scales amortised; +B/row and
             +B/N add the per-row and per-tensor scales
  max        largest finite magnitude the encoding can express (scale included)

Examples:
  $ microscale formats
  $ microscale formats --json | jq '.[] | select(.family == "ocp-mx") | .name'`,
    )
    .action((opts: { json?: boolean }) => {
      const rows = listFormats().map(summarize);
      if (opts.json) {
        ctx.io.stdout(toJson(rows));
        return;
      }
      ctx.io.stdout(
        renderTable(
          HEADER,
          rows.map((s) => [s.name, s.family, s.element, blockCell(s), scaleCell(s), bitsCell(s), formatNumber(s.maxMagnitude)]),
        ),
      );
    });
}
