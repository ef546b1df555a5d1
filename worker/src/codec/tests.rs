use super::*;
use temporalio_common::data_converters::WorkflowSerializationContext;

const K1: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
const K2: [u8; 32] = *b"fedcba9876543210fedcba9876543210";

fn json(text: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
        data: text.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn codec(current: Option<(&str, [u8; 32])>, old: &[(&str, [u8; 32])]) -> EncryptionCodec {
    use base64::Engine as _;
    let b64 = |k: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
    let old: Vec<String> = old.iter().map(|(id, k)| format!("{id}={}", b64(k))).collect();
    let vars = [
        (KEY_VAR, current.map(|(_, k)| b64(&k))),
        (KEY_ID_VAR, current.map(|(id, _)| id.to_owned())),
        (OLD_KEYS_VAR, Some(old.join(","))),
    ];
    let ring = KeyRing::from_vars(|name| vars.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone())).expect("valid keys");
    EncryptionCodec::new(ring)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn encrypts_with_the_current_key_and_round_trips() {
    let codec = codec(Some(("k1", K1)), &[]);
    let original = json(r#"{"customer_id":"C00001","amount_cents":1999}"#);
    let sealed = codec.encrypt(original.clone()).unwrap();
    assert_eq!(sealed.metadata["encoding"], b"binary/encrypted");
    assert_eq!(sealed.metadata[KEY_ID_METADATA], b"k1");
    assert_eq!(sealed.metadata.len(), 2, "the original metadata is inside the ciphertext");
    assert!(!contains(&sealed.data, b"C00001") && !contains(&sealed.data, b"1999"));
    assert_eq!(codec.decrypt(sealed).unwrap(), original);
}

#[test]
fn each_payload_gets_its_own_nonce() {
    let codec = codec(Some(("k1", K1)), &[]);
    let a = codec.encrypt(json("42")).unwrap();
    let b = codec.encrypt(json("42")).unwrap();
    assert_ne!(a.data[..NONCE_LEN], b.data[..NONCE_LEN]);
    assert_ne!(a.data, b.data);
}

#[test]
fn unencrypted_payloads_pass_through_with_or_without_keys() {
    let plain = json(r#""written before encryption was on""#);
    assert_eq!(codec(Some(("k1", K1)), &[]).decrypt(plain.clone()).unwrap(), plain);
    let off = codec(None, &[]);
    assert_eq!(off.decrypt(plain.clone()).unwrap(), plain);
    assert_eq!(off.encrypt(plain.clone()).unwrap(), plain, "no current key: nothing is encrypted");
}

#[test]
fn after_rotation_old_payloads_decrypt_with_the_old_key() {
    let before = codec(Some(("k1", K1)), &[]).encrypt(json("1")).unwrap();
    let rotated = codec(Some(("k2", K2)), &[("k1", K1)]);
    assert_eq!(rotated.decrypt(before).unwrap(), json("1"));
    let after = rotated.encrypt(json("2")).unwrap();
    assert_eq!(after.metadata[KEY_ID_METADATA], b"k2");
    // Old keys alone still read what they wrote, and write in the clear.
    let retired = codec(None, &[("k1", K1)]);
    assert!(matches!(retired.decrypt(after), Err(CodecError::UnknownKeyId { id, .. }) if id == "k2"));
}

#[test]
fn an_unknown_or_missing_key_is_a_clear_error() {
    let sealed = codec(Some(("k1", K1)), &[]).encrypt(json("1")).unwrap();
    let err = codec(Some(("k2", K2)), &[]).decrypt(sealed.clone()).unwrap_err().to_string();
    assert!(err.contains("key id `k1`") && err.contains("known keys (k2)") && err.contains(OLD_KEYS_VAR), "{err}");
    let err = codec(None, &[]).decrypt(sealed).unwrap_err().to_string();
    assert!(err.contains("no payload key is configured: set PUNCTUAL_PAYLOAD_KEY"), "{err}");
}

#[test]
fn a_wrong_key_under_the_same_id_or_a_relabelled_payload_does_not_decrypt() {
    let sealed = codec(Some(("k1", K1)), &[]).encrypt(json("1")).unwrap();
    let err = codec(Some(("k1", K2)), &[]).decrypt(sealed.clone()).unwrap_err();
    assert!(matches!(err, CodecError::Decrypt(ref id) if id == "k1"), "{err}");
    // The id is bound as associated data: claiming another known key's id fails too.
    let mut relabelled = sealed;
    relabelled.metadata.insert(KEY_ID_METADATA.to_owned(), b"k2".to_vec());
    let both = codec(Some(("k1", K1)), &[("k2", K1)]);
    assert!(matches!(both.decrypt(relabelled), Err(CodecError::Decrypt(_))));
}

#[test]
fn tampered_or_truncated_data_is_rejected() {
    let codec = codec(Some(("k1", K1)), &[]);
    let mut sealed = codec.encrypt(json("1")).unwrap();
    let last = sealed.data.len() - 1;
    sealed.data[last] ^= 1;
    assert!(matches!(codec.decrypt(sealed.clone()), Err(CodecError::Decrypt(_))));
    sealed.data.truncate(5);
    assert!(matches!(codec.decrypt(sealed.clone()), Err(CodecError::Decrypt(_))));
    sealed.metadata.remove(KEY_ID_METADATA);
    assert!(matches!(codec.decrypt(sealed), Err(CodecError::MissingKeyId)));
}

#[tokio::test]
async fn the_data_converter_applies_the_codec_both_ways() {
    let keys = KeyRing::with_current("k1", K1).unwrap();
    let converter = EncryptionCodec::data_converter(keys);
    let context = SerializationContextData::Workflow(WorkflowSerializationContext::new());
    let value = serde_json::json!({"customer_id": "C00001"});
    let payload = converter.to_payload(&context, &value).await.unwrap();
    assert_eq!(payload.metadata["encoding"], b"binary/encrypted");
    let back: serde_json::Value = converter.from_payload(&context, payload).await.unwrap();
    assert_eq!(back, value);
}
