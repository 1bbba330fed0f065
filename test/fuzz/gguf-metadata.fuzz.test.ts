// Corrupt GGUF headers: readGgufHeader either refuses them with a ModelFileError, or every metadata
// value it lists decodes (readGgufMetadataValue) without any other kind of error, and copying the
// file through the GGUF writer either works or fails with a typed error.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { ModelFileError } from '../../src/bdr-explorer/readers/errors.js';
import { readGgufHeader, readGgufMetadataValue } from '../../src/bdr-explorer/readers/gguf.js';
import { bytesSource } from '../../src/bdr-explorer/readers/source.js';
import { MicroscaleError } from '../../src/index.js';
import { quantizeModelTo } from '../../src/model-io/index.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';

const file = tinyLlamaGguf();

it('corrupt headers: a typed error or values that decode', async () => {
  const base = await readGgufHeader(bytesSource(file));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: base.dataStart - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (edits) => {
      const bytes = file.slice();
      for (const [at, v] of edits) bytes[at] = v;
      let header;
      try {
        header = await readGgufHeader(bytesSource(bytes));
      } catch (e) {
        expect(e).toBeInstanceOf(ModelFileError);
        return;
      }
      for (const m of header.metadata) {
        try {
          await readGgufMetadataValue(bytesSource(bytes), m);
        } catch (e) {
          expect(e).toBeInstanceOf(ModelFileError);
        }
      }
      try {
        await quantizeModelTo(bytes, { write: () => {} }, { kind: 'gguf', format: 'q8_0' });
      } catch (e) {
        expect(e).toBeInstanceOf(MicroscaleError);
      }
    }),
    { numRuns: 200 },
  );
});
