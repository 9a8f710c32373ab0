//! Row counts per table against the source. The source keeps changing
//! after its backup, so a count may differ by `tolerance_pct` of the
//! source's count; small tables are counted exactly on the source, large
//! ones are compared with the planner's estimate (last ANALYZE), which is
//! only good to about ESTIMATE_PCT and is stated as such.

use super::tables::Table;
use super::Verify;
use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;
use futures_util::future::try_join_all;

/// How far pg_class.reltuples may be from the truth after an ANALYZE.
pub const ESTIMATE_PCT: f64 = 10.0;

/// The source's side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourceCount {
    Exact(i64),
    Estimate(i64),
}

pub async fn count(pg: &Pg, table: &str) -> Result<i64> {
    Ok(pg
        .row(&format!("SELECT count(*) FROM {table}"), &[])
        .await?
        .get(0))
}

pub async fn compare(v: &Verify<'_>, source: &[Table], restored: &[Table]) -> Result<Vec<Check>> {
    let both: Vec<&Table> = source
        .iter()
        .filter(|s| restored.iter().any(|r| r.name == s.name))
        .collect();
    let limit = v.settings.exact_count_rows;
    let src = try_join_all(both.iter().map(|t| async move {
        if t.estimate >= 0 && t.estimate > limit {
            Ok(SourceCount::Estimate(t.estimate))
        } else {
            count(v.source, &t.name).await.map(SourceCount::Exact)
        }
    }));
    let dst = try_join_all(both.iter().map(|t| count(v.restored, &t.name)));
    let (src, dst) = tokio::try_join!(src, dst)?;
    Ok(both
        .iter()
        .zip(src)
        .zip(dst)
        .map(|((t, s), d)| judge(&t.name, s, d, v.settings.tolerance_pct))
        .collect())
}

/// How many rows a count may be off by.
pub fn allowed(source: i64, pct: f64) -> i64 {
    ((source.max(0) as f64) * pct / 100.0).ceil() as i64
}

pub fn judge(table: &str, source: SourceCount, restored: i64, tolerance_pct: f64) -> Check {
    let name = format!("rows {table}");
    let (src, pct, how) = match source {
        SourceCount::Exact(n) => (n, tolerance_pct, "exact count"),
        SourceCount::Estimate(n) => (
            n,
            tolerance_pct.max(ESTIMATE_PCT),
            "estimate from pg_class.reltuples",
        ),
    };
    let slack = allowed(src, pct);
    let diff = restored - src;
    let text = format!(
        "source {src} ({how}), restored {restored}; {diff:+} rows, tolerance ±{slack} ({pct}% for changes since the backup)"
    );
    if diff.abs() <= slack {
        Check::ok(name, text)
    } else {
        Check::fail(name, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_must_match_within_the_tolerance() {
        let ok = judge("public.users", SourceCount::Exact(300), 300, 0.5);
        assert!(ok.passed(), "{}", ok.detail);
        let removed = judge("public.users", SourceCount::Exact(300), 250, 0.5);
        assert!(!removed.passed());
        assert!(removed.detail.contains("source 300"), "{}", removed.detail);
        assert!(
            removed.detail.contains("restored 250"),
            "{}",
            removed.detail
        );
        assert!(judge("t", SourceCount::Exact(1000), 995, 0.5).passed());
        assert!(!judge("t", SourceCount::Exact(1000), 994, 0.5).passed());
        assert!(!judge("t", SourceCount::Exact(0), 1, 0.0).passed());
    }

    #[test]
    fn estimates_get_their_own_error_and_say_so() {
        let c = judge(
            "public.events",
            SourceCount::Estimate(1_000_000),
            950_000,
            0.5,
        );
        assert!(c.passed(), "{}", c.detail);
        assert!(c.detail.contains("estimate"), "{}", c.detail);
        assert!(!judge("e", SourceCount::Estimate(1_000_000), 800_000, 0.5).passed());
    }
}
