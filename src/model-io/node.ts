// microscale/io/node: quantize a model file on disk into another, all or nothing.
import { fileResolver, fileSource } from '../bdr-explorer/readers/node-source.js';
import { openModel } from '../bdr-explorer/readers/open.js';
import { checkOutputPath, openAtomicOutput } from '../cli/output.js';
import { writeModel, type QuantizeModelOptions } from './index.js';
import type { WriteSummary } from './types.js';

export interface QuantizeFileOptions extends QuantizeModelOptions {
  /** Replace an existing output file. Default false. */
  force?: boolean;
}

/**
 * Quantize `inPath` into `outPath` (kind from its extension). The output folder and name are checked
 * before any work; data goes to a temporary file beside it, renamed into place only when complete
 * (an error or a signal removes it).
 */
export async function quantizeModelFile(inPath: string, outPath: string, opts: QuantizeFileOptions): Promise<WriteSummary> {
  const full = checkOutputPath(outPath, { allowExisting: opts.force === true, flag: '-o' });
  const source = await fileSource(inPath);
  let reader;
  try {
    reader = await openModel(source, { resolve: fileResolver(inPath), ...opts.open });
  } catch (e) {
    await source.close();
    throw e;
  }
  try {
    const { force: _force, ...rest } = opts;
    let out: ReturnType<typeof openAtomicOutput> | null = null;
    try {
      const summary = await writeModel(reader, source, {
        write(chunk) {
          out ??= openAtomicOutput(full);
          out.write(chunk);
        },
      }, { outputName: outPath, ...rest });
      out ??= openAtomicOutput(full);
      (out as ReturnType<typeof openAtomicOutput>).commit();
      return summary;
    } catch (e) {
      (out as ReturnType<typeof openAtomicOutput> | null)?.abort();
      throw e;
    }
  } finally {
    await reader.close();
  }
}
