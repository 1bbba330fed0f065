// microscale/io/node: quantize a model file on disk into another, all or nothing.
import { fileResolver, fileSource } from '../bdr-explorer/readers/node-source.js';
import { openModel } from '../bdr-explorer/readers/open.js';
import type { ModelReader } from '../bdr-explorer/readers/types.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkOutputPath, openAtomicOutput, writeFileAtomic, type AtomicOutput } from '../cli/output.js';
import { writeModel, type QuantizeModelOptions } from './index.js';
import type { Sidecar, WriteSummary } from './types.js';

/** The summary of a file run: the writer's, plus the config files written beside the output. */
export interface QuantizeFileSummary extends WriteSummary {
  /** Paths of the sidecar files written (or updated) beside the output. */
  readonly sidecarPaths?: readonly string[];
}

function readJsonObject(path: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read it as JSON (${(e as Error).message}); fix or remove it, then run again`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path} does not hold a JSON object; fix or remove it, then run again`);
  return json as Record<string, unknown>;
}

/**
 * Write one sidecar beside the output. A whole file (hf_quant_config.json) replaces what was there
 * (it describes the file just written). A merged key goes into the output folder's file of that
 * name, else into a copy of the source folder's (a Hugging Face config.json), else into a new file.
 */
function writeSidecar(sidecar: Sidecar, outDir: string, inDir: string): string {
  const path = join(outDir, sidecar.file);
  if (sidecar.mergeKey === undefined) {
    writeFileAtomic(path, JSON.stringify(sidecar.json, null, 2) + '\n');
    return path;
  }
  const fromSource = join(inDir, sidecar.file);
  const base = existsSync(path) ? readJsonObject(path) : existsSync(fromSource) ? readJsonObject(fromSource) : {};
  writeFileAtomic(path, JSON.stringify({ ...base, [sidecar.mergeKey]: sidecar.json }, null, 2) + '\n');
  return path;
}

export interface QuantizeFileOptions extends QuantizeModelOptions {
  /** Replace an existing output file. Default false. */
  force?: boolean;
}

/**
 * Quantize `inPath` into `outPath` (kind from its extension). The output folder and name are checked
 * before any work; data goes to a temporary file beside it, renamed into place only when complete
 * (an error or a signal removes it). Nothing is created when the plan check fails.
 */
export async function quantizeModelFile(inPath: string, outPath: string, opts: QuantizeFileOptions): Promise<QuantizeFileSummary> {
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
    const sidecarPaths = (summary.sidecars ?? []).map((s) => writeSidecar(s, dirname(full), dirname(inPath)));
    return sidecarPaths.length === 0 ? summary : { ...summary, sidecarPaths };
  } catch (e) {
    (out as AtomicOutput | null)?.abort();
    throw e;
  } finally {
    await reader.close();
  }
}
