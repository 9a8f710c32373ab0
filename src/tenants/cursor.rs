//! The opaque `--after` cursor: the last row's sort key and id, base64 of a
//! small JSON object, so a page continues exactly where the previous ended.

use super::SortField;
use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "f")]
    pub field: SortField,
    #[serde(rename = "d")]
    pub desc: bool,
    /// The sort column's value as text; None when it was NULL (or for id sort).
    #[serde(rename = "k")]
    pub key: Option<String>,
    #[serde(rename = "i")]
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Serializing a struct of strings and bools cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(text: &str) -> Result<Cursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| Cursor::invalid(text))?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| Cursor::invalid(text))?;
        // No cursor opsdeck printed holds a NUL: Postgres text cannot.
        if c.id.contains('\0') || c.key.as_deref().is_some_and(|k| k.contains('\0')) {
            return Err(Cursor::invalid(text));
        }
        Ok(c)
    }

    pub fn invalid(text: &str) -> Error {
        Error::Usage(format!(
            "invalid cursor '{text}': pass the next_cursor value printed by a previous page"
        ))
    }

    /// A cursor only continues the listing it came from.
    pub fn check(&self, field: SortField, desc: bool) -> Result<()> {
        if self.field != field || self.desc != desc {
            return Err(Error::Usage(format!(
                "this cursor continues a listing sorted by {}{}; repeat that --sort (and --desc) or drop --after",
                self.field.as_str(),
                if self.desc { " descending" } else { "" }
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_unicode_and_null() {
        let c = Cursor {
            field: SortField::Name,
            desc: true,
            key: Some("O'Brien \"Ltd\" 🚀".into()),
            id: "42".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let n = Cursor {
            key: None,
            ..c.clone()
        };
        assert_eq!(Cursor::decode(&n.encode()).unwrap(), n);
        assert!(c.check(SortField::Name, true).is_ok());
        assert!(c.check(SortField::Name, false).is_err());
        assert!(Cursor::decode("not a cursor!").is_err());
        assert!(Cursor::decode("e30").is_err());
        let nul = Cursor {
            key: Some("a\0b".into()),
            ..c.clone()
        };
        assert!(Cursor::decode(&nul.encode()).is_err());
    }
}
