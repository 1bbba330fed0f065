import { referenceBackend } from '../../src/index.js';
import { defineConformanceSuite } from './suite.js';

defineConformanceSuite('reference', () => referenceBackend);
