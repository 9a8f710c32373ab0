//! The key format the backend checks (DESIGN.md section 1):
//! `<prefix>_<random base62><checksum>`, where the random part is at least
//! 30 characters from the OS CSPRNG and the checksum is the CRC32 (IEEE) of
//! everything before it (`<prefix>_<random>`), in base62, left-padded with
//! `0` to 6 characters. A scanner or the backend can reject a mistyped key
//! from the string alone; only the hash of the whole key is stored.

pub use crate::config::api_keys::KeyHash;
use crate::conn::Secret;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256, Sha512};
use std::fmt;

/// `0-9A-Za-z`, the order GitHub's and most token formats use.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of the checksum: 62^6 > 2^32, so every CRC32 fits.
pub const CHECKSUM_CHARS: usize = 6;
/// The shortest random part the format allows.
pub const MIN_RANDOM: usize = 30;

/// `n` in base62, left-padded with `0` to `width` characters.
pub fn base62(mut n: u64, width: usize) -> String {
    let mut out = Vec::with_capacity(width.max(11));
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 6-character checksum of `body` (`<prefix>_<random>`).
pub fn checksum(body: &str) -> String {
    base62(u64::from(crc32fast::hash(body.as_bytes())), CHECKSUM_CHARS)
}

/// A fresh key: `random` characters drawn uniformly from [`BASE62`] with the
/// OS generator, then the checksum.
pub fn generate(prefix: &str, random: usize) -> Secret {
    let mut rng = OsRng;
    let mut body = String::with_capacity(prefix.len() + 1 + random + CHECKSUM_CHARS);
    body.push_str(prefix);
    body.push('_');
    for _ in 0..random.max(MIN_RANDOM) {
        body.push(char::from(BASE62[rng.gen_range(0..BASE62.len())]));
    }
    let sum = checksum(&body);
    body.push_str(&sum);
    Secret::new(body)
}

impl KeyHash {
    /// The hex digest of the whole key, as stored.
    pub fn hex(self, key: &str) -> String {
        let bytes = match self {
            KeyHash::Sha256 => Sha256::digest(key.as_bytes()).to_vec(),
            KeyHash::Sha512 => Sha512::digest(key.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The stored display prefix: `<prefix>_` and the first `chars` random
/// characters, enough to tell keys apart on screen, far too few to use.
pub fn display_prefix(key: &str, prefix: &str, chars: usize) -> String {
    key.chars()
        .take(prefix.chars().count() + 1 + chars)
        .collect()
}

/// A new key for a context, with what is stored for it.
pub struct Fresh {
    pub secret: Secret,
    /// The display prefix.
    pub shown: String,
    /// The configured hash, hex.
    pub hash: String,
}

pub fn fresh(s: &crate::config::api_keys::ApiKeySettings) -> Fresh {
    let secret = generate(&s.prefix, s.random_chars);
    Fresh {
        shown: display_prefix(secret.expose(), &s.prefix, s.display_chars),
        hash: s.hash.hex(secret.expose()),
        secret,
    }
}

/// Why a string is not a well-formed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    Empty,
    /// No `_` between the prefix and the random part.
    NoPrefix,
    /// The prefix is not one this context knows.
    UnknownPrefix {
        found: String,
        known: Vec<String>,
    },
    /// A character outside base62 after the prefix (at this 0-based offset of the key).
    BadCharacter {
        at: usize,
    },
    TooShort {
        random: usize,
    },
    Checksum,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Empty => f.write_str("no key given"),
            Malformed::NoPrefix => f.write_str("no '<prefix>_' at the start"),
            Malformed::UnknownPrefix { found, known } => write!(
                f,
                "prefix '{found}' is not one of this context's ({})",
                known.join(", ")
            ),
            Malformed::BadCharacter { at } => {
                write!(f, "character {} is not base62 (0-9, A-Z, a-z)", at + 1)
            }
            Malformed::TooShort { random } => write!(
                f,
                "too short: {random} characters after the prefix, a key has at least {}",
                MIN_RANDOM + CHECKSUM_CHARS
            ),
            Malformed::Checksum => {
                f.write_str("checksum does not match: a character is wrong, missing or swapped")
            }
        }
    }
}

/// A key that parsed, and which of the known prefixes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub prefix: String,
}

/// Checks `key` against the format and the checksum, with no lookup.
/// `known` are the prefixes accepted (without the trailing `_`).
pub fn parse(key: &str, known: &[String]) -> Result<Parsed, Malformed> {
    if key.is_empty() {
        return Err(Malformed::Empty);
    }
    // Base62 has no `_`, so the last one ends the prefix (which may hold `_`).
    let Some(split) = key.rfind('_').filter(|&i| i > 0) else {
        return Err(Malformed::NoPrefix);
    };
    let (prefix, rest) = (&key[..split], &key[split + 1..]);
    if !known.iter().any(|k| k == prefix) {
        return Err(Malformed::UnknownPrefix {
            found: prefix.chars().take(40).collect(),
            known: known.to_vec(),
        });
    }
    if let Some((i, _)) = rest
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
    {
        return Err(Malformed::BadCharacter { at: split + 1 + i });
    }
    if rest.len() < MIN_RANDOM + CHECKSUM_CHARS {
        return Err(Malformed::TooShort { random: rest.len() });
    }
    let (body, sum) = key.split_at(key.len() - CHECKSUM_CHARS);
    if checksum(body) != sum {
        return Err(Malformed::Checksum);
    }
    Ok(Parsed {
        prefix: prefix.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Vec<String> {
        vec!["sk_live".into(), "sk_test".into()]
    }

    #[test]
    fn base62_vectors() {
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 1), "z");
        assert_eq!(base62(62, 1), "10");
        assert_eq!(base62(3843, 0), "zz");
        assert_eq!(base62(u64::from(u32::MAX), 6), "4gfFC3");
        assert_eq!(base62(u64::MAX, 0), "LygHa16AHYF");
    }

    #[test]
    fn crc32_and_checksum_vectors() {
        // The CRC32 (IEEE) check value and a zlib reference value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32fast::hash(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(checksum("123456789"), base62(0xCBF4_3926, 6));
        assert_eq!(checksum("123456789"), "3jZRME");
        assert_eq!(checksum(""), "000000");
    }

    #[test]
    fn sha256_vector() {
        assert_eq!(
            KeyHash::Sha256.hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(KeyHash::Sha512.hex("abc").len(), 128);
    }

    #[test]
    fn generated_keys_parse_and_look_right() {
        for _ in 0..50 {
            let k = generate("sk_live", 32);
            let k = k.expose();
            assert_eq!(k.len(), "sk_live_".len() + 32 + 6, "{k}");
            assert!(k.starts_with("sk_live_"));
            assert_eq!(
                parse(k, &live()),
                Ok(Parsed {
                    prefix: "sk_live".into()
                })
            );
        }
        // Too short a request still gives the format's minimum.
        assert_eq!(generate("sk_test", 3).expose().len(), "sk_test_".len() + 36);
        let a = generate("sk_live", 32);
        let b = generate("sk_live", 32);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(display_prefix(a.expose(), "sk_live", 8).len(), 16);
    }

    #[test]
    fn checksum_catches_every_single_change_and_transposition() {
        let key = generate("sk_live", 32);
        let key = key.expose();
        let start = "sk_live_".len();
        let chars: Vec<char> = key.chars().collect();
        let mut tried = 0;
        for i in start..chars.len() {
            for &c in BASE62 {
                let c = char::from(c);
                if c == chars[i] {
                    continue;
                }
                let mut changed = chars.clone();
                changed[i] = c;
                let s: String = changed.into_iter().collect();
                assert!(parse(&s, &live()).is_err(), "{s} passed");
                tried += 1;
            }
        }
        for i in start..chars.len() - 1 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let s: String = swapped.into_iter().collect();
            assert_eq!(parse(&s, &live()), Err(Malformed::Checksum), "{s}");
            tried += 1;
        }
        assert!(tried > 2000, "{tried}");
        // A changed prefix is caught too: the checksum covers it.
        let other = key.replacen("sk_live", "sk_test", 1);
        assert_eq!(parse(&other, &live()), Err(Malformed::Checksum));
    }

    #[test]
    fn malformed_keys_say_why() {
        let good = generate("sk_live", 32);
        let good = good.expose();
        let cases: Vec<(String, Malformed)> = vec![
            (String::new(), Malformed::Empty),
            ("nounderscore".into(), Malformed::NoPrefix),
            ("_abc".into(), Malformed::NoPrefix),
            (
                good.replacen("sk_live", "pk_live", 1),
                Malformed::UnknownPrefix {
                    found: "pk_live".into(),
                    known: live(),
                },
            ),
            (
                format!("{good}!"),
                Malformed::BadCharacter { at: good.len() },
            ),
            ("sk_live_abc".into(), Malformed::TooShort { random: 3 }),
            (good[..good.len() - 1].to_string(), Malformed::Checksum),
        ];
        for (input, want) in cases {
            let got = parse(&input, &live());
            assert_eq!(got, Err(want.clone()), "{input}");
            assert!(!want.to_string().is_empty());
        }
        assert!(Malformed::Checksum.to_string().contains("checksum"));
        assert!(Malformed::TooShort { random: 3 }.to_string().contains("36"));
    }
}
