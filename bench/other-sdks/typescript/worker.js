// Worker for BenchWorkflow/BenchActivity with default worker options, configured only through
// the environment the bench driver sets (bench/src/processes.rs).
const path = require('node:path');
const { NativeConnection, Worker } = require('@temporalio/worker');

const activities = {
  // Length in bytes, not UTF-16 units, as the contract says.
  async BenchActivity(payload) {
    return Buffer.byteLength(payload, 'utf8');
  },
};

async function main() {
  if (process.argv[2] !== 'worker') throw new Error('usage: worker.js worker');
  const connection = await NativeConnection.connect({
    address: process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
  });
  const worker = await Worker.create({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: process.env.PUNCTUAL_TASK_QUEUE,
    workflowsPath: path.join(__dirname, 'workflows.js'),
    activities,
  });
  // The SDK already shuts down gracefully on SIGTERM (its default shutdownSignals), which
  // resolves run(). The driver waits for this exact text before it starts measuring.
  const running = worker.run();
  console.log('worker polling');
  await running;
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
