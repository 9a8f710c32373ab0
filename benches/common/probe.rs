//! Redis latency while a benchmark's work runs: a PING every millisecond
//! on a connection of its own, pooled over rounds into p50/p99/max.
//! Shared by benches/cache.rs and benches/jobs_bullmq.rs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const PROBE_EVERY: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The median duration, and the latency of every probe across all rounds.
pub fn pooled(v: Vec<(Duration, Vec<f64>)>) -> (Duration, Latency) {
    let mut times: Vec<Duration> = v.iter().map(|(d, _)| *d).collect();
    times.sort();
    let samples = v.into_iter().flat_map(|(_, s)| s).collect();
    (times[times.len() / 2], latency(samples))
}

/// PINGs every PROBE_EVERY on its own connection while `work` runs.
pub async fn probe_during<T, W>(url: &str, work: W) -> BenchResult<(T, Vec<f64>)>
where
    W: std::future::Future<Output = BenchResult<T>>,
{
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_err()
                {
                    break;
                }
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                tokio::time::sleep(PROBE_EVERY).await;
            }
            samples
        })
    };
    let result = work.await;
    stop.store(true, Ordering::Relaxed);
    let samples = probe.await?;
    Ok((result?, samples))
}

pub fn latency(mut samples: Vec<f64>) -> Latency {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Latency {
        n: samples.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or(0.0),
    }
}
