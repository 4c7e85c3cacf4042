import { defineGuardSuite } from './guard.suite.js';

defineGuardSuite('fastify');
