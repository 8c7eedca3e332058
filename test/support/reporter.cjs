// Mocha's spec output, plus the plain closing line CI reads: "N passed, M failed".
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class PassedFailedReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      // Registered after Spec's own epilogue listener, so this is the last line of the run.
      console.log(`${this.stats.passes} passed, ${this.stats.failures} failed`);
    });
  }
}
module.exports = PassedFailedReporter;
