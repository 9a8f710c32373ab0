// The BullMQ Queue API for tests/jobs_bullmq.rs and benches/jobs_bullmq.rs:
// `node bullmq_client.mjs COMMAND JSON` prints the answer as one JSON line.
// Env: REDIS_URL, BULLMQ_PREFIX, BULLMQ_QUEUE.
//   add {"name","data","opts"}      -> {"id"}
//   flow {"children": [data…]}      -> {"parent", "children": [id…]}: one parent, its children
//   job {"id"}                      -> the job as Job.toJSON() plus its state, or null
//   counts {}                       -> Queue.getJobCounts()
//   pause {} / resume {}            -> {}
//   retryAll {}                     -> {"ms"}: Queue.retryJobs({ state: 'failed' })
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { FlowProducer, Queue } = require('bullmq');
const IORedis = require('ioredis');

const [command, arg] = [process.argv[2], JSON.parse(process.argv[3] || '{}')];
const connection = new IORedis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue(process.env.BULLMQ_QUEUE, { connection, prefix: process.env.BULLMQ_PREFIX });
let out;
switch (command) {
  case 'add': {
    const job = await queue.add(arg.name, arg.data, arg.opts || {});
    out = { id: job.id };
    break;
  }
  case 'flow': {
    const flows = new FlowProducer({ connection, prefix: process.env.BULLMQ_PREFIX });
    const tree = await flows.add({
      name: 'parent',
      queueName: process.env.BULLMQ_QUEUE,
      data: {},
      children: arg.children.map((data) => ({ name: 'child', queueName: process.env.BULLMQ_QUEUE, data })),
    });
    out = { parent: tree.job.id, children: tree.children.map((c) => c.job.id) };
    await flows.close();
    break;
  }
  case 'job': {
    const job = await queue.getJob(arg.id);
    out = job ? { ...job.toJSON(), state: await job.getState() } : null;
    break;
  }
  case 'counts':
    out = await queue.getJobCounts();
    break;
  case 'pause':
    await queue.pause();
    out = {};
    break;
  case 'resume':
    await queue.resume();
    out = {};
    break;
  case 'retryAll': {
    const t = process.hrtime.bigint();
    await queue.retryJobs({ state: 'failed' });
    out = { ms: Number(process.hrtime.bigint() - t) / 1e6 };
    break;
  }
  default:
    throw new Error(`unknown command ${command}`);
}
process.stdout.write(JSON.stringify(out) + '\n');
await queue.close();
await connection.quit();
