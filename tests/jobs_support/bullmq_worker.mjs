// A real BullMQ Worker for tests/jobs_bullmq.rs: jobs whose data says
// `fail: "first"` fail on their first run in this process and complete on
// the next; `fail: "always"` always fail. Prints one JSON line per event and
// runs until stdin closes. Env: REDIS_URL, BULLMQ_PREFIX, BULLMQ_QUEUE.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { Worker } = require('bullmq');
const IORedis = require('ioredis');

const connection = new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const seen = new Set();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const worker = new Worker(
  process.env.BULLMQ_QUEUE,
  async (job) => {
    const first = !seen.has(job.id);
    seen.add(job.id);
    if (job.data.fail === 'always' || (job.data.fail === 'first' && first)) {
      throw new Error(`${job.data.error || 'boom'} (run ${first ? 1 : 2})`);
    }
    return { ok: job.id };
  },
  { connection, prefix: process.env.BULLMQ_PREFIX, concurrency: 4 },
);
worker.on('failed', (job, err) => say({ event: 'failed', id: job.id, error: err.message, attemptsMade: job.attemptsMade }));
worker.on('completed', (job) => say({ event: 'completed', id: job.id, attemptsMade: job.attemptsMade }));
worker.on('ready', () => say({ event: 'ready' }));
worker.on('error', (e) => process.stderr.write(String(e) + '\n'));
process.stdin.resume();
process.stdin.on('end', async () => {
  await worker.close();
  await connection.quit();
  process.exit(0);
});
