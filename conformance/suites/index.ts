// Every conformance suite, by the name `npm run conformance -- <name>` takes.
import type { Suite } from '../suite.js';

export const SUITES: Record<string, Suite> = {};
