// BenchWorkflow, same contract as workflows/src/bench.rs. Plain CommonJS: the worker's webpack
// bundler takes it as is, so no tsc step is needed.
const { proxyActivities } = require('@temporalio/workflow');

// Default retry policy; the property name is the activity type.
const { BenchActivity } = proxyActivities({ startToCloseTimeout: '30 seconds' });

// The exported name is the workflow type.
exports.BenchWorkflow = async function BenchWorkflow(input) {
  const payload = 'x'.repeat(input.payload_bytes);
  let total = 0;
  for (let i = 0; i < input.activities; i++) {
    total += await BenchActivity(payload);
  }
  return total;
};
