// microscale/explorer/node: open model files from disk (Node only).
export { openModelFile, fileSource, fileResolver } from './readers/node-source.js';
