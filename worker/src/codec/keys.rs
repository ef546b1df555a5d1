//! The payload keys, read once from the environment and validated before anything connects.
//!
//! `PUNCTUAL_PAYLOAD_KEY` (base64 of 32 bytes) with `PUNCTUAL_PAYLOAD_KEY_ID` is the key new
//! payloads are encrypted with; `PUNCTUAL_PAYLOAD_OLD_KEYS` (`id=base64,id=base64`) lists retired
//! keys that still decrypt what was written under them, so a key can rotate without losing the
//! histories it wrote. No error or `Debug` output ever contains key material: only variable
//! names, key ids and lengths.

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use std::collections::BTreeMap;

/// The current key, base64 of 32 random bytes (`openssl rand -base64 32`).
pub const KEY_VAR: &str = "PUNCTUAL_PAYLOAD_KEY";
/// The id written into every payload encrypted with [`KEY_VAR`].
pub const KEY_ID_VAR: &str = "PUNCTUAL_PAYLOAD_KEY_ID";
/// Retired keys, for decrypting only: `id=base64,id=base64`.
pub const OLD_KEYS_VAR: &str = "PUNCTUAL_PAYLOAD_OLD_KEYS";

/// AES-256: 32-byte keys.
const KEY_LEN: usize = 32;
/// Key ids travel in payload metadata and inside [`OLD_KEYS_VAR`]; keep them short and plain.
const MAX_KEY_ID_LEN: usize = 64;

/// Why the payload keys in the environment are unusable. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A key is set without its id, or an id without its key.
    #[error("{set} is set but {missing} is not: payload encryption needs both")]
    Incomplete { set: &'static str, missing: &'static str },
    /// Not base64.
    #[error("{var}{which} is not valid base64 (generate a key with `openssl rand -base64 32`)")]
    NotBase64 { var: &'static str, which: String },
    /// Base64, but not 32 bytes.
    #[error("{var}{which} decodes to {len} bytes; it must be {KEY_LEN} (`openssl rand -base64 32`)")]
    WrongLength { var: &'static str, which: String, len: usize },
    /// Payloads are encrypted but customers would keep their ids in workflow ids, activity
    /// ids and search attributes.
    #[error(
        "{KEY_VAR} is set but PUNCTUAL_PSEUDONYM_KEY is not: without it customer ids stay readable \
         in workflow ids, activity ids and search attributes; set it to 32 random bytes in base64 \
         (`openssl rand -base64 32`) and keep it (it is not rotated)"
    )]
    NoPseudonymKey,
    /// An id that cannot be written into metadata or into the old-keys list. Not echoed: a key
    /// pasted into the wrong variable would be.
    #[error("{KEY_ID_VAR} is not a usable key id: use 1-{MAX_KEY_ID_LEN} of A-Z a-z 0-9 . _ - (e.g. `2026-11`)")]
    BadKeyId,
    /// An old-keys entry that is not `id=base64` with a usable id (named by position only:
    /// a bare key pasted into the list splits at its base64 padding into an "id").
    #[error(
        "{OLD_KEYS_VAR}: entry {position} is not `id=base64` with an id of 1-{MAX_KEY_ID_LEN} of \
         A-Z a-z 0-9 . _ -"
    )]
    BadOldEntry { position: usize },
    /// The same id names two different keys, so a payload's key would be ambiguous.
    #[error("{OLD_KEYS_VAR}: entry {position} reuses a key id that names another key")]
    DuplicateId { position: usize },
}

/// Every payload key this process knows, by id; one of them may be current.
#[derive(Clone, Default)]
pub struct KeyRing {
    current: Option<String>,
    keys: BTreeMap<String, ([u8; KEY_LEN], Aes256Gcm)>,
}

impl std::fmt::Debug for KeyRing {
    // Deliberately not derived: only the ids are safe to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("current", &self.current).field("ids", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

impl KeyRing {
    /// Reads [`KEY_VAR`], [`KEY_ID_VAR`] and [`OLD_KEYS_VAR`] from the process environment.
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the three variables through `get`; an empty value counts as unset (compose files
    /// and Kubernetes manifests often carry `NAME=`).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, KeyError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut ring = Self::default();
        match (get(KEY_VAR), get(KEY_ID_VAR)) {
            (None, None) => {}
            (Some(_), None) => return Err(KeyError::Incomplete { set: KEY_VAR, missing: KEY_ID_VAR }),
            (None, Some(_)) => return Err(KeyError::Incomplete { set: KEY_ID_VAR, missing: KEY_VAR }),
            (Some(key), Some(id)) => {
                let id = checked_id(id).ok_or(KeyError::BadKeyId)?;
                let key = parse_key(KEY_VAR, String::new(), &key)?;
                ring.insert(id.clone(), key).map_err(|()| KeyError::BadKeyId)?;
                ring.current = Some(id);
            }
        }
        if let Some(list) = get(OLD_KEYS_VAR) {
            for (n, entry) in list.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
                let position = n + 1;
                let (id, key) = entry
                    .split_once('=')
                    .and_then(|(id, key)| Some((checked_id(id.trim().to_owned())?, key.trim())))
                    .ok_or(KeyError::BadOldEntry { position })?;
                let key = parse_key(OLD_KEYS_VAR, format!(" entry {position}"), key)?;
                ring.insert(id, key).map_err(|()| KeyError::DuplicateId { position })?;
            }
        }
        Ok(ring)
    }

    /// A ring with one current key; for tests and tools that hold the bytes already.
    pub fn with_current(id: &str, key: [u8; KEY_LEN]) -> Result<Self, KeyError> {
        let mut ring = Self::default();
        let id = checked_id(id.to_owned()).ok_or(KeyError::BadKeyId)?;
        ring.insert(id.clone(), key).map_err(|()| KeyError::BadKeyId)?;
        ring.current = Some(id);
        Ok(ring)
    }

    /// Adds key `id`; `Err` if the id already names another key.
    fn insert(&mut self, id: String, key: [u8; KEY_LEN]) -> Result<(), ()> {
        if let Some((existing, _)) = self.keys.get(&id) {
            // The current key listed again among the old ones is harmless; another key is not.
            return if *existing == key { Ok(()) } else { Err(()) };
        }
        let cipher = Aes256Gcm::new(&key.into());
        self.keys.insert(id, (key, cipher));
        Ok(())
    }

    /// The id and cipher new payloads are encrypted with; `None` when encryption is off.
    pub(crate) fn current(&self) -> Option<(&str, &Aes256Gcm)> {
        let id = self.current.as_deref()?;
        self.keys.get(id).map(|(_, cipher)| (id, cipher))
    }

    /// The cipher of key `id`, current or old.
    pub(crate) fn get(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys.get(id).map(|(_, cipher)| cipher)
    }

    /// The id of the current key, safe to print; `None` when encryption is off.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The ids of every known key, current and old, safe to print.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    /// Whether any key is known (so encrypted payloads can be read).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn checked_id(id: String) -> Option<String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(id)
}

pub(super) fn parse_key(var: &'static str, which: String, text: &str) -> Result<[u8; KEY_LEN], KeyError> {
    // The decoder's own error names the offending byte, which is part of the key: not kept.
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| KeyError::NotBase64 { var, which: which.clone() })?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| KeyError::WrongLength { var, which, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    const K2: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="; // 32 bytes

    fn ring(vars: &[(&str, &str)]) -> Result<KeyRing, KeyError> {
        KeyRing::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn no_variables_means_encryption_off() {
        let ring = ring(&[]).unwrap();
        assert_eq!(ring.current_id(), None);
        assert!(ring.is_empty());
        let ring = self::ring(&[(KEY_VAR, ""), (KEY_ID_VAR, " ")]).unwrap();
        assert_eq!(ring.current_id(), None, "empty values count as unset");
    }

    #[test]
    fn current_and_old_keys_are_known_by_id() {
        let ring = ring(&[(KEY_VAR, K2), (KEY_ID_VAR, "k2"), (OLD_KEYS_VAR, &format!("k1={K1}, k2={K2}"))]).unwrap();
        assert_eq!(ring.current_id(), Some("k2"));
        assert!(ring.get("k1").is_some() && ring.get("k2").is_some() && ring.get("k3").is_none());
        // Old keys alone: decrypt what was written, encrypt nothing new.
        let ring = self::ring(&[(OLD_KEYS_VAR, &format!("k1={K1}"))]).unwrap();
        assert_eq!(ring.current_id(), None);
        assert!(ring.get("k1").is_some());
    }

    #[test]
    fn a_key_without_its_id_or_an_id_without_its_key_is_named() {
        let err = ring(&[(KEY_VAR, K1)]).unwrap_err();
        assert_eq!(err, KeyError::Incomplete { set: KEY_VAR, missing: KEY_ID_VAR });
        let err = ring(&[(KEY_ID_VAR, "k1")]).unwrap_err().to_string();
        assert!(err.starts_with("PUNCTUAL_PAYLOAD_KEY_ID is set but PUNCTUAL_PAYLOAD_KEY is not"), "{err}");
    }

    #[test]
    fn malformed_keys_are_named_and_never_echoed() {
        let secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="; // base64 of 20 bytes
        let err = ring(&[(KEY_VAR, secretish), (KEY_ID_VAR, "k1")]).unwrap_err().to_string();
        assert!(err.contains("PUNCTUAL_PAYLOAD_KEY decodes to 20 bytes"), "{err}");
        assert!(!err.contains(secretish), "{err}");

        let not_b64 = "not base64 at all!!";
        let err = ring(&[(KEY_VAR, not_b64), (KEY_ID_VAR, "k1")]).unwrap_err().to_string();
        assert!(err.contains("PUNCTUAL_PAYLOAD_KEY is not valid base64"), "{err}");
        assert!(!err.contains(not_b64) && !err.contains('!'), "{err}");

        let err = ring(&[(OLD_KEYS_VAR, &format!("k1={K1},k0=short"))]).unwrap_err().to_string();
        assert!(err.contains("PUNCTUAL_PAYLOAD_OLD_KEYS entry 2 is not valid base64"), "{err}");
        assert!(!err.contains("short") && !err.contains(K1), "{err}");

        // A bare key in the list: its base64 padding must not make it an "id" that gets echoed.
        for bare in [K1, "YWJjZA==", "c2VjcmV0LXNlY3JldC1zZWNyZXQ="] {
            let text = ring(&[(OLD_KEYS_VAR, bare)]).unwrap_err().to_string();
            assert!(text.contains("PUNCTUAL_PAYLOAD_OLD_KEYS") && text.contains("entry 1"), "{text}");
            assert!(!text.contains(bare.trim_end_matches('=')), "{text}");
        }
        // A key pasted as the id is not echoed either.
        let err = ring(&[(KEY_VAR, K1), (KEY_ID_VAR, "c2VjcmV0+LXNlY3JldC1zZWNyZXQ=")]).unwrap_err();
        assert_eq!(err, KeyError::BadKeyId);
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn ids_are_plain_and_unambiguous() {
        let err = ring(&[(KEY_VAR, K1), (KEY_ID_VAR, "a,b")]).unwrap_err();
        assert_eq!(err, KeyError::BadKeyId);
        let err = ring(&[(KEY_VAR, K1), (KEY_ID_VAR, "k1"), (OLD_KEYS_VAR, &format!("k1={K2}"))]).unwrap_err();
        assert_eq!(err, KeyError::DuplicateId { position: 1 });
        let err = ring(&[(OLD_KEYS_VAR, &format!("a={K1},b={K2},a={K2}"))]).unwrap_err();
        assert_eq!(err, KeyError::DuplicateId { position: 3 });
        // The current key listed again among the old ones (mid-rotation) is harmless.
        assert!(ring(&[(KEY_VAR, K1), (KEY_ID_VAR, "k1"), (OLD_KEYS_VAR, &format!("k1={K1}"))]).is_ok());
    }

    #[test]
    fn debug_output_shows_ids_only() {
        let ring = ring(&[(KEY_VAR, K1), (KEY_ID_VAR, "k1")]).unwrap();
        let text = format!("{ring:?}");
        assert!(text.contains("k1") && !text.contains(K1) && !text.contains("0123456789"), "{text}");
    }
}
