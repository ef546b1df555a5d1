//! Strict reading of workflow inputs typed by people.
//!
//! Inputs arrive as plain JSON from `temporal workflow start --input '{...}'`. If the SDK's serde
//! decoding rejected them (no input at all, a non-JSON payload, a missing field), it would fail the
//! *workflow task*, which Temporal retries forever. Instead every workflow takes a [`JsonInput`],
//! which accepts any payload and keeps what went wrong; the workflow reads it through
//! [`InputObject`] and turns any problem into a non-retryable `InvalidInput` failure that names
//! the field. Input that can never succeed must not be retried.

use serde_json::{Map, Value};
use temporalio_common::{
    data_converters::{PayloadConversionError, SerializationContext, TemporalDeserializable, TemporalSerializable},
    protos::temporal::api::common::v1::Payload,
};
use temporalio_sdk::ApplicationFailure;

const ENCODING_KEY: &str = "encoding";
const JSON_ENCODING: &[u8] = b"json/plain";
const NULL_ENCODING: &[u8] = b"binary/null";

/// Failure type name carried by every input rejection, so callers can match on it.
pub const INVALID_INPUT: &str = "InvalidInput";

/// What is wrong with a workflow input, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The workflow was started without any input.
    #[error("no input given (expected input like {example})")]
    NoInput { example: &'static str },
    /// The payload is not JSON (another encoding, or bytes that do not parse).
    #[error("input is not JSON: {detail}")]
    NotJson { detail: String },
    /// The input was not a JSON object at all.
    #[error("input must be a JSON object like {example}, got {got}")]
    NotAnObject { example: &'static str, got: String },
    /// A required field is absent (or null).
    #[error("missing field `{field}` (expected input like {example})")]
    Missing { field: &'static str, example: &'static str },
    /// A field the workflow does not know, usually a typo.
    #[error("unknown field `{field}` (expected only {expected})")]
    Unknown { field: String, expected: String },
    /// A field is present but its value is unusable.
    #[error("field `{field}` must be {expected}, got {got}")]
    Invalid { field: &'static str, expected: String, got: String },
}

impl InputError {
    /// The non-retryable failure that ends the workflow at once.
    pub fn into_failure(self) -> ApplicationFailure {
        ApplicationFailure::builder(self).type_name(INVALID_INPUT.to_owned()).non_retryable(true).build()
    }
}

impl From<InputError> for temporalio_sdk::WorkflowTermination {
    fn from(err: InputError) -> Self {
        err.into_failure().into()
    }
}

/// A workflow input exactly as it arrived: JSON, or the reason it is not JSON.
///
/// Decoding never fails (so the SDK never fails the workflow task over bad input); the
/// workflow calls [`JsonInput::object`] and fails non-retryably instead.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonInput(Result<Value, InputError>);

impl JsonInput {
    /// Reads the input as an object with only the `known` fields; `example` goes in errors.
    pub fn object(&self, known: &[&'static str], example: &'static str) -> Result<InputObject<'_>, InputError> {
        match &self.0 {
            Ok(value) => InputObject::parse(value, known, example),
            Err(InputError::NoInput { .. }) => Err(InputError::NoInput { example }),
            Err(err) => Err(err.clone()),
        }
    }

    /// The decoded JSON value, if the input was JSON.
    pub fn value(&self) -> Option<&Value> {
        self.0.as_ref().ok()
    }

    fn decode(payload: &Payload) -> Result<Value, InputError> {
        match payload.metadata.get(ENCODING_KEY).map(Vec::as_slice) {
            Some(JSON_ENCODING) => {
                serde_json::from_slice(&payload.data).map_err(|err| InputError::NotJson { detail: err.to_string() })
            }
            Some(NULL_ENCODING) => Ok(Value::Null),
            other => Err(InputError::NotJson {
                detail: format!(
                    "payload encoding is `{}`, expected `json/plain`",
                    other.map_or("<none>".into(), String::from_utf8_lossy)
                ),
            }),
        }
    }
}

/// The [`JsonInput`] of a plain serde struct, for starting child workflows.
pub fn to_input<T: serde::Serialize>(value: &T) -> JsonInput {
    // Plain structs of strings and numbers always serialise; a failure would be a programming
    // error caught by the first test that starts such a child.
    JsonInput::from(serde_json::to_value(value).expect("plain struct serialises to JSON"))
}

impl From<Value> for JsonInput {
    fn from(value: Value) -> Self {
        Self(Ok(value))
    }
}

impl TemporalDeserializable for JsonInput {
    fn from_payload(_: &SerializationContext<'_>, payload: Payload) -> Result<Self, PayloadConversionError> {
        Ok(Self(Self::decode(&payload)))
    }

    fn from_payloads(_: &SerializationContext<'_>, payloads: Vec<Payload>) -> Result<Self, PayloadConversionError> {
        Ok(Self(match payloads.first() {
            None => Err(InputError::NoInput { example: "a JSON object" }),
            Some(payload) => Self::decode(payload),
        }))
    }
}

impl TemporalSerializable for JsonInput {
    fn to_payload(&self, _: &SerializationContext<'_>) -> Result<Payload, PayloadConversionError> {
        let value = self.0.as_ref().map_err(|_| PayloadConversionError::WrongEncoding)?;
        let data = serde_json::to_vec(value).map_err(|err| PayloadConversionError::EncodingError(err.into()))?;
        Ok(Payload { metadata: [(ENCODING_KEY.to_owned(), JSON_ENCODING.to_vec())].into(), data, ..Default::default() })
    }
}

/// A JSON object whose fields are read one by one, each error naming its field.
#[derive(Debug)]
pub struct InputObject<'a> {
    fields: &'a Map<String, Value>,
    example: &'static str,
}

impl<'a> InputObject<'a> {
    /// Accepts `value` only if it is an object whose keys are all in `known`.
    pub fn parse(value: &'a Value, known: &[&'static str], example: &'static str) -> Result<Self, InputError> {
        let Value::Object(fields) = value else {
            return Err(InputError::NotAnObject { example, got: describe(value) });
        };
        // serde_json's Map is ordered (BTreeMap), so the first unknown key is deterministic.
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(InputError::Unknown {
                field: unknown.clone(),
                expected: known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Self { fields, example })
    }

    /// A required field, or `Missing`.
    pub fn required(&self, field: &'static str) -> Result<&'a Value, InputError> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Err(InputError::Missing { field, example: self.example }),
            Some(v) => Ok(v),
        }
    }

    /// A required whole number in `min..=max`.
    pub fn integer(&self, field: &'static str, min: u64, max: u64) -> Result<u64, InputError> {
        let value = self.required(field)?;
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => {
                Err(InputError::Invalid { field, expected: format!("a whole number from {min} to {max}"), got: describe(value) })
            }
        }
    }

    /// An optional field (absent and `null` are both `None`).
    pub fn optional(&self, field: &'static str) -> Option<&'a Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    /// A required list of 1 to `max` non-empty strings.
    pub fn string_list(&self, field: &'static str, max: usize) -> Result<Vec<String>, InputError> {
        let value = self.required(field)?;
        let invalid =
            || InputError::Invalid { field, expected: format!("a list of 1 to {max} non-empty strings"), got: describe(value) };
        let items = value.as_array().filter(|a| !a.is_empty() && a.len() <= max).ok_or_else(invalid)?;
        items.iter().map(|v| v.as_str().filter(|s| !s.trim().is_empty()).map(str::to_owned).ok_or_else(invalid)).collect()
    }

    /// A required non-empty string.
    pub fn string(&self, field: &'static str) -> Result<&'a str, InputError> {
        let value = self.required(field)?;
        match value.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(InputError::Invalid { field, expected: "a non-empty string".to_owned(), got: describe(value) }),
        }
    }
}

/// A short rendering of a JSON value for error messages (long strings are cut).
fn describe(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXAMPLE: &str = r#"{"n": 1}"#;

    #[test]
    fn names_the_missing_field() {
        let v = json!({});
        let obj = InputObject::parse(&v, &["n"], EXAMPLE).unwrap();
        let err = obj.integer("n", 0, 10).unwrap_err();
        assert!(err.to_string().contains("missing field `n`"), "{err}");
    }

    #[test]
    fn rejects_negative_and_out_of_range_numbers() {
        for bad in [json!({"n": -1}), json!({"n": 11}), json!({"n": 1.5}), json!({"n": "3"})] {
            let obj = InputObject::parse(&bad, &["n"], EXAMPLE).unwrap();
            let err = obj.integer("n", 0, 10).unwrap_err();
            assert!(err.to_string().starts_with("field `n` must be a whole number"), "{err}");
        }
    }

    #[test]
    fn rejects_non_objects_and_unknown_fields() {
        let err = InputObject::parse(&json!([1]), &["n"], EXAMPLE).unwrap_err();
        assert!(matches!(err, InputError::NotAnObject { .. }));
        let err = InputObject::parse(&json!({"m": 1}), &["n"], EXAMPLE).unwrap_err();
        assert_eq!(err.to_string(), "unknown field `m` (expected only `n`)");
    }

    #[test]
    fn undecodable_payloads_become_errors_not_panics() {
        let ctx_data = temporalio_common::data_converters::SerializationContextData::None;
        let converter = temporalio_common::data_converters::PayloadConverter::default();
        let ctx = SerializationContext::new(&ctx_data, &converter);
        let none = JsonInput::from_payloads(&ctx, vec![]).unwrap();
        let err = none.object(&["n"], EXAMPLE).unwrap_err();
        assert_eq!(err, InputError::NoInput { example: EXAMPLE });

        let binary = Payload {
            metadata: [(ENCODING_KEY.to_owned(), b"binary/plain".to_vec())].into(),
            data: b"abc".to_vec(),
            ..Default::default()
        };
        let binary = JsonInput::from_payload(&ctx, binary).unwrap();
        let err = binary.object(&["n"], EXAMPLE).unwrap_err();
        assert!(err.to_string().contains("`binary/plain`"), "{err}");

        let json = JsonInput::from(json!({"n": 2}));
        let round_trip = JsonInput::from_payload(&ctx, json.to_payload(&ctx).unwrap()).unwrap();
        assert_eq!(round_trip, json);
    }

    #[test]
    fn failure_is_non_retryable_and_typed() {
        let failure = InputError::Missing { field: "n", example: EXAMPLE }.into_failure();
        assert!(failure.is_non_retryable());
        assert_eq!(failure.type_name(), Some(INVALID_INPUT));
    }
}
