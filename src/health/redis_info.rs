//! Parsing Redis `INFO` text into a field map.

use std::collections::HashMap;

pub fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn num(info: &HashMap<String, String>, key: &str) -> Option<f64> {
    info.get(key).and_then(|v| v.parse().ok())
}

/// Keys in `db0:keys=12,expires=3,avg_ttl=0` lines, summed over databases.
pub fn total_keys(info: &HashMap<String, String>) -> u64 {
    info.iter()
        .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(_, v)| v.split(',').find_map(|kv| kv.strip_prefix("keys=")))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_info() {
        let text = "# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\n# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n";
        let info = super::parse(text);
        assert_eq!(super::num(&info, "used_memory"), Some(1024.0));
        assert_eq!(super::total_keys(&info), 17);
    }
}
