//! Message encoding: MessagePack with named fields by default, JSON when the
//! `Content-Type` header says `application/json`.
//!
//! A message without a `Content-Type` header is decoded as JSON when its first
//! non-blank byte is `{`, as MessagePack otherwise, so `nats pub` users need no header.

use async_nats::HeaderMap;
use serde::{de::DeserializeOwned, Serialize};

use crate::Error;

/// `Content-Type` of JSON messages.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// `Content-Type` of MessagePack messages.
pub const CONTENT_TYPE_MSGPACK: &str = "application/msgpack";
/// Header carrying the content type.
pub const CONTENT_TYPE_HEADER: &str = "Content-Type";

/// What went wrong while encoding or decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecErrorKind {
    /// The value could not be serialized.
    #[error("cannot encode message")]
    Encode,
    /// The bytes are not a valid message of the expected type.
    #[error("cannot decode message")]
    Decode,
}

/// Encoding or decoding error.
pub type CodecError = Error<CodecErrorKind>;

/// A wire encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// MessagePack, maps with field names (`rmp_serde::to_vec_named`).
    #[default]
    MsgPack,
    /// JSON; binary fields are base64 strings.
    Json,
}

impl Encoding {
    /// The encoding a message declares, or guesses it from the payload.
    pub fn of_message(headers: Option<&HeaderMap>, payload: &[u8]) -> Self {
        if let Some(ct) = headers.and_then(|h| h.get(CONTENT_TYPE_HEADER)) {
            let ct = ct.as_str().to_ascii_lowercase();
            if ct.contains("json") {
                return Encoding::Json;
            }
            if ct.contains("msgpack") || ct.contains("messagepack") {
                return Encoding::MsgPack;
            }
        }
        match payload.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => Encoding::Json,
            _ => Encoding::MsgPack,
        }
    }

    /// The `Content-Type` header value.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::MsgPack => CONTENT_TYPE_MSGPACK,
            Encoding::Json => CONTENT_TYPE_JSON,
        }
    }

    /// Headers announcing this encoding.
    pub fn headers(self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE_HEADER, self.content_type());
        h
    }

    /// Serialize `value`.
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>, CodecError> {
        match self {
            Encoding::MsgPack => rmp_serde::to_vec_named(value)
                .map_err(|e| CodecError::with_source(CodecErrorKind::Encode, e)),
            Encoding::Json => serde_json::to_vec(value)
                .map_err(|e| CodecError::with_source(CodecErrorKind::Encode, e)),
        }
    }

    /// Deserialize a `T`.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, CodecError> {
        match self {
            Encoding::MsgPack => rmp_serde::from_slice(bytes)
                .map_err(|e| CodecError::with_source(CodecErrorKind::Decode, e)),
            Encoding::Json => serde_json::from_slice(bytes)
                .map_err(|e| CodecError::with_source(CodecErrorKind::Decode, e)),
        }
    }
}

/// Decode a NATS message in whatever encoding it declares.
pub fn decode_message<T: DeserializeOwned>(
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Result<(T, Encoding), CodecError> {
    let enc = Encoding::of_message(headers, payload);
    enc.decode(payload).map(|v| (v, enc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Job, Source};

    fn job() -> Job {
        serde_json::from_str(
            r#"{"source": {"inline": {"name": "a.csv", "data": "YSxiCjEsMgo="}}, "reply_to": "_INBOX.x"}"#,
        )
        .unwrap()
    }

    #[test]
    fn json_job_with_defaults_decodes() {
        let j = job();
        assert_eq!(j.v, 1);
        assert!(j.requirements.extract_text && !j.requirements.embeddings);
        match &j.source {
            Source::Inline { name, data } => {
                assert_eq!(name, "a.csv");
                assert_eq!(&data.0, b"a,b\n1,2\n");
            }
            other => panic!("wrong source {other:?}"),
        }
    }

    #[test]
    fn msgpack_is_a_named_map_and_round_trips() {
        let j = job();
        let bytes = Encoding::MsgPack.encode(&j).unwrap();
        // A map (fixmap marker) keyed by field names, readable from any language.
        assert_eq!(bytes[0] & 0xf0, 0x80, "top level is not a map");
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"source") && has(b"inline") && has(b"requirements"));
        let back: Job = Encoding::MsgPack.decode(&bytes).unwrap();
        assert_eq!(back, j);
        let json = Encoding::Json.encode(&j).unwrap();
        assert_eq!(Encoding::of_message(None, &json), Encoding::Json);
        assert_eq!(Encoding::of_message(None, &bytes), Encoding::MsgPack);
        let back: Job = Encoding::Json.decode(&json).unwrap();
        assert_eq!(back, j);
    }

    #[test]
    fn url_source_is_a_plain_string() {
        let j: Job =
            serde_json::from_str(r#"{"source": {"url": "https://example.org/"}}"#).unwrap();
        assert_eq!(j.source, Source::Url("https://example.org/".into()));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let err = Encoding::Json.decode::<Job>(b"{not json").unwrap_err();
        assert_eq!(err.kind(), CodecErrorKind::Decode);
    }
}
