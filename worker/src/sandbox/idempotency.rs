//! Stripe's idempotency rules: the first executed answer for a key is stored and replayed for the
//! same request; the same key with other parameters is an error, never a silent replay.
//!
//! Requests are compared by their *fingerprint*: the endpoint plus the body re-serialised from its
//! typed form, so field order and whitespace do not matter but every parameter does. The whole
//! fingerprint is kept rather than a hash of it: no collisions, and the sandbox's state is small.

use super::answer::Answer;
use serde::Serialize;
use std::collections::HashMap;

/// What the store knows about a key for a given request.
#[derive(Debug)]
pub(crate) enum Lookup<'a, F> {
    /// Never used: execute the request.
    New,
    /// Used for this same request: replay this answer.
    Replay(&'a Answer<F>),
    /// Used for a different request: refuse.
    Conflict,
}

/// The stored answers, by idempotency key.
#[derive(Debug)]
pub(crate) struct IdempotencyStore<F> {
    by_key: HashMap<String, Stored<F>>,
}

#[derive(Debug)]
struct Stored<F> {
    fingerprint: String,
    answer: Answer<F>,
}

impl<F> Default for IdempotencyStore<F> {
    fn default() -> Self {
        Self { by_key: HashMap::new() }
    }
}

impl<F> IdempotencyStore<F> {
    /// Looks `key` up for the request whose fingerprint is `fingerprint`.
    pub(crate) fn lookup(&self, key: &str, fingerprint: &str) -> Lookup<'_, F> {
        match self.by_key.get(key) {
            None => Lookup::New,
            Some(stored) if stored.fingerprint == fingerprint => Lookup::Replay(&stored.answer),
            Some(_) => Lookup::Conflict,
        }
    }

    /// Stores the first executed answer for `key`. The caller has just seen [`Lookup::New`] under
    /// the same lock, so nothing is overwritten.
    pub(crate) fn remember(&mut self, key: String, fingerprint: String, answer: Answer<F>) {
        self.by_key.entry(key).or_insert(Stored { fingerprint, answer });
    }
}

/// The fingerprint of `request` sent to `endpoint`.
pub(crate) fn fingerprint(endpoint: &str, request: &impl Serialize) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    let body = serde_json::to_string(request).unwrap_or_default();
    format!("{endpoint}\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::request_log::Outcome;
    use serde_json::json;

    #[test]
    fn same_request_replays_and_other_parameters_conflict() {
        let mut store = IdempotencyStore::default();
        let first = fingerprint("POST /charges", &json!({"amount_cents": 100}));
        let other = fingerprint("POST /charges", &json!({"amount_cents": 200}));
        let elsewhere = fingerprint("POST /refunds", &json!({"amount_cents": 100}));
        assert!(matches!(store.lookup("k", &first), Lookup::New));

        store.remember("k".into(), first.clone(), Answer::ok(json!({"id": "ch_1"}), Outcome::Succeeded, ()));
        assert!(matches!(store.lookup("k", &first), Lookup::Replay(answer) if answer.body["id"] == "ch_1"));
        assert!(matches!(store.lookup("k", &other), Lookup::Conflict));
        assert!(matches!(store.lookup("k", &elsewhere), Lookup::Conflict));
        assert!(matches!(store.lookup("other-key", &first), Lookup::New));
    }
}
