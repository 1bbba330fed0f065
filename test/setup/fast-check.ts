// Property tests are reproducible by default (a fixed seed, so CI is deterministic); set
// FC_SEED=<n> to replay a reported seed or FC_SEED=random to explore new cases.
import fc from 'fast-check';

const env = process.env['FC_SEED'];
if (env !== 'random') fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: env === undefined ? 20231107 : Number(env) });
