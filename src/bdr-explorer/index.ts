// microscale/explorer: model file readers, the format sweep, metrics and reports. Browser-safe;
// Node file access is `openModelFile` from 'microscale/explorer/node'.
export { openModel, sniffFormat, formatFromName, ModelFileError, bytesSource, blobSource, blobResolver, concatSource } from './readers/index.js';
export type { ModelInput, OpenModelOptions, ModelReader, TensorInfo, ModelFormat, ModelFileProblem, ByteSource, BlobLike, SiblingResolver } from './readers/index.js';
export { sweep, summarize, selectTensors, sweepShape, expandVariants, presetApplies, unusedPresets, memoryTensors, readerTensors, SweepError, DEFAULT_FORMATS, QSNR_CAP_DB, RELEASE_AFTER_BYTES } from './sweep.js';
export type { SweepOptions, SweepResult, SweepRow, SweepSummary, SweepSkip, SweepTensor, SweptTensor, Variant } from './sweep.js';
export { measure, storedBytes, HISTOGRAM_BINS } from './metrics.js';
export type { TensorMetrics } from './metrics.js';
export { paretoFrontier, bdrGridFormats, parseBdrGrid, DEFAULT_BDR_GRID } from './frontier.js';
export type { BdrGrid, TradeoffPoint } from './frontier.js';
export type { LabelBox, PlacedLabel } from './report.js';
export { formatTable, toCsv, summaryToCsv, toJson, toHtml, tradeoffSvg, heatmapHtml, histogramsSvg, placeLabels, SUMMARY_LEGEND, HEATMAP_WORST, REPORT_PLOT_CSS } from './report.js';
export { defaultTensors, gaussian, laplace, studentT } from './synthetic.js';
export type { SyntheticTensor } from './synthetic.js';
