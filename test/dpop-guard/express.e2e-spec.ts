import { defineGuardSuite } from './guard.suite.js';

defineGuardSuite('express');
