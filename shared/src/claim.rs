//! Claim checks for messages larger than the server's `max_payload`: the payload goes to
//! the JetStream Object Store bucket `daa-payloads` and the message carries only a
//! `Daa-Claim: <bucket>/<key>` header. Senders call [`prepare`], receivers [`resolve`];
//! everything else about the message (subject, headers, de-duplication id) is unchanged.
//! Objects expire with the bucket's max age (a day).

use async_nats::jetstream;
use async_nats::HeaderMap;
use bytes::Bytes;
use tokio::io::AsyncReadExt;

use crate::Error;

/// Header naming the object that holds a message's payload.
pub const CLAIM_HEADER: &str = "Daa-Claim";
/// Bucket of claim-checked payloads.
pub const PAYLOADS_BUCKET: &str = "daa-payloads";
/// Room left for headers and protocol overhead under `max_payload`.
const HEADROOM: usize = 64 * 1024;
/// The largest object chunk written: a bound on the memory one chunk holds in the
/// server, the writer and each reader, whatever `max_payload` allows.
const MAX_CHUNK: usize = 4 * 1024 * 1024;
/// Objects of up to this many chunks are read by direct gets (one round trip per chunk);
/// more (small chunks written by other clients) go through the object store's reader.
const MAX_DIRECT_CHUNKS: usize = 64;

/// What went wrong storing or fetching a claim-checked payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimErrorKind {
    /// The payload could not be stored.
    #[error("cannot store a large payload in the object store")]
    Store,
    /// The payload named by a claim could not be fetched.
    #[error("cannot fetch a claim-checked payload")]
    Fetch,
    /// The object does not exist (never stored, deleted, or expired).
    #[error("no such object")]
    NotFound,
    /// The object is larger than the reader accepts.
    #[error("the object is too large")]
    TooLarge,
}

/// Claim-check error.
pub type ClaimError = Error<ClaimErrorKind>;

/// The largest payload sent inline on this connection.
pub fn inline_limit(client: &async_nats::Client) -> usize {
    client
        .server_info()
        .max_payload
        .saturating_sub(HEADROOM)
        .max(HEADROOM)
}

/// The payload to publish: `payload` itself when it fits, else an empty payload with a
/// claim header after storing `payload` under `key`.
pub async fn prepare(
    js: &jetstream::Context,
    client: &async_nats::Client,
    key: &str,
    payload: Vec<u8>,
    headers: &mut HeaderMap,
) -> Result<Bytes, ClaimError> {
    if payload.len() <= inline_limit(client) {
        return Ok(payload.into());
    }
    put_object(js, client, PAYLOADS_BUCKET, key, &payload).await?;
    headers.insert(CLAIM_HEADER, format!("{PAYLOADS_BUCKET}/{key}").as_str());
    Ok(Bytes::new())
}

/// Store `data` as object `key` in `bucket`, in chunks the server accepts.
pub async fn put_object(
    js: &jetstream::Context,
    client: &async_nats::Client,
    bucket: &str,
    key: &str,
    data: &[u8],
) -> Result<(), ClaimError> {
    let store = js
        .get_object_store(bucket)
        .await
        .map_err(|e| ClaimError::with_source(ClaimErrorKind::Store, format!("{bucket}: {e}")))?;
    // Each chunk is one publish awaiting its PubAck: chunks as large as the server takes
    // (up to MAX_CHUNK) keep a megabyte document to one or two round trips.
    let chunk = inline_limit(client).min(MAX_CHUNK);
    let meta = jetstream::object_store::ObjectMetadata {
        name: key.to_owned(),
        chunk_size: Some(chunk),
        ..Default::default()
    };
    // The object store fills whatever buffer capacity it has, which can exceed the
    // chunk size after the first chunk: hand it at most `chunk` bytes per read.
    let mut reader = ChunkedReader { data, max: chunk };
    store.put(meta, &mut reader).await.map_err(|e| {
        ClaimError::with_source(ClaimErrorKind::Store, format!("{bucket}/{key}: {e}"))
    })?;
    Ok(())
}

/// The real payload of a message: fetched from the Object Store when it carries a claim.
pub async fn resolve(
    js: &jetstream::Context,
    headers: Option<&HeaderMap>,
    payload: &Bytes,
) -> Result<Bytes, ClaimError> {
    let Some(claim) = headers.and_then(|h| h.get(CLAIM_HEADER)) else {
        return Ok(payload.clone());
    };
    let claim = claim.as_str();
    let (bucket, key) = claim.split_once('/').ok_or_else(|| {
        ClaimError::with_source(ClaimErrorKind::Fetch, format!("malformed claim {claim:?}"))
    })?;
    get_object(js, bucket, key, usize::MAX).await
}

/// Read a job's reply as a result document: inline, or — for a result above the
/// server's `max_payload` — the `{job_id, status, result: {object: {bucket, key}}}`
/// pointer followed into the Object Store.
pub async fn reply_document(
    js: &jetstream::Context,
    headers: Option<&HeaderMap>,
    payload: &Bytes,
) -> Result<crate::model::ResultDocument, ClaimError> {
    use crate::codec::decode_message;
    let fetch_err = |e: String| ClaimError::with_source(ClaimErrorKind::Fetch, e);
    #[derive(serde::Deserialize)]
    struct Pointer {
        result: PointerTarget,
    }
    #[derive(serde::Deserialize)]
    struct PointerTarget {
        object: ObjectRef,
    }
    #[derive(serde::Deserialize)]
    struct ObjectRef {
        bucket: String,
        key: String,
    }
    // A pointer has `result.object`; anything else is the document itself.
    let (p, enc): (Pointer, _) = match decode_message(headers, payload) {
        Ok(p) => p,
        Err(_) => {
            return decode_message(headers, payload)
                .map(|(doc, _)| doc)
                .map_err(|e| fetch_err(e.to_string()))
        }
    };
    let buf = get_object(
        js,
        &p.result.object.bucket,
        &p.result.object.key,
        usize::MAX,
    )
    .await
    .map_err(|e| fetch_err(e.to_string()))?;
    enc.decode(&buf).map_err(|e| fetch_err(e.to_string()))
}

/// The bytes of object `key` in `bucket`, refused (before reading) when larger than
/// `max_bytes`, checked against the size and SHA-256 digest the object's metadata names.
///
/// An object is read with direct gets, of its metadata and of each chunk (the writers
/// here use chunks as large as the server takes, 4 MiB at most: a 10 MB document is
/// three), where the object store's reader sets up an ordered consumer to stream the
/// chunks (about 5 ms for a few megabytes, up to 20 when several workers fetch at
/// once). Objects of more than 64 chunks, links, and buckets without direct gets take
/// that reader.
pub async fn get_object(
    js: &jetstream::Context,
    bucket: &str,
    key: &str,
    max_bytes: usize,
) -> Result<Bytes, ClaimError> {
    fetch_object(js, bucket, key, max_bytes)
        .await
        .map(|f| f.bytes)
}

/// An object's bytes, with the SHA-256 the fetch computed to check them.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The object's bytes.
    pub bytes: Bytes,
    /// SHA-256 of `bytes`, when the fetch computed it (direct gets of an object whose
    /// metadata names a digest); `None` when the object store's reader checked it.
    pub sha256: Option<[u8; 32]>,
}

/// As [`get_object`], also handing back the SHA-256 it computed, so that a caller who
/// needs the digest (validation reports it) does not hash the bytes a second time.
pub async fn fetch_object(
    js: &jetstream::Context,
    bucket: &str,
    key: &str,
    max_bytes: usize,
) -> Result<Fetched, ClaimError> {
    use base64::engine::general_purpose::URL_SAFE;
    use base64::Engine as _;
    let at = format!("{bucket}/{key}");
    let fetch_err = |e: String| ClaimError::with_source(ClaimErrorKind::Fetch, e);
    let not_found = || ClaimError::with_source(ClaimErrorKind::NotFound, at.clone());
    let stream = js
        .get_stream(format!("OBJ_{bucket}"))
        .await
        .map_err(|e| fetch_err(format!("{at}: {e}")))?;
    let unhashed = |bytes| Fetched {
        bytes,
        sha256: None,
    };
    if !stream.cached_info().config.allow_direct {
        // A bucket made by another tool without direct gets.
        return read_object(js, bucket, key, &at, max_bytes)
            .await
            .map(unhashed);
    }
    let meta = last_message(
        &stream,
        format!("$O.{bucket}.M.{}", URL_SAFE.encode(key)),
        &at,
    )
    .await?;
    let info: jetstream::object_store::ObjectInfo = serde_json::from_slice(&meta)
        .map_err(|e| fetch_err(format!("{at}: unreadable object metadata: {e}")))?;
    if info.deleted {
        return Err(not_found());
    }
    if info.size > max_bytes {
        return Err(ClaimError::with_source(
            ClaimErrorKind::TooLarge,
            format!(
                "{at} is {} bytes, above the limit of {max_bytes}",
                info.size
            ),
        ));
    }
    let linked = info.options.as_ref().is_some_and(|o| o.link.is_some());
    if info.chunks > MAX_DIRECT_CHUNKS || linked {
        return read_object(js, bucket, key, &at, max_bytes)
            .await
            .map(unhashed);
    }
    let chunks = format!("$O.{bucket}.C.{}", info.nuid);
    let data = match info.chunks {
        0 => Bytes::new(),
        1 => last_message(&stream, chunks, &at).await?,
        n => {
            // The chunks in order: each direct get asks for the next message on the
            // object's chunk subject after the previous one.
            let mut buf = Vec::with_capacity(info.size);
            let mut from = 1;
            for _ in 0..n {
                let m = stream
                    .direct_get_next_for_subject(chunks.clone(), Some(from))
                    .await
                    .map_err(|e| fetch_err(format!("{at}: chunk after sequence {from}: {e}")))?;
                if buf.len() + m.payload.len() > info.size {
                    break;
                }
                buf.extend_from_slice(&m.payload);
                from = m.sequence + 1;
            }
            Bytes::from(buf)
        }
    };
    if data.len() != info.size {
        return Err(fetch_err(format!(
            "{at}: read {} bytes, the metadata says {}",
            data.len(),
            info.size
        )));
    }
    let Some(want) = &info.digest else {
        return Ok(unhashed(data));
    };
    use sha2::Digest as _;
    let digest: [u8; 32] = sha2::Sha256::digest(&data).into();
    let got = format!("SHA-256={}", URL_SAFE.encode(digest));
    if &got != want {
        return Err(fetch_err(format!("{at}: wrong digest ({got}, not {want})")));
    }
    Ok(Fetched {
        bytes: data,
        sha256: Some(digest),
    })
}

/// The payload of the last message on `subject` of `stream`, by direct get.
async fn last_message(
    stream: &jetstream::stream::Stream,
    subject: String,
    at: &str,
) -> Result<Bytes, ClaimError> {
    use jetstream::stream::DirectGetErrorKind;
    stream
        .direct_get_last_for_subject(subject)
        .await
        .map(|m| m.payload)
        .map_err(|e| match e.kind() {
            DirectGetErrorKind::NotFound => {
                ClaimError::with_source(ClaimErrorKind::NotFound, at.to_owned())
            }
            _ => ClaimError::with_source(ClaimErrorKind::Fetch, format!("{at}: {e}")),
        })
}

/// Reads an object through the object store's reader (which checks size and digest),
/// following links.
async fn read_object(
    js: &jetstream::Context,
    bucket: &str,
    key: &str,
    at: &str,
    max_bytes: usize,
) -> Result<Bytes, ClaimError> {
    use jetstream::object_store::GetErrorKind;
    let fetch_err = |e: String| ClaimError::with_source(ClaimErrorKind::Fetch, e);
    let store = js
        .get_object_store(bucket)
        .await
        .map_err(|e| fetch_err(format!("{at}: {e}")))?;
    let mut obj = store.get(key).await.map_err(|e| match e.kind() {
        GetErrorKind::NotFound => ClaimError::with_source(ClaimErrorKind::NotFound, at.to_owned()),
        _ => fetch_err(format!("{at}: {e}")),
    })?;
    if obj.info.size > max_bytes {
        return Err(ClaimError::with_source(
            ClaimErrorKind::TooLarge,
            format!(
                "{at} is {} bytes, above the limit of {max_bytes}",
                obj.info.size
            ),
        ));
    }
    let mut buf = Vec::with_capacity(obj.info.size);
    obj.read_to_end(&mut buf)
        .await
        .map_err(|e| fetch_err(format!("{at}: {e}")))?;
    Ok(buf.into())
}

/// An `AsyncRead` over a byte slice that yields at most `max` bytes per read.
struct ChunkedReader<'a> {
    data: &'a [u8],
    max: usize,
}

impl tokio::io::AsyncRead for ChunkedReader<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.max.min(buf.remaining()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = rest;
        std::task::Poll::Ready(Ok(()))
    }
}
