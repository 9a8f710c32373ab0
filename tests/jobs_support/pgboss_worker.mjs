// A real pg-boss worker for tests/jobs_pgboss.rs, run with node from the
// directory tests/jobs_npm.sh installed pg-boss into (NODE_PATH is not read
// by ES modules, so the test passes that directory as argv[2]).
//   node pgboss_worker.mjs NPM_DIR URL QUEUE FAIL_FLAG_FILE
// Creates QUEUE, sends one job (retryLimit 0) and prints `sent <id>`, then
// works the queue: a job fails with a recognisable error while FAIL_FLAG_FILE
// exists and completes once it is gone, printing `failed <id>` or
// `completed <id>` for each. Each `send` line on stdin sends
// one more job the same way; runs until stdin closes.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [npmDir, url, queue, flag] = process.argv.slice(2);
const req = createRequire(path.join(npmDir, 'package.json'));
const { PgBoss } = await import(pathToFileURL(req.resolve('pg-boss')).href);

const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
boss.on('error', (e) => console.error('pg-boss error:', e.message));
await boss.start();
await boss.createQueue(queue, { retryLimit: 0 });
const send = async () => {
  const id = await boss.send(queue, { tenant: { id: 't-42' }, invoice: 1234 }, { retryLimit: 0 });
  console.log(`sent ${id}`);
};
await send();

await boss.work(queue, { pollingIntervalSeconds: 0.5 }, async ([job]) => {
  if (existsSync(flag)) {
    console.log(`failed ${job.id}`);
    throw new Error(`payment gateway timeout for invoice ${job.data.invoice}`);
  }
  console.log(`completed ${job.id}`);
  return { ok: true };
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => { if (l.trim() === 'send') send(); });
lines.on('close', async () => {
  await boss.stop({ graceful: false, timeout: 1000 });
  process.exit(0);
});
