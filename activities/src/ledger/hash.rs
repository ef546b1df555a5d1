//! The request fingerprint stored with each key, so a reused key with different parameters is
//! caught instead of silently replayed.
//!
//! Hashing canonical JSON (object keys sorted at every depth, no whitespace) makes the
//! fingerprint independent of field order, which serde does not promise to keep stable (and
//! which `serde_json`'s `preserve_order` feature, if anything in the build enables it, changes).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 (lowercase hex) of the canonical JSON form of `request`.
pub fn request_hash(request: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(request, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Appends `value` as JSON with object keys sorted recursively.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        // Scalars have one serialisation already.
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_order_does_not_matter_at_any_depth() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 1, "p": 2}], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, {"p": 2, "q": 1}]}, "b": 1});
        assert_eq!(request_hash(&a), request_hash(&b));
    }

    #[test]
    fn different_values_hash_differently() {
        assert_ne!(request_hash(&json!({"amount": 100})), request_hash(&json!({"amount": 101})));
        assert_ne!(request_hash(&json!([1, 2])), request_hash(&json!([2, 1])));
        assert_ne!(request_hash(&json!({"a": "1"})), request_hash(&json!({"a": 1})));
    }

    #[test]
    fn is_sha256_hex_of_the_canonical_form() {
        // sha256("{\"a\":1,\"b\":2}")
        assert_eq!(request_hash(&json!({"b": 2, "a": 1})), hex::encode(Sha256::digest(br#"{"a":1,"b":2}"#)));
        assert_eq!(request_hash(&json!(null)).len(), 64);
    }
}
