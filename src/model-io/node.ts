// microscale/io/node: quantize a model file on disk into another, all or nothing.
import { fileResolver, fileSource } from '../bdr-explorer/readers/node-source.js';
import { openModel } from '../bdr-explorer/readers/open.js';
import type { ModelReader } from '../bdr-explorer/readers/types.js';
import { checkOutputPath, openAtomicOutput, type AtomicOutput } from '../cli/output.js';
import { writeModel, type QuantizeModelOptions } from './index.js';
import type { WriteSummary } from './types.js';

export interface QuantizeFileOptions extends QuantizeModelOptions {
  /** Replace an existing output file. Default false. */
  force?: boolean;
}

/**
 * Quantize `inPath` into `outPath` (kind from its extension). The output folder and name are checked
 * before any work; data goes to a temporary file beside it, renamed into place only when complete
 * (an error or a signal removes it). Nothing is created when the plan check fails.
 */
export async function quantizeModelFile(inPath: string, outPath: string, opts: QuantizeFileOptions): Promise<WriteSummary> {
  const { force, ...rest } = opts;
  const full = checkOutputPath(outPath, { allowExisting: force === true, flag: '-o' });
  const source = await fileSource(inPath);
  let reader: ModelReader;
  try {
    reader = await openModel(source, { resolve: fileResolver(inPath), ...rest.open });
  } catch (e) {
    await source.close();
    throw e;
  }
  let out: AtomicOutput | null = null;
  try {
    const summary = await writeModel(reader, source, { write: (chunk) => (out ??= openAtomicOutput(full)).write(chunk) }, { outputName: outPath, ...rest });
    (out ?? openAtomicOutput(full)).commit();
    return summary;
  } catch (e) {
    (out as AtomicOutput | null)?.abort();
    throw e;
  } finally {
    await reader.close();
  }
}
