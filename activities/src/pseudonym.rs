//! Keyed pseudonyms: how customers are named where Temporal shows names in the clear.
//!
//! Payload encryption hides workflow and activity inputs and results, but not what the server
//! indexes and the Web UI lists: workflow ids, activity ids and search attributes. punctual puts
//! customers there (`payment/INV-{customer}-{date}`, `CustomerId`), so with a pseudonym key the
//! activities that first read a customer hand the workflows a pseudonym beside the id, and the
//! workflows use the pseudonym for every such name. The ledger, the provider and the archive
//! keep the real ids: the ledger's keys never depend on the pseudonym key, so turning it on,
//! off or to another value cannot make an effect happen twice.
//!
//! A pseudonym is `c-` + the first 128 bits of HMAC-SHA256(key, customer id) in hex: stable for a
//! key (a re-run finds the same saga ids), unlinkable to the id without the key, and wide enough
//! that two customers never share one (saga ids would collide and one would be skipped).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Bytes of a pseudonym key.
pub const PSEUDONYM_KEY_LEN: usize = 32;
/// Bytes of the MAC kept in a pseudonym.
const KEPT: usize = 16;

/// Names customers by pseudonym when keyed, by their id otherwise.
#[derive(Clone, Default)]
pub struct Pseudonyms {
    key: Option<[u8; PSEUDONYM_KEY_LEN]>,
}

impl fmt::Debug for Pseudonyms {
    /// Never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonyms").field("keyed", &self.key.is_some()).finish()
    }
}

impl Pseudonyms {
    /// Customers keep their ids everywhere (no pseudonym key).
    pub fn none() -> Self {
        Self { key: None }
    }

    /// Pseudonyms under `key`.
    pub fn keyed(key: [u8; PSEUDONYM_KEY_LEN]) -> Self {
        Self { key: Some(key) }
    }

    /// Whether customers get pseudonyms.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The pseudonym of `customer_id`, or `None` without a key.
    pub fn of(&self, customer_id: &str) -> Option<String> {
        let key = self.key.as_ref()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(customer_id.as_bytes());
        let tag = mac.finalize().into_bytes();
        Some(format!("c-{}", hex::encode(&tag[..KEPT])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_is_stable_per_key_and_hides_the_id() {
        let (a, b) = (Pseudonyms::keyed([1; 32]), Pseudonyms::keyed([2; 32]));
        let p = a.of("C00042").unwrap();
        assert_eq!(p, a.of("C00042").unwrap(), "stable under one key");
        assert_ne!(p, a.of("C00043").unwrap(), "one per customer");
        assert_ne!(p, b.of("C00042").unwrap(), "another key, another name");
        assert!(p.starts_with("c-") && p.len() == 2 + 2 * KEPT, "{p}");
        assert!(!p.contains("C00042"), "{p}");
        assert_eq!(Pseudonyms::none().of("C00042"), None);
        assert!(!format!("{a:?}").contains("1, 1"), "Debug shows no key");
    }
}
