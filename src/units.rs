//! Human-readable sizes and durations for tables and screens (JSON keeps raw
//! `_bytes` and `_ms` numbers).

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn millis(ms: f64) -> String {
    if ms < 1.0 && ms > 0.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 7_200_000.0 {
        format!("{:.0} min", ms / 60_000.0)
    } else if ms < 172_800_000.0 {
        format!("{:.1} h", ms / 3_600_000.0)
    } else {
        format!("{:.1} d", ms / 86_400_000.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts() {
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(super::millis(12.0), "12 ms");
        assert_eq!(super::millis(4500.0), "4.5 s");
        assert_eq!(super::millis(600_000.0), "10 min");
        assert_eq!(super::millis(0.012), "12 µs");
        assert_eq!(super::millis(22_680_000.0), "6.3 h");
        assert_eq!(super::millis(30.0 * 86_400_000.0), "30.0 d");
    }
}
