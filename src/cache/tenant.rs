//! Which keys belong to a tenant. Only this module knows: the context's
//! tenant patterns (`cache.tenant_pattern`, one or a list) with `{tenant}`
//! (the id) and `{slug}` filled in, and how to count what they select. `tenants
//! show` counts with [`count`] and `cache invalidate --tenant` deletes the
//! same patterns, so the count shown is the count an invalidation removes.

use super::keyname::{escape, glob_escape};
use super::scan::scan_patterns;
pub use super::scan::Budget;
use crate::config::CacheLayout;
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use serde::Serialize;

/// The SCAN patterns of one tenant's keys, in config order, without repeats.
pub fn patterns(layout: &CacheLayout, id: &str, slug: Option<&str>) -> Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for template in &layout.tenant_pattern {
        let mut p = template.replace("{tenant}", &glob_escape(id));
        if p.contains("{slug}") {
            let Some(slug) = slug else {
                return Err(Error::Usage(format!(
                    "cache.tenant_pattern '{template}' needs the tenant's slug, which is only known through Postgres; configure Postgres for this context or pass a pattern with --pattern"
                )));
            };
            p = p.replace("{slug}", &glob_escape(slug));
        }
        let p = p.into_bytes();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Keys matching the tenant's patterns, each key counted once.
#[derive(Debug, Clone, Serialize)]
pub struct CacheCount {
    pub keys: u64,
    /// True when the budget ran out before SCAN finished: `keys` is then a
    /// lower bound.
    pub capped: bool,
    pub patterns: Vec<String>,
}

/// Counts the keys `patterns` select on every master, a key that matches
/// several patterns once, within `budget` when given.
pub async fn count(
    redis: &Redis,
    patterns: &[Vec<u8>],
    budget: Option<Budget>,
) -> Result<CacheCount> {
    let mut keys = 0u64;
    let capped = scan_patterns(redis, patterns, budget, |_| keys += 1).await?;
    Ok(CacheCount {
        keys,
        capped,
        patterns: patterns.iter().map(|p| escape(p)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::matching::glob_match;

    fn layout(patterns: &[&str]) -> CacheLayout {
        CacheLayout {
            tenant_pattern: patterns.iter().map(|p| p.to_string()).collect(),
            ..CacheLayout::default()
        }
    }

    #[test]
    fn patterns_fill_id_and_slug_escaped_and_dedupe() {
        let l = layout(&["t:{tenant}:*", "cache:{slug}:*", "t:{tenant}:*"]);
        let p = patterns(&l, "42", Some("a*b")).unwrap();
        assert_eq!(p, vec![b"t:42:*".to_vec(), b"cache:a\\*b:*".to_vec()]);
        assert!(glob_match(&p[1], b"cache:a*b:x"));
        assert!(!glob_match(&p[1], b"cache:aXb:x"));
    }

    #[test]
    fn a_slug_pattern_without_a_slug_is_an_error() {
        let l = layout(&["cache:{slug}:*"]);
        let e = patterns(&l, "42", None).unwrap_err().to_string();
        assert!(e.contains("slug"), "{e}");
    }
}
