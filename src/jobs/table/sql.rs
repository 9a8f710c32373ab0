//! The statements of the table adapter, built from the columns that exist.
//! Parameters are text; lists travel as one JSON array (`$n::jsonb`), so no
//! value can break out of them, and are cast to the column's own type.

use super::layout::Column;
use crate::conn::sql::literal;
use crate::error::Result;

/// The configured columns that exist; `None` where the config names none.
pub struct Cols {
    pub table: String,
    /// The table as operators read it: the queue name without a queue column.
    pub display: String,
    pub id: Column,
    pub state: Column,
    pub queue: Option<Column>,
    pub attempts: Option<Column>,
    pub max_attempts: Option<Column>,
    pub error: Option<Column>,
    pub payload: Option<Column>,
    pub created_at: Option<Column>,
    pub failed_at: Option<Column>,
    pub run_at: Option<Column>,
    pub name: Option<Column>,
    pub finished_at: Option<Column>,
}

fn or_null(c: &Option<Column>, cast: &str) -> String {
    match c {
        Some(c) => format!("{}::{cast}", c.sql()),
        None => format!("NULL::{cast}"),
    }
}

/// A list of text values sent as the JSON array in `$n`, as `ty[]`.
fn list_param(n: u8, ty: &str) -> String {
    format!("ARRAY(SELECT jsonb_array_elements_text(${n}::jsonb))::{ty}[]")
}

impl Cols {
    fn queue_expr(&self) -> Result<String> {
        match &self.queue {
            Some(q) => Ok(format!("{}::text", q.sql())),
            None => literal(&self.display),
        }
    }

    /// The contract columns, in the order `super::job` reads them.
    fn columns(&self) -> Result<String> {
        Ok(format!(
            "{}::text, {}, {}::text, coalesce({}, 0), coalesce({}, 0), {}, {}, {}",
            self.id.sql(),
            self.queue_expr()?,
            self.state.sql(),
            or_null(&self.attempts, "int8"),
            or_null(&self.max_attempts, "int8"),
            or_null(&self.error, "text"),
            or_null(&self.created_at, "timestamptz"),
            or_null(&self.failed_at, "timestamptz"),
        ))
    }

    /// $1 queue, $2 states (JSON), $3 error pattern, $4 after id, $5 limit.
    pub fn list(&self) -> Result<String> {
        let queue = match &self.queue {
            Some(q) => format!("($1::text IS NULL OR {} = $1::{})", q.sql(), q.ty),
            None => "($1::text IS NULL OR true)".into(),
        };
        let error = match &self.error {
            Some(e) => format!("($3::text IS NULL OR {}::text ILIKE $3::text)", e.sql()),
            None => "($3::text IS NULL)".into(),
        };
        Ok(format!(
            "SELECT {} FROM {} t
             WHERE {queue}
               AND ($2::text IS NULL OR {} = ANY ({}))
               AND {error}
               AND ($4::text IS NULL OR {} < $4::{})
             ORDER BY {} DESC LIMIT $5::int8",
            self.columns()?,
            self.table,
            self.state.sql(),
            list_param(2, &self.state.ty),
            self.id.sql(),
            self.id.ty,
            self.id.sql(),
        ))
    }

    /// One job by id ($1) with the detail columns after the contract ones.
    pub fn show(&self) -> Result<String> {
        let payload = match &self.payload {
            Some(p) => p.jsonb(),
            None => "NULL::jsonb".into(),
        };
        Ok(format!(
            "SELECT {}, {payload}, {}, {}, {} FROM {} t WHERE {} = $1::{}",
            self.columns()?,
            or_null(&self.run_at, "timestamptz"),
            or_null(&self.name, "text"),
            or_null(&self.finished_at, "timestamptz"),
            self.table,
            self.id.sql(),
            self.id.ty,
        ))
    }

    /// Per queue and state value: count, oldest due, failed and finished in
    /// the last hour.
    pub fn queues(&self) -> Result<String> {
        let due = match (&self.run_at, &self.created_at) {
            (Some(r), Some(c)) => format!(
                "coalesce({}::timestamptz, {}::timestamptz)",
                r.sql(),
                c.sql()
            ),
            (Some(x), None) | (None, Some(x)) => format!("{}::timestamptz", x.sql()),
            (None, None) => "NULL::timestamptz".into(),
        };
        let failed_at = match (&self.failed_at, &self.finished_at) {
            (Some(f), _) | (None, Some(f)) => format!("{}::timestamptz", f.sql()),
            (None, None) => "NULL::timestamptz".into(),
        };
        let finished = or_null(&self.finished_at, "timestamptz");
        Ok(format!(
            "SELECT {}, {}::text, count(*),
                (extract(epoch FROM now() - min({due}) FILTER (WHERE {due} <= now())) * 1000)::int8,
                count(*) FILTER (WHERE {failed_at} > now() - interval '1 hour'),
                count(*) FILTER (WHERE {finished} > now() - interval '1 hour')
             FROM {} t GROUP BY 1, 2 ORDER BY 1, 2",
            self.queue_expr()?,
            self.state.sql(),
            self.table,
        ))
    }

    /// The ids of `$1` locked, with their state as text.
    fn locked(&self) -> String {
        format!(
            "ids AS (SELECT DISTINCT x AS id FROM jsonb_array_elements_text($1::jsonb) x),
             locked AS (SELECT {id} AS id, {id}::text AS key, {}::text AS state FROM {} t
                WHERE {id} = ANY ({}) FOR UPDATE)",
            self.state.sql(),
            self.table,
            list_param(1, &self.id.ty),
            id = self.id.sql(),
        )
    }

    const REPORT: &'static str = "SELECT ids.id, locked.state, changed.key IS NOT NULL FROM ids
        LEFT JOIN locked ON locked.key = ids.id LEFT JOIN changed ON changed.key = ids.id ORDER BY ids.id";

    /// $1 ids, $2 the new state, $3 the states that may be retried (JSON):
    /// due now, no longer failed, with one more attempt allowed when the
    /// attempts are used up.
    pub fn retry(&self) -> String {
        let mut set = vec![format!("{} = $2::{}", self.state.ident(), self.state.ty)];
        if let Some(r) = &self.run_at {
            set.push(format!("{} = now()", r.ident()));
        }
        for c in [&self.failed_at, &self.finished_at].into_iter().flatten() {
            set.push(format!("{} = NULL", c.ident()));
        }
        if let (Some(a), Some(m)) = (&self.attempts, &self.max_attempts) {
            set.push(format!(
                "{} = GREATEST({}, {} + 1)",
                m.ident(),
                m.sql(),
                a.sql()
            ));
        }
        format!(
            "WITH {}, changed AS (
                UPDATE {} t SET {} FROM locked l
                WHERE {} = l.id AND l.state = ANY (ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))
                RETURNING l.key)
             {}",
            self.locked(),
            self.table,
            set.join(", "),
            self.id.sql(),
            Self::REPORT
        )
    }

    /// $1 ids, $2 the states left alone (JSON: running ones), and with a
    /// discard state $3 the state given; without, the rows are deleted.
    pub fn discard(&self, to_state: bool) -> String {
        let keep = "NOT (l.state = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb))))";
        let changed = if to_state {
            format!(
                "UPDATE {} t SET {} = $3::{} FROM locked l WHERE {} = l.id AND {keep} RETURNING l.key",
                self.table,
                self.state.ident(),
                self.state.ty,
                self.id.sql()
            )
        } else {
            format!(
                "DELETE FROM {} t USING locked l WHERE {} = l.id AND {keep} RETURNING l.key",
                self.table,
                self.id.sql()
            )
        };
        format!(
            "WITH {}, changed AS ({changed}) {}",
            self.locked(),
            Self::REPORT
        )
    }
}
