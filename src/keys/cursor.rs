//! The opaque `--after` cursor of key listings: the last row's id.

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Marks a keys cursor, so a tenants cursor passed by mistake is refused.
const TAG: &str = "k:";

pub fn encode(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TAG}{id}"))
}

pub fn decode(text: &str) -> Result<String> {
    let invalid = || {
        Error::Usage(format!(
            "invalid cursor '{}': pass the next page's cursor printed by a previous `opsdeck keys list`",
            text.chars().take(80).collect::<String>()
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
    let s = String::from_utf8(bytes).map_err(|_| invalid())?;
    match s.strip_prefix(TAG) {
        Some(id) if !id.is_empty() && !id.contains('\0') => Ok(id.to_string()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_refusals() {
        assert_eq!(super::decode(&super::encode("42")).unwrap(), "42");
        assert!(super::decode("not a cursor!").is_err());
        assert!(super::decode("e30").is_err());
        assert!(super::decode(&super::encode("")).is_err());
    }
}
