//! What the server can do, decided once per connection from
//! `server_version_num` and the extension versions, so version-dependent SQL
//! asks one question here instead of comparing versions where it lives.

/// The server's version and the extensions that change what opsdeck reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// `server_version_num`, e.g. 170004.
    pub version_num: u32,
    /// `pg_stat_statements`' extension version in this database, if created.
    pub stat_statements: Option<String>,
}

impl Caps {
    /// The major version: 13 for 130022, 17 for 170004.
    pub fn major(&self) -> u32 {
        self.version_num / 10_000
    }

    /// Debian's package for an extension built for this server's major
    /// (`postgresql-17-hypopg`), for hints.
    pub fn debian_package(&self, extension: &str) -> String {
        format!("postgresql-{}-{extension}", self.major())
    }

    /// pg_stat_statements 1.8 (Postgres 13) renamed total_time to
    /// total_exec_time; the columns opsdeck reads exist from there on.
    pub fn supported(&self) -> bool {
        self.version_num >= 130_000
    }

    /// pg_stat_io exists from Postgres 16.
    pub fn has_stat_io(&self) -> bool {
        self.version_num >= 160_000
    }

    /// Checkpoint figures live in pg_stat_checkpointer from Postgres 17
    /// (pg_stat_bgwriter before).
    pub fn has_stat_checkpointer(&self) -> bool {
        self.version_num >= 170_000
    }

    /// pg_stat_statements_info (dealloc count, stats reset) from 14.
    pub fn has_stat_statements_info(&self) -> bool {
        self.version_num >= 140_000
    }

    /// pg_stat_statements renamed blk_read_time to shared_blk_read_time in
    /// 17 (extension 1.11).
    pub fn shared_blk_time_column(&self) -> &'static str {
        if self.version_num >= 170_000 {
            "shared_blk_read_time"
        } else {
            "blk_read_time"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(v: u32) -> Caps {
        Caps {
            version_num: v,
            stat_statements: None,
        }
    }

    #[test]
    fn each_major_answers_for_itself() {
        assert_eq!(caps(130022).major(), 13);
        assert_eq!(
            caps(170004).debian_package("hypopg"),
            "postgresql-17-hypopg"
        );
        assert!(!caps(120000).supported() && caps(130000).supported());
        assert!(!caps(150000).has_stat_io() && caps(160000).has_stat_io());
        assert!(!caps(160009).has_stat_checkpointer() && caps(170000).has_stat_checkpointer());
        assert!(
            !caps(130000).has_stat_statements_info() && caps(140000).has_stat_statements_info()
        );
        assert_eq!(caps(160000).shared_blk_time_column(), "blk_read_time");
        assert_eq!(
            caps(180000).shared_blk_time_column(),
            "shared_blk_read_time"
        );
    }
}
