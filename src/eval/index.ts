// microscale/eval: model-level accuracy (browser-safe parts). Runners for ONNX (onnxruntime-node)
// and GGUF (llama.cpp) and file paths: 'microscale/eval/node'.
export { qsnrDb, maxAbsError, top1Agreement, isClassifierLike, compareOutput, summarizeOutputs, klDivergence, quantile } from './metrics.js';
export type { OutputComparison, ModelMetrics } from './metrics.js';
export { parseTarget, targetText, metricValue, meets, damageOf, damageBudget, EVAL_METRICS } from './target.js';
export type { EvalMetric, EvalTarget } from './target.js';
export { candidatePlans, candidateTensors, planOf, storedBits, assignmentToPlanMap } from './runner.js';
export type { EvalRunner, Candidate, CandidateOptions, Assignment } from './runner.js';
export { TensorProxy } from './proxy.js';
export type { PlanProxy } from './proxy.js';
export { sensitivity } from './sensitivity.js';
export type { SensitivityRow, SensitivityOptions } from './sensitivity.js';
export { greedySteps, searchPlan } from './search.js';
export type { PlanSearchResult, SearchStep, SearchOptions } from './search.js';
export { evaluateModel } from './evaluate.js';
export type { EvaluateOptions, EvaluationResult, FormatEvaluation } from './evaluate.js';
export { formatEvalTable, evalToJson, evalToCsv, evalToHtml, SENSITIVITY_SHOWN } from './report.js';
