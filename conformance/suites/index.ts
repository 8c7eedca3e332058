// Every conformance suite, by the name `npm run conformance -- <name>` takes.
import type { Suite } from '../suite.js';
import { authzSuite } from './authz.js';
import { gatewayConversionSuite } from './gateway-conversion.js';
import { injectSuite } from './inject.js';
import { simulateSuite } from './simulate.js';
import { validateSuite } from './validate.js';

export const SUITES: Record<string, Suite> = {
  authz: authzSuite,
  'gateway-conversion': gatewayConversionSuite,
  inject: injectSuite,
  simulate: simulateSuite,
  validate: validateSuite,
};
