// pg-boss's own way to retry every failed job of a queue, for
// benches/jobs_pgboss.rs: pg-boss has no bulk retry by state and findJobs
// cannot filter by state, so the failed ids are read with one query and
// handed to boss.retry(name, ids) in batches of 1,000.
//   node pgboss_bench.mjs NPM_DIR URL QUEUE
// Prints `retried <n> in <ms>` (the time from the first read to the last retry).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [npmDir, url, queue] = process.argv.slice(2);
const req = createRequire(path.join(npmDir, 'package.json'));
const { PgBoss } = await import(pathToFileURL(req.resolve('pg-boss')).href);
const pg = (await import(pathToFileURL(req.resolve('pg')).href)).default;

const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
await boss.start();
const pool = new pg.Pool({ connectionString: url, max: 1 });
await boss.createQueue(queue, { retryLimit: 0 });
const started = performance.now();
const { rows } = await pool.query(
  "SELECT id FROM pgboss.job WHERE name = $1 AND state = 'failed'", [queue]);
let retried = 0;
for (let i = 0; i < rows.length; i += 1000) {
  const ids = rows.slice(i, i + 1000).map((r) => r.id);
  const res = await boss.retry(queue, ids);
  retried += res.affected ?? ids.length;
}
const ms = performance.now() - started;
console.log(`retried ${retried} in ${ms.toFixed(1)}`);
await pool.end();
await boss.stop({ graceful: false, timeout: 1000 });
process.exit(0);
