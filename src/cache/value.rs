//! `cache get KEY`: a key of any type with its TTL, encoding and size. Big
//! values are bounded (first N elements or bytes) and say how much is shown.

use super::keyname::escape;
use super::support::is_unsupported;
use crate::conn::redis::{Conn, Redis};
use crate::error::{Error, Result};
use redis::Value;
use serde::Serialize;
use serde_json::{json, Value as Json};

/// Elements shown of a hash, list, set, sorted set or stream.
pub const MAX_ELEMENTS: usize = 100;
/// Bytes shown of a string.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// OBJECT ENCODING (listpack, hashtable, int ...), if the server allows it.
    pub encoding: Option<String>,
    /// `null` when the key never expires.
    pub ttl_ms: Option<i64>,
    /// MEMORY USAGE, if the server allows it.
    pub memory_bytes: Option<u64>,
    /// Bytes of a string, elements of a collection.
    pub length: u64,
    /// How many bytes or elements `value` holds.
    pub shown: u64,
    pub truncated: bool,
    /// `json` (a string that parses as JSON, shown parsed), `text`, `binary`
    /// (escaped as `\xNN`), or `elements` for collections.
    pub format: &'static str,
    pub value: Json,
    pub notes: Vec<String>,
}

/// Unobserved: its TYPE, PTTL and reads count as keyspace hits, which must
/// not show in the hit ratio opsdeck reports.
pub async fn get(redis: &Redis, key: &[u8]) -> Result<KeyValue> {
    super::window::unobserved(redis, read(redis, key)).await
}

async fn read(redis: &Redis, key: &[u8]) -> Result<KeyValue> {
    let mut conn = redis.routed();
    let kind: String = redis::cmd("TYPE").arg(key).query_async(&mut conn).await?;
    if kind == "none" {
        return Err(Error::NotFound(format!(
            "key '{}' does not exist (it may have expired); list keys with `opsdeck cache keys --pattern P`",
            escape(key)
        )));
    }
    let mut notes = Vec::new();
    let ttl: i64 = redis::cmd("PTTL").arg(key).query_async(&mut conn).await?;
    let encoding = optional(
        &mut conn,
        redis::cmd("OBJECT").arg("ENCODING").arg(key),
        "OBJECT ENCODING",
        &mut notes,
    )
    .await?
    .and_then(|v| super::support::as_text(&v));
    let memory_bytes = optional(
        &mut conn,
        redis::cmd("MEMORY").arg("USAGE").arg(key),
        "MEMORY USAGE",
        &mut notes,
    )
    .await?
    .and_then(|v| super::support::as_int(&v))
    .and_then(|m| u64::try_from(m).ok());
    let body = match kind.as_str() {
        "string" => string(&mut conn, key).await?,
        "hash" => hash(&mut conn, key).await?,
        "list" => list(&mut conn, key).await?,
        "set" => set(&mut conn, key).await?,
        "zset" => zset(&mut conn, key).await?,
        "stream" => stream(&mut conn, key).await?,
        other => {
            notes.push(format!(
                "values of type '{other}' (a module type) are not shown"
            ));
            Body {
                length: 0,
                shown: 0,
                format: "elements",
                value: Json::Null,
            }
        }
    };
    Ok(KeyValue {
        key: escape(key),
        kind,
        encoding,
        ttl_ms: (ttl >= 0).then_some(ttl),
        memory_bytes,
        truncated: body.shown < body.length,
        length: body.length,
        shown: body.shown,
        format: body.format,
        value: body.value,
        notes,
    })
}

/// Runs a command the server may refuse (managed Redis); a refusal becomes a note.
async fn optional(
    conn: &mut Conn,
    cmd: &mut redis::Cmd,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Value>> {
    match cmd.query_async::<Value>(conn).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_unsupported(&e) => {
            notes.push(format!("{name} is not available ({e})"));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

struct Body {
    length: u64,
    shown: u64,
    format: &'static str,
    value: Json,
}

/// Shows bytes as JSON (parsed), text, or escaped binary.
pub fn render_bytes(bytes: &[u8], complete: bool) -> (&'static str, Json) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            if complete {
                if let Ok(v) = serde_json::from_str::<Json>(text) {
                    if v.is_object() || v.is_array() {
                        return ("json", v);
                    }
                }
            }
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                ("binary", Json::String(escape(bytes)))
            } else {
                ("text", Json::String(text.to_string()))
            }
        }
        // A cut in the middle of a UTF-8 sequence is still text.
        Err(e) if !complete && e.error_len().is_none() => {
            render_bytes(&bytes[..e.valid_up_to()], false)
        }
        Err(_) => ("binary", Json::String(escape(bytes))),
    }
}

async fn string(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("STRLEN").arg(key).query_async(conn).await?;
    let bytes: Vec<u8> = redis::cmd("GETRANGE")
        .arg(key)
        .arg(0)
        .arg(MAX_STRING_BYTES as i64 - 1)
        .query_async(conn)
        .await?;
    let complete = bytes.len() as u64 >= len;
    let (format, value) = render_bytes(&bytes, complete);
    Ok(Body {
        length: len,
        shown: bytes.len() as u64,
        format,
        value,
    })
}

fn text(bytes: &[u8]) -> Json {
    Json::String(escape(bytes))
}

async fn hash(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("HLEN").arg(key).query_async(conn).await?;
    let mut fields = serde_json::Map::new();
    let mut cursor = 0u64;
    loop {
        let (next, flat): (u64, Vec<Vec<u8>>) = redis::cmd("HSCAN")
            .arg(key)
            .arg(cursor)
            .arg("COUNT")
            .arg(MAX_ELEMENTS)
            .query_async(conn)
            .await?;
        for pair in flat.chunks(2) {
            if let [f, v] = pair {
                if fields.len() < MAX_ELEMENTS {
                    fields.insert(escape(f), text(v));
                }
            }
        }
        cursor = next;
        if cursor == 0 || fields.len() >= MAX_ELEMENTS {
            break;
        }
    }
    Ok(Body {
        length: len,
        shown: fields.len() as u64,
        format: "elements",
        value: Json::Object(fields),
    })
}

async fn list(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("LLEN").arg(key).query_async(conn).await?;
    let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(MAX_ELEMENTS as i64 - 1)
        .query_async(conn)
        .await?;
    Ok(Body {
        length: len,
        shown: items.len() as u64,
        format: "elements",
        value: Json::Array(items.iter().map(|i| text(i)).collect()),
    })
}

async fn set(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("SCARD").arg(key).query_async(conn).await?;
    let mut members: Vec<Vec<u8>> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, page): (u64, Vec<Vec<u8>>) = redis::cmd("SSCAN")
            .arg(key)
            .arg(cursor)
            .arg("COUNT")
            .arg(MAX_ELEMENTS)
            .query_async(conn)
            .await?;
        members.extend(page);
        cursor = next;
        if cursor == 0 || members.len() >= MAX_ELEMENTS {
            break;
        }
    }
    members.truncate(MAX_ELEMENTS);
    members.sort();
    Ok(Body {
        length: len,
        shown: members.len() as u64,
        format: "elements",
        value: Json::Array(members.iter().map(|m| text(m)).collect()),
    })
}

async fn zset(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("ZCARD").arg(key).query_async(conn).await?;
    let items: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(MAX_ELEMENTS as i64 - 1)
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    Ok(Body {
        length: len,
        shown: items.len() as u64,
        format: "elements",
        value: Json::Array(
            items
                .iter()
                .map(|(m, s)| json!({"member": escape(m), "score": s}))
                .collect(),
        ),
    })
}

async fn stream(conn: &mut Conn, key: &[u8]) -> Result<Body> {
    let len: u64 = redis::cmd("XLEN").arg(key).query_async(conn).await?;
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(MAX_ELEMENTS)
        .query_async(conn)
        .await?;
    let value = entries
        .iter()
        .map(|(id, flat)| {
            let mut fields = serde_json::Map::new();
            for pair in flat.chunks(2) {
                if let [f, v] = pair {
                    fields.insert(escape(f), text(v));
                }
            }
            json!({"id": id, "fields": fields})
        })
        .collect();
    Ok(Body {
        length: len,
        shown: entries.len() as u64,
        format: "elements",
        value: Json::Array(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bytes_safely() {
        assert_eq!(render_bytes(br#"{"a":1}"#, true), ("json", json!({"a": 1})));
        assert_eq!(render_bytes(br#"{"a":1"#, false).0, "text");
        assert_eq!(render_bytes(b"42", true), ("text", json!("42")));
        assert_eq!(
            render_bytes(b"line\nnext", true),
            ("text", json!("line\nnext"))
        );
        assert_eq!(
            render_bytes(b"\x00\x01ok", true),
            ("binary", json!("\\x00\\x01ok"))
        );
        assert_eq!(
            render_bytes(b"\xff\xfe", true),
            ("binary", json!("\\xff\\xfe"))
        );
        assert_eq!(
            render_bytes("caf\u{e9}".as_bytes()[..4].as_ref(), false),
            ("text", json!("caf"))
        );
    }
}
