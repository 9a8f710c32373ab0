//! Managed Redis services rename or forbid commands (MEMORY USAGE, SLOWLOG,
//! OBJECT ...). Operations that can live without one degrade with a note
//! instead of failing; these helpers tell such refusals from real errors.

use crate::error::Result;
use redis::aio::ConnectionLike;
use redis::{Pipeline, RedisError, Value};

/// True when the server refused a command as unknown or not permitted.
pub fn is_unsupported(e: &RedisError) -> bool {
    if e.code() == Some("NOPERM") {
        return true;
    }
    let text = e.to_string().to_ascii_lowercase();
    text.contains("unknown command")
        || text.contains("unknown subcommand")
        || text.contains("noperm")
        || text.contains("no permissions")
        || text.contains("command not allowed")
}

/// A note for an operation that went without `command`.
pub fn unsupported_note(command: &str, addr: &str, e: &RedisError) -> String {
    format!("{command} is not available on {addr} ({e}); figures that need it are left empty")
}

/// Runs a pipeline and returns one value per command, keeping per-command
/// server errors as [`Value::ServerError`] instead of failing the whole batch.
pub async fn pipeline_values<C: ConnectionLike>(
    conn: &mut C,
    pipe: &Pipeline,
) -> Result<Vec<Value>> {
    let n = pipe.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(conn.req_packed_commands(pipe, 0, n).await?)
}

/// The integer in a reply, if it is one.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

/// The text in a reply, if it is a string.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::SimpleString(s) => Some(s.clone()),
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

/// The server error carried by a reply, as a `RedisError`.
pub fn as_error(v: &Value) -> Option<RedisError> {
    match v {
        Value::ServerError(e) => Some(e.clone().into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_refusals() {
        let unknown = RedisError::from((
            redis::ErrorKind::ResponseError,
            "An error was signalled by the server",
            "unknown command 'MEMORY', with args beginning with: 'USAGE'".to_string(),
        ));
        let noperm = redis::make_extension_error(
            "NOPERM".into(),
            Some("this user has no permissions to run the 'slowlog' command".into()),
        );
        let other = RedisError::from((
            redis::ErrorKind::ResponseError,
            "An error was signalled by the server",
            "wrong number of arguments".to_string(),
        ));
        assert!(is_unsupported(&unknown));
        assert!(is_unsupported(&noperm));
        assert!(!is_unsupported(&other));
    }

    #[test]
    fn reads_scalars() {
        assert_eq!(as_int(&Value::Int(5)), Some(5));
        assert_eq!(as_int(&Value::BulkString(b"-2".to_vec())), Some(-2));
        assert_eq!(
            as_text(&Value::SimpleString("string".into())).as_deref(),
            Some("string")
        );
        assert_eq!(as_int(&Value::Nil), None);
    }
}
