//! How opsdeck recognises itself, so that it never reports its own load:
//! every session it opens sets `application_name` to `opsdeck/<context>`
//! (conn::pg::SessionSettings), and every statement it sends carries
//! [`MARK`] right after its first keyword, which pg_stat_statements keeps in
//! the statement's text. Not before it: from PostgreSQL 17 the stored text
//! starts at the statement, without the comments that lead it.

/// The comment every statement opsdeck sends carries (conn::mark puts it in).
pub use crate::conn::mark::MARK;

/// SQL condition true for rows of pg_stat_statements alias `s` that are not
/// opsdeck's own statements.
pub const NOT_OWN_STATEMENT: &str = "s.query NOT LIKE '%/* opsdeck */%'";

/// SQL condition true for sessions of pg_stat_activity alias `a` that are
/// opsdeck's own (this one included).
pub const OWN_SESSION: &str =
    "(a.pid = pg_backend_pid() OR a.application_name = 'opsdeck' OR a.application_name LIKE 'opsdeck/%')";

/// Whether an application_name is one an opsdeck session sets.
pub fn is_own_app(application_name: &str) -> bool {
    application_name == "opsdeck" || application_name.starts_with("opsdeck/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_app_names() {
        assert!(super::is_own_app("opsdeck/prod"));
        assert!(super::is_own_app("opsdeck"));
        assert!(!super::is_own_app("opsdeckish"));
        assert!(!super::is_own_app("psql"));
    }
}
