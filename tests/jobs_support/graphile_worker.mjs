// A real graphile-worker for tests/jobs_graphile.rs.
//   node graphile_worker.mjs NPM_DIR URL TASK FAIL_FLAG_FILE
// Installs graphile-worker's schema, adds one job of TASK (max_attempts 1)
// and prints `sent <id>`, then runs a worker: a job fails with a
// recognisable error while FAIL_FLAG_FILE exists and completes once it is
// gone, printing `failed <id>` or `completed <id>`. Each `send` line on stdin sends
// one more job the same way; runs until stdin closes.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [npmDir, url, task, flag] = process.argv.slice(2);
const req = createRequire(path.join(npmDir, 'package.json'));
const { run } = await import(pathToFileURL(req.resolve('graphile-worker')).href);

const runner = await run({
  connectionString: url,
  concurrency: 1,
  pollInterval: 200,
  noHandleSignals: true,
  taskList: {
    [task]: async (payload) => {
      if (existsSync(flag)) {
        throw new Error(`smtp connect refused for tenant ${payload.tenant_id}`);
      }
    },
  },
});
runner.events.on('job:failed', ({ job }) => console.log(`failed ${job.id}`));
runner.events.on('job:success', ({ job }) => console.log(`completed ${job.id}`));
const send = async () => {
  const job = await runner.addJob(task, { tenant_id: 't-42', to: 'ops@example.com' }, { maxAttempts: 1 });
  console.log(`sent ${job.id}`);
};
await send();

const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => { if (l.trim() === 'send') send(); });
lines.on('close', async () => {
  await runner.stop();
  process.exit(0);
});
