//! Resolving a task's source to bytes before the agent runs: inline data, the Object
//! Store (claim check) or a shared path. URLs are left to the web agent.

use async_nats::jetstream;
use daa_shared::model::{Source, TaskError};

use crate::Document;

/// Fetch the document's bytes, refusing anything above `max_bytes`.
pub(crate) async fn resolve(
    js: &jetstream::Context,
    source: &Source,
    max_bytes: u64,
) -> Result<Option<Document>, TaskError> {
    let too_big = |n: u64| {
        TaskError::permanent(format!(
            "document is {n} bytes, above the limit of {max_bytes} bytes"
        ))
    };
    match source {
        Source::Inline { name, data } => Ok(Some(Document::new(
            name.clone(),
            bytes::Bytes::copy_from_slice(&data.0),
        ))),
        Source::Object { bucket, key, name } => {
            use daa_shared::claim::{fetch_object, ClaimErrorKind};
            let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
            let fetched = fetch_object(js, bucket, key, max)
                .await
                .map_err(|e| match e.kind() {
                    ClaimErrorKind::NotFound => {
                        TaskError::permanent(format!("object {bucket}/{key} does not exist"))
                    }
                    ClaimErrorKind::TooLarge => TaskError::permanent(format!(
                        "document {bucket}/{key} is above the limit of {max_bytes} bytes"
                    )),
                    _ => TaskError::temporary(format!("object {bucket}/{key}: {e}")),
                })?;
            Ok(Some(Document {
                name: if name.is_empty() {
                    key.clone()
                } else {
                    name.clone()
                },
                bytes: fetched.bytes,
                sha256: fetched.sha256,
            }))
        }
        Source::Path(path) => {
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| TaskError::permanent(format!("cannot read {path}: {e}")))?;
            if meta.len() > max_bytes {
                return Err(too_big(meta.len()));
            }
            let data = tokio::fs::read(path)
                .await
                .map_err(|e| TaskError::permanent(format!("cannot read {path}: {e}")))?;
            Ok(Some(Document::new(path.clone(), data)))
        }
        Source::Url(_) => Ok(None),
    }
}
