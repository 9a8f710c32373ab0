//! Failures grouped by their normalized error message, so that one bad
//! deploy shows as one row however many jobs it failed: numbers, UUIDs, hex
//! ids and quoted values are replaced by placeholders before grouping.

use super::model::{Job, SourceKind};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Distinct groups kept; further messages fall into one catch-all group so
/// memory stays bounded on a table of unique errors.
pub const MAX_GROUPS: usize = 500;
/// Job ids kept per group, for `jobs show` and the TUI.
pub const SAMPLE: usize = 5;
/// The catch-all group's pattern.
pub const OTHER: &str = "(other errors beyond the first 500 patterns)";
const MAX_PATTERN: usize = 200;
/// What a failure without a message is grouped as.
pub const NO_ERROR: &str = "(no error recorded)";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    pub source: SourceKind,
    /// The normalized message: `timeout after <n>ms for '…'`.
    pub pattern: String,
    /// One message as it was, for the reader.
    pub example: String,
    pub count: i64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub queues: Vec<String>,
    pub sample_ids: Vec<String>,
}

/// Collects failed jobs into groups as they stream by.
#[derive(Debug, Default)]
pub struct Grouper {
    groups: HashMap<(SourceKind, String), ErrorGroup>,
    pub scanned: u64,
}

impl Grouper {
    pub fn new() -> Grouper {
        Grouper::default()
    }

    pub fn add(&mut self, job: &Job) {
        self.scanned += 1;
        let raw = job.error.as_deref().unwrap_or(NO_ERROR);
        let mut pattern = normalize(raw);
        if !self.groups.contains_key(&(job.source, pattern.clone()))
            && self.groups.len() >= MAX_GROUPS
        {
            pattern = OTHER.to_string();
        }
        let g = self
            .groups
            .entry((job.source, pattern.clone()))
            .or_insert_with(|| ErrorGroup {
                source: job.source,
                pattern,
                example: first_line(raw),
                count: 0,
                first_seen: None,
                last_seen: None,
                queues: Vec::new(),
                sample_ids: Vec::new(),
            });
        g.count += 1;
        let at = job.failed_at.or(job.finished_at).or(job.created_at);
        if let Some(at) = at {
            g.first_seen = Some(g.first_seen.map_or(at, |f| f.min(at)));
            g.last_seen = Some(g.last_seen.map_or(at, |l| l.max(at)));
        }
        if !g.queues.contains(&job.queue) {
            g.queues.push(job.queue.clone());
        }
        if g.sample_ids.len() < SAMPLE {
            g.sample_ids.push(job.id.clone());
        }
    }

    /// Largest groups first, then by pattern for a stable order.
    pub fn finish(self) -> Vec<ErrorGroup> {
        let mut v: Vec<ErrorGroup> = self.groups.into_values().collect();
        for g in &mut v {
            g.queues.sort();
        }
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.pattern.cmp(&b.pattern))
                .then_with(|| a.source.cmp(&b.source))
        });
        v
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default().trim();
    truncate(line)
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_PATTERN {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MAX_PATTERN - 1).collect();
    t.push('…');
    t
}

/// The message with what varies between jobs replaced: UUIDs by `<uuid>`,
/// hex ids by `<hex>`, numbers by `<n>`, quoted values by `'…'`; first line
/// only, whitespace collapsed.
pub fn normalize(message: &str) -> String {
    let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '\'' | '"' | '`') {
            if let Some(end) = chars[i + 1..].iter().position(|&d| d == c) {
                out.push(c);
                out.push('…');
                out.push(c);
                i += end + 2;
                continue;
            }
        }
        if c.is_alphanumeric() || c == '_' || c == '-' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push_str(&word_shape(&word));
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    truncate(out.trim())
}

/// A word as grouping sees it: variable parts replaced, words kept.
fn word_shape(word: &str) -> String {
    if super::pgboss::is_uuid(word) {
        return "<uuid>".into();
    }
    let hex_body = word.strip_prefix("0x").unwrap_or(word);
    let is_hex = !hex_body.is_empty() && hex_body.chars().all(|c| c.is_ascii_hexdigit());
    if word.starts_with("0x") && is_hex
        || is_hex
            && word.len() >= 8
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic())
    {
        return "<hex>".into();
    }
    // Digits become <n> wherever they are (`inv_123`, `42ms`, `v2-3`).
    let mut out = String::new();
    let mut in_number = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str("<n>");
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::State;

    #[test]
    fn varying_parts_are_replaced() {
        for (raw, want) in [
            ("timeout after 5000ms", "timeout after <n>ms"),
            (
                "job 3f2c1a9e-1111-4222-8333-944455556666 failed",
                "job <uuid> failed",
            ),
            ("user 'alice@example.com' not found", "user '…' not found"),
            (
                "object deadbeef42 missing at 0x7ffe12",
                "object <hex> missing at <hex>",
            ),
            (
                "invoice inv_123 for tenant 42\n    at stack",
                "invoice inv_<n> for tenant <n>",
            ),
            ("  spaced   out  ", "spaced out"),
            ("connection refused", "connection refused"),
        ] {
            assert_eq!(normalize(raw), want, "{raw}");
        }
    }

    #[test]
    fn one_bad_deploy_is_one_group() {
        let mut g = Grouper::new();
        for i in 0..10 {
            let mut j = Job::new(
                SourceKind::Pgboss,
                format!("q{}", i % 2),
                i.to_string(),
                State::Failed,
            );
            j.error = Some(format!("payment gateway timeout for invoice {i}"));
            g.add(&j);
        }
        let mut j = Job::new(SourceKind::Pgboss, "q0".into(), "x".into(), State::Failed);
        j.error = Some("smtp refused".into());
        g.add(&j);
        let groups = g.finish();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].count, 10);
        assert_eq!(groups[0].queues, vec!["q0", "q1"]);
        assert_eq!(groups[0].sample_ids.len(), SAMPLE);
        assert_eq!(groups[1].pattern, "smtp refused");
    }

    #[test]
    fn groups_are_bounded() {
        let mut g = Grouper::new();
        for i in 0..(MAX_GROUPS + 50) {
            let mut j = Job::new(SourceKind::Pgboss, "q".into(), i.to_string(), State::Failed);
            // Letters only, so normalization keeps them apart.
            j.error = Some(format!("error {}", spell(i)));
            g.add(&j);
        }
        let groups = g.finish();
        assert_eq!(groups.len(), MAX_GROUPS + 1);
        assert_eq!(groups[0].pattern, OTHER);
        assert_eq!(groups[0].count, 50);
    }

    fn spell(mut n: usize) -> String {
        let mut s = String::new();
        loop {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                return s;
            }
        }
    }
}
