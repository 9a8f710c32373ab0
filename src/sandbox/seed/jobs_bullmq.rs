//! BullMQ queues for the demo, written with pipelines in exactly the layout
//! BullMQ 6.7 leaves behind (meta with `version`, the `id` counter, job
//! hashes with name/data/opts/timestamp/delay/priority, processedOn,
//! finishedOn, failedReason, stacktrace, atm, ats; `failed`/`completed`
//! scored by finishedOn, `delayed` by run time × 4096, `wait` LPUSHed, the
//! marker), so the real library and its workers read them as their own.

use super::Scale;
use crate::error::Result;
use redis::aio::ConnectionLike;
use serde::Serialize;
use serde_json::json;

pub const VERSION: &str = "bullmq:6.7.0";

/// Commands per pipeline round trip.
const BATCH: usize = 2_000;

/// The failure kinds the demo's failed jobs show: one bad deploy's error
/// shows up many times, the others a few.
const FAILURES: [(&str, &str); 4] = [
    (
        "connect ECONNREFUSED 10.0.3.7:587",
        "Error: connect ECONNREFUSED 10.0.3.7:587\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)",
    ),
    (
        "Cannot read properties of undefined (reading 'email')",
        "TypeError: Cannot read properties of undefined (reading 'email')\n    at renderInvoice (/app/dist/jobs/invoice.js:42:31)\n    at Worker.processFn (/app/dist/worker.js:18:12)",
    ),
    (
        "Stripe API 429: rate limited",
        "Error: Stripe API 429: rate limited\n    at StripeClient.request (/app/dist/billing/stripe.js:88:15)",
    ),
    (
        "job stalled more than allowable limit",
        "Error: job stalled more than allowable limit\n    at Worker.moveStalledJobsToWait (/app/node_modules/bullmq/dist/cjs/classes/worker.js:880:23)",
    ),
];

#[derive(Debug, Clone, Serialize)]
pub struct BullmqSeedReport {
    pub queues: usize,
    pub failed: u64,
    pub waiting: u64,
    pub delayed: u64,
    pub completed: u64,
}

/// How many jobs of each kind one queue gets.
#[derive(Debug, Clone, Copy)]
pub struct QueueFill {
    pub failed: u64,
    pub waiting: u64,
    pub delayed: u64,
    pub completed: u64,
}

/// The demo's queues: names, job names and how full each is at `scale`.
fn demo_queues(scale: Scale) -> Vec<(&'static str, &'static str, QueueFill)> {
    let k = match scale {
        Scale::Tiny => 1,
        Scale::Small => 4,
        Scale::Default => 10,
        Scale::Large => 50,
    };
    vec![
        (
            "emails",
            "send-email",
            QueueFill {
                failed: 30 * k,
                waiting: 12 * k,
                delayed: 4 * k,
                completed: 200 * k,
            },
        ),
        (
            "invoices",
            "render-invoice",
            QueueFill {
                failed: 8 * k,
                waiting: 3 * k,
                delayed: 2 * k,
                completed: 80 * k,
            },
        ),
        (
            "webhooks",
            "deliver-webhook",
            QueueFill {
                failed: 3 * k,
                waiting: 25 * k,
                delayed: 10 * k,
                completed: 400 * k,
            },
        ),
    ]
}

/// Seeds the demo's BullMQ queues under the default prefix `bull`.
pub async fn seed_bullmq(url: &str, scale: Scale) -> Result<BullmqSeedReport> {
    let redis = crate::conn::redis::connect_url(url, None).await?;
    let now = chrono::Utc::now().timestamp_millis();
    seed_queues(&mut redis.routed(), "bull", scale, now).await
}

/// Seeds the demo's BullMQ queues under `prefix` at `now_ms`.
pub async fn seed_queues<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
    scale: Scale,
    now_ms: i64,
) -> Result<BullmqSeedReport> {
    let mut report = BullmqSeedReport {
        queues: 0,
        failed: 0,
        waiting: 0,
        delayed: 0,
        completed: 0,
    };
    for (qi, (queue, name, fill)) in demo_queues(scale).into_iter().enumerate() {
        let tenants = 30 + qi as u64;
        write_queue(conn, prefix, queue, name, fill, tenants, now_ms).await?;
        report.queues += 1;
        report.failed += fill.failed;
        report.waiting += fill.waiting;
        report.delayed += fill.delayed;
        report.completed += fill.completed;
    }
    Ok(report)
}

/// Writes one queue's meta and jobs: ids 1.. are completed, then failed,
/// then delayed, then waiting, as a queue that has run for a while has
/// them. Failures are spread over the last two hours, a few per error kind.
pub async fn write_queue<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
    queue: &str,
    name: &str,
    fill: QueueFill,
    tenants: u64,
    now_ms: i64,
) -> Result<()> {
    let base = format!("{prefix}:{queue}:");
    let total = fill.completed + fill.failed + fill.delayed + fill.waiting;
    let mut pipe = redis::pipe();
    pipe.cmd("HSET")
        .arg(format!("{base}meta"))
        .arg("version")
        .arg(VERSION)
        .arg("opts.maxLenEvents")
        .arg(10_000)
        .ignore();
    pipe.cmd("SET").arg(format!("{base}id")).arg(total).ignore();
    let mut queued = 2;
    for id in 1..=total {
        let job = Seeded::of(id, &fill, tenants, now_ms, total);
        job.write(&mut pipe, &base, name, id);
        queued += 2;
        if queued >= BATCH {
            pipe.query_async::<()>(conn).await?;
            pipe = redis::pipe();
            queued = 0;
        }
    }
    if fill.waiting > 0 {
        pipe.cmd("ZADD")
            .arg(format!("{base}marker"))
            .arg(0)
            .arg("0")
            .ignore();
    }
    if fill.delayed > 0 {
        let first_delayed = fill.completed + fill.failed + 1;
        let run_at = Seeded::of(first_delayed, &fill, tenants, now_ms, total).run_at;
        pipe.cmd("ZADD")
            .arg(format!("{base}marker"))
            .arg(run_at)
            .arg("1")
            .ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Completed,
    Failed,
    Delayed,
    Waiting,
}

struct Seeded {
    kind: Kind,
    tenant: u64,
    created: i64,
    finished: i64,
    run_at: i64,
    failure: usize,
}

impl Seeded {
    fn of(id: u64, fill: &QueueFill, tenants: u64, now_ms: i64, total: u64) -> Seeded {
        let kind = if id <= fill.completed {
            Kind::Completed
        } else if id <= fill.completed + fill.failed {
            Kind::Failed
        } else if id <= fill.completed + fill.failed + fill.delayed {
            Kind::Delayed
        } else {
            Kind::Waiting
        };
        let step = i64::try_from(7_200_000 / total.max(1)).unwrap_or(1).max(1);
        let created = now_ms - 7_200_000 + i64::try_from(id).unwrap_or(0) * step;
        // Half the failures are one error (a bad deploy), the rest spread.
        let failure = if id % 2 == 0 {
            0
        } else {
            usize::try_from(id / 2 % 3 + 1).unwrap_or(1)
        };
        Seeded {
            kind,
            tenant: 1 + (id * 7) % tenants.max(1),
            created,
            finished: created + 40 + i64::try_from(id % 200).unwrap_or(0),
            run_at: now_ms + 60_000 * i64::try_from(1 + id % 30).unwrap_or(1),
            failure,
        }
    }

    fn write(&self, pipe: &mut redis::Pipeline, base: &str, name: &str, id: u64) {
        let key = format!("{base}{id}");
        let attempts = if self.kind == Kind::Failed { 3 } else { 1 };
        let data = json!({"tenant_id": self.tenant, "ref": format!("{name}-{id}")});
        let delay = if self.kind == Kind::Delayed {
            self.run_at - self.created
        } else {
            0
        };
        let mut opts = json!({"attempts": attempts});
        if delay > 0 {
            opts["delay"] = json!(delay);
        }
        if attempts > 1 {
            opts["backoff"] = json!({"type": "exponential", "delay": 1000});
        }
        let h = pipe.cmd("HSET");
        h.arg(&key)
            .arg("name")
            .arg(name)
            .arg("data")
            .arg(data.to_string())
            .arg("opts")
            .arg(opts.to_string())
            .arg("timestamp")
            .arg(self.created)
            .arg("delay")
            .arg(delay)
            .arg("priority")
            .arg(0);
        match self.kind {
            Kind::Completed => {
                h.arg("processedOn")
                    .arg(self.finished - 30)
                    .arg("finishedOn")
                    .arg(self.finished)
                    .arg("returnvalue")
                    .arg(json!({"ok": true}).to_string())
                    .arg("atm")
                    .arg(1)
                    .arg("ats")
                    .arg(1);
                h.ignore();
                pipe.cmd("ZADD")
                    .arg(format!("{base}completed"))
                    .arg(self.finished)
                    .arg(id)
                    .ignore();
            }
            Kind::Failed => {
                let (message, stack) = FAILURES[self.failure];
                let traces: Vec<&str> = vec![stack; attempts];
                h.arg("processedOn")
                    .arg(self.finished - 30)
                    .arg("finishedOn")
                    .arg(self.finished)
                    .arg("failedReason")
                    .arg(message)
                    .arg("stacktrace")
                    .arg(json!(traces).to_string())
                    .arg("atm")
                    .arg(attempts)
                    .arg("ats")
                    .arg(attempts);
                h.ignore();
                pipe.cmd("ZADD")
                    .arg(format!("{base}failed"))
                    .arg(self.finished)
                    .arg(id)
                    .ignore();
            }
            Kind::Delayed => {
                h.ignore();
                let score = self.run_at * 0x1000 + i64::try_from(id % 0x1000).unwrap_or(0);
                pipe.cmd("ZADD")
                    .arg(format!("{base}delayed"))
                    .arg(score)
                    .arg(id)
                    .ignore();
            }
            Kind::Waiting => {
                h.ignore();
                pipe.cmd("LPUSH")
                    .arg(format!("{base}wait"))
                    .arg(id)
                    .ignore();
            }
        }
    }
}

/// `n` failed jobs in one queue, ids `1..=n`, each with a distinct
/// finishedOn: what the 100,000-job retry benchmark starts from.
pub async fn write_failed<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
    queue: &str,
    n: u64,
    now_ms: i64,
) -> Result<()> {
    let fill = QueueFill {
        failed: n,
        waiting: 0,
        delayed: 0,
        completed: 0,
    };
    write_queue(conn, prefix, queue, "bench", fill, 50, now_ms).await
}
