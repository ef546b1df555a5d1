//! The pseudonym key, read from the environment: what turns customer ids into the names Temporal
//! shows (see `punctual_activities::pseudonym`).
//!
//! Unlike a payload key it does not rotate: a saga's workflow id is spelt with the pseudonym, so a
//! new key renames every saga started after the change (the ledger still makes each effect once,
//! but a re-run would no longer find the earlier saga by its id). A worker that encrypts payloads
//! must have one, or customer ids would stay readable in ids and search attributes.

#[cfg(test)]
use super::keys::KEY_VAR;
use super::keys::{KeyError, parse_key};
use punctual_activities::pseudonym::Pseudonyms;

/// Base64 of 32 random bytes (`openssl rand -base64 32`); set once, kept for good.
pub const PSEUDONYM_KEY_VAR: &str = "PUNCTUAL_PSEUDONYM_KEY";

/// The worker's pseudonyms from [`PSEUDONYM_KEY_VAR`]; `payload_encrypted` says whether
/// payloads are encrypted, which makes the key required.
pub fn pseudonyms_from_env(payload_encrypted: bool) -> Result<Pseudonyms, KeyError> {
    pseudonyms_from(std::env::var(PSEUDONYM_KEY_VAR).ok().filter(|v| !v.trim().is_empty()), payload_encrypted)
}

fn pseudonyms_from(value: Option<String>, payload_encrypted: bool) -> Result<Pseudonyms, KeyError> {
    match value {
        Some(text) => Ok(Pseudonyms::keyed(parse_key(PSEUDONYM_KEY_VAR, String::new(), text.trim())?)),
        None if payload_encrypted => Err(KeyError::NoPseudonymKey),
        None => Ok(Pseudonyms::none()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    #[test]
    fn the_key_is_optional_until_payloads_are_encrypted() {
        assert!(!pseudonyms_from(None, false).unwrap().is_keyed());
        assert!(pseudonyms_from(Some(K.to_owned()), false).unwrap().is_keyed());
        assert!(pseudonyms_from(Some(K.to_owned()), true).unwrap().is_keyed());
        let err = pseudonyms_from(None, true).unwrap_err().to_string();
        assert!(err.contains(KEY_VAR) && err.contains(PSEUDONYM_KEY_VAR), "{err}");
    }

    #[test]
    fn a_bad_key_is_named_and_not_echoed() {
        let err = pseudonyms_from(Some("c2hvcnQta2V5".to_owned()), true).unwrap_err().to_string();
        assert!(err.contains(PSEUDONYM_KEY_VAR) && err.contains("9 bytes") && !err.contains("c2hvcnQta2V5"), "{err}");
    }
}
