import { MicroscaleError } from '../../formats/errors.js';

/** What went wrong with a model file (finer than the error's `code`). */
export type ModelFileProblem =
  | 'truncated' // the file ends before a header field or tensor it declares
  | 'bad-magic' // not the format it claims (or no known format at all)
  | 'out-of-range' // an offset, length or count points outside the file
  | 'size-mismatch' // shape × dtype disagrees with the bytes stored
  | 'unknown-dtype' // a dtype name or id the format does not define
  | 'unsupported' // valid, but this reader cannot decode it (K-quants, external data, …)
  | 'malformed' // a header that does not parse (bad JSON, bad protobuf, bad field value)
  | 'not-found' // no tensor (or sibling file) of that name
  | 'too-large' // the tensor does not fit in one Float32Array on this platform
  | 'closed'; // the reader was closed

/** A model file that is truncated, corrupt, inconsistent or not decodable. The message names the
 * file, the tensor (where one is involved) and the problem, on one line. */
export class ModelFileError extends MicroscaleError {
  readonly file: string;
  readonly tensor: string | undefined;
  readonly problem: ModelFileProblem;
  constructor(file: string, problem: ModelFileProblem, detail: string, tensor?: string) {
    super('CORRUPT_CONTAINER', oneLine(`${file}${tensor === undefined ? '' : ` (tensor "${tensor}")`}: ${detail}`));
    this.file = file;
    this.tensor = tensor;
    this.problem = problem;
  }
}

/** Escape control characters (names and JSON snippets from a corrupt file may hold newlines). */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
