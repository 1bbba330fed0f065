// The WASM job block, as one field list: float64 slot indices written by params.ts and read by
// native/kernels.ts `prepare`. native/build.mjs generates the AssemblyScript side (native/abi.ts)
// from this file and src/formats/codes.ts; edit here, then run `npm run build:native`.
// (No imports: the build transpiles this file on its own.)

/** Bytes reserved for one job (slots plus the structs `prepare` fills). */
export const JOB_BYTES = 2048;

/** Slots of one element descriptor, counted from its block's first slot. */
export const ELEMENT_SLOTS = Object.freeze({
  kind: 0,
  bits: 1,
  expBits: 2,
  manBits: 3,
  bias: 4,
  signed: 5,
  infinity: 6,
  nan: 7,
  subnormals: 8,
  zero: 9,
  topExpField: 10,
  topManField: 11,
  emin: 12,
  overflow: 13,
  fracBits: 14,
  encoding: 15,
  kMax: 16,
  kMin: 17,
  emax: 18,
  roundingBits: 19,
  maxFinite: 20,
  largest: 21,
  mostNegative: 22,
  zeroCode: 23,
  negativeZeroCode: 24,
});

/** First slot of each element descriptor block (the stored element, the scale element). */
export const ELEMENT_BLOCKS = Object.freeze({ element: 0, scale: 32 });

/** Slots of the job's own fields and buffer addresses. */
export const JOB_SLOTS = Object.freeze({
  scheme: 64,
  n: 65,
  rows: 66,
  rowLength: 67,
  inner: 68,
  blockSize: 69,
  blocksPerRow: 70,
  subSize: 71,
  subBits: 72,
  subPerRow: 73,
  rounding: 74,
  seed: 75,
  scaleBits: 76,
  emulatorElementStep: 77,
  ggmlQuantizers: 78,
  flush: 79,
  scaleMode: 80,
  rule: 81,
  upper: 82,
  hasUpper: 83,
  hasTensorScale: 84,
  tensorScale: 85,
  clampLo: 86,
  clampHi: 87,
  hasClamp: 88,
  scaleFloor: 89,
  scaleBytes: 90,
  scaleNanCode: 91,
  scaleIsF32: 92,
  elIsF32: 93,
  x: 96,
  codes: 97,
  scales: 98,
  subScales: 99,
  offsets: 100,
  out: 101,
  lut: 102,
  scaleLut: 103,
  log2Table: 104,
  lut32: 105,
  fastDequantize: 106,
  fastQuantize: 107,
  maxMagnitudeCode: 108,
  infinityMagnitudeCode: 109,
  nanCode: 110,
  matmulMode: 111,
  matmulShift: 112,
  matmulTable: 113,
  matmulSpecial: 114,
  pow2NanCode: 115,
  scaleMax: 116,
  ggmlValues: 117,
});

/** Byte offsets, inside the job area, of the typed structs `prepare` converts the slots into. */
export const JOB_STRUCTS = Object.freeze({ job: 1024, elementFloat: 1536, scaleFloat: 1600, elementInt: 1664 });
