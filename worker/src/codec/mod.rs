//! Optional payload encryption: an AES-256-GCM [`PayloadCodec`] every punctual client uses.
//!
//! With a current key (see [`keys`]) every payload a client or worker sends — workflow and
//! activity inputs and results, child workflow inputs, memo, failure details — is replaced by
//! one whose data is `nonce ‖ AES-256-GCM(serialized original payload)` and whose metadata is
//! `encoding: binary/encrypted` plus `encryption-key-id: <id>`; the key id is also bound as
//! associated data, so relabelling a payload with another id makes it fail to decrypt.
//! Decoding picks the key by that id, so payloads written under a retired key still read.
//! Payloads that are not encrypted (written before encryption was turned on) pass through, and
//! so does everything when no key is configured at all — except an encrypted payload, which then
//! fails with an error naming [`KEY_VAR`] rather than as an unreadable JSON value.
//!
//! What the SDK never hands to a codec stays readable on the server: search attributes, workflow
//! and activity ids, failure messages. The README's "Payload encryption" section says what
//! punctual puts there.

mod keys;
mod pseudonym_key;
pub mod server;

pub use keys::{KEY_ID_VAR, KEY_VAR, KeyError, KeyRing, OLD_KEYS_VAR};
pub use pseudonym_key::{PSEUDONYM_KEY_VAR, pseudonyms_from_env};

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload as AeadPayload};
use futures::FutureExt;
use futures::future::BoxFuture;
use prost::Message;
use std::sync::Arc;
use temporalio_common::data_converters::{
    DataConverter, DefaultFailureConverter, PayloadCodec, PayloadConversionError, PayloadConverter, SerializationContextData,
};
use temporalio_common::protos::temporal::api::common::v1::Payload;

/// `encoding` metadata of an encrypted payload (the value other Temporal SDKs' samples use).
pub const ENCRYPTED_ENCODING: &str = "binary/encrypted";
/// Metadata key naming the key a payload was encrypted with.
pub const KEY_ID_METADATA: &str = "encryption-key-id";
/// AES-GCM's 96-bit nonce, stored in front of the ciphertext.
const NONCE_LEN: usize = 12;

/// Why a payload could not be encrypted or decrypted. Never carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Encrypted, but this process has no keys at all.
    #[error(
        "payload is encrypted (key id `{0}`) but no payload key is configured: set {KEY_VAR} and \
         {KEY_ID_VAR}, or list the key in {OLD_KEYS_VAR}"
    )]
    NoKeys(String),
    /// Encrypted under a key this process does not have.
    #[error(
        "payload is encrypted with key id `{id}`, which is not among the known keys ({known}): \
         set {KEY_VAR}/{KEY_ID_VAR} to it or list it in {OLD_KEYS_VAR}"
    )]
    UnknownKeyId { id: String, known: String },
    /// Says it is encrypted, but does not say with which key.
    #[error("encrypted payload carries no `{KEY_ID_METADATA}` metadata")]
    MissingKeyId,
    /// The key of that id does not open it: another key under the same id, or altered data.
    #[error(
        "payload encrypted with key id `{0}` does not decrypt: the key configured under that id \
         is not the one it was written with, or the payload was altered"
    )]
    Decrypt(String),
    /// Decrypted bytes that are not a payload.
    #[error("decrypted payload (key id `{0}`) is not a Temporal payload")]
    Corrupt(String),
    /// The cipher refused (it does not, for inputs of any realistic size).
    #[error("encrypting a payload failed")]
    Encrypt,
}

/// AES-256-GCM over whole payloads; see the module documentation.
#[derive(Debug, Clone)]
pub struct EncryptionCodec {
    keys: Arc<KeyRing>,
}

impl EncryptionCodec {
    /// A codec over `keys`: encrypting when one is current, decrypting with any of them.
    pub fn new(keys: KeyRing) -> Self {
        Self { keys: Arc::new(keys) }
    }

    /// The data converter of every punctual client: the SDK's JSON payloads and failures, with
    /// this codec between them and the server.
    ///
    /// With a current key, failure messages and stack traces also move into the failure's
    /// encoded attributes (a payload, so encrypted): the server then stores "Encoded failure"
    /// where the message would name an invoice or a customer.
    pub fn data_converter(keys: KeyRing) -> DataConverter {
        let failures = DefaultFailureConverter::new(keys.current_id().is_some());
        DataConverter::new(PayloadConverter::default(), failures, Self::new(keys))
    }

    /// Encrypts `payload` under the current key, or returns it unchanged when there is none.
    pub fn encrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        let Some((id, cipher)) = self.keys.current() else {
            return Ok(payload);
        };
        let nonce = aes_gcm::Aes256Gcm::generate_nonce(&mut OsRng);
        let plaintext = payload.encode_to_vec();
        let sealed =
            cipher.encrypt(&nonce, AeadPayload { msg: &plaintext, aad: id.as_bytes() }).map_err(|_| CodecError::Encrypt)?;
        let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&sealed);
        Ok(Payload {
            metadata: [
                ("encoding".to_owned(), ENCRYPTED_ENCODING.as_bytes().to_vec()),
                (KEY_ID_METADATA.to_owned(), id.as_bytes().to_vec()),
            ]
            .into(),
            data,
            ..Default::default()
        })
    }

    /// Decrypts an encrypted `payload` with the key its metadata names; any other payload is
    /// returned unchanged.
    pub fn decrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        if payload.metadata.get("encoding").map(Vec::as_slice) != Some(ENCRYPTED_ENCODING.as_bytes()) {
            return Ok(payload);
        }
        let id = payload
            .metadata
            .get(KEY_ID_METADATA)
            .map(|id| String::from_utf8_lossy(id).into_owned())
            .ok_or(CodecError::MissingKeyId)?;
        if self.keys.is_empty() {
            return Err(CodecError::NoKeys(id));
        }
        let Some(cipher) = self.keys.get(&id) else {
            return Err(CodecError::UnknownKeyId { id, known: self.keys.ids().join(", ") });
        };
        if payload.data.len() < NONCE_LEN {
            return Err(CodecError::Decrypt(id));
        }
        let (nonce, sealed) = payload.data.split_at(NONCE_LEN);
        let plaintext = cipher
            .decrypt(aes_gcm::Nonce::from_slice(nonce), AeadPayload { msg: sealed, aad: id.as_bytes() })
            .map_err(|_| CodecError::Decrypt(id.clone()))?;
        Payload::decode(plaintext.as_slice()).map_err(|_| CodecError::Corrupt(id))
    }
}

fn all(
    payloads: Vec<Payload>,
    each: impl Fn(Payload) -> Result<Payload, CodecError>,
) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
    let result = payloads
        .into_iter()
        .map(each)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| PayloadConversionError::EncodingError(Box::new(err)));
    futures::future::ready(result).boxed()
}

impl PayloadCodec for EncryptionCodec {
    fn encode(
        &self,
        _: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        all(payloads, |p| self.encrypt(p))
    }

    fn decode(
        &self,
        _: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        all(payloads, |p| self.decrypt(p))
    }
}

#[cfg(test)]
mod tests;
