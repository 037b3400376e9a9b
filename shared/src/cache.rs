//! The content-addressed result cache: Redis primitives the coordinator's job intake
//! builds on (see `coordinator/src/cache.rs` and `docs/coordination.md`).
//!
//! A result is addressed by sha256 over the document's sha256, a canonical encoding of
//! the job's requirements and [`PIPELINE_VERSION`]. The first job for an address takes
//! the cache lock `cache:<address>` (a [`crate::lock`] lock whose token is the job) and
//! runs; later jobs for the same address register as its followers and do not run. When
//! the leader ends `completed`, its result document is written by a fenced write under
//! that lock, and the followers are answered from it.

use std::time::Duration;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::lock::{LockError, LockErrorKind, Locks};
use crate::model::{Requirements, Source};
use crate::store::{Store, StoreError, StoreErrorKind};

/// Lock failures seen by cache callers are store failures (the cache never waits).
fn store_error(e: LockError) -> StoreError {
    let kind = match e.kind() {
        LockErrorKind::Unavailable => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Command,
    };
    StoreError::with_source(kind, e)
}

/// Version of the pipeline whose results are cached: bump it (or the crate version) when
/// a change to the planner, an agent or the synthesis changes results, so old entries
/// are not served for new code.
pub const PIPELINE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+p1");

/// Canonical encoding of requirements: every switch in a fixed order.
pub fn canonical_requirements(r: &Requirements) -> String {
    let b = |v: bool| if v { '1' } else { '0' };
    format!(
        "text={},tables={},classify={},entities={},embeddings={}",
        b(r.extract_text),
        b(r.extract_tables),
        b(r.classify_content),
        b(r.extract_entities),
        b(r.embeddings)
    )
}

/// Hex cache address of a document with sha256 `doc_sha256` (hex) under `requirements`.
pub fn address(doc_sha256: &str, requirements: &Requirements) -> String {
    let mut h = Sha256::new();
    h.update(doc_sha256.as_bytes());
    h.update(b"\n");
    h.update(canonical_requirements(requirements).as_bytes());
    h.update(b"\n");
    h.update(PIPELINE_VERSION.as_bytes());
    hex::encode(h.finalize())
}

/// The cache address of a job, when its result can be cached: inline documents only
/// (their bytes are at hand; see `docs/coordination.md` for the other sources).
pub fn address_of(source: &Source, requirements: &Requirements) -> Option<String> {
    match source {
        Source::Inline { data, .. } => {
            Some(address(&hex::encode(Sha256::digest(&data.0)), requirements))
        }
        Source::Object { .. } | Source::Url(_) | Source::Path(_) => None,
    }
}

/// The lock resource guarding a cache address.
pub fn resource(address: &str) -> String {
    format!("cache:{address}")
}

/// The lock token of a job (any coordinator replica can release it).
pub fn job_token(job_id: &str) -> String {
    format!("job:{job_id}")
}

/// What [`ResultCache::follow`] decided for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// The result is cached: the encoded result document.
    Cached(Vec<u8>),
    /// Another job holds the cache lock; this job is now its follower.
    Following,
    /// Nobody holds the lock: take it and run.
    Free,
    /// This job already holds the lock.
    Leading,
}

/// The result cache on a store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ResultCache {
    store: Store,
    locks: Locks,
}

impl ResultCache {
    /// The cache on `store`.
    pub fn new(store: Store) -> Self {
        Self {
            locks: store.locks(),
            store,
        }
    }

    /// The locks it uses.
    pub fn locks(&self) -> &Locks {
        &self.locks
    }

    /// Atomically: the cached result, or "lead", or register `job_id` as a follower of
    /// the job holding the lock of `resource` (kept `ttl`).
    pub async fn follow(
        &self,
        resource: &str,
        job_id: &str,
        ttl: Duration,
    ) -> Result<Follow, StoreError> {
        let keys = self.store.keys();
        let mut c = self.store.conn().await?;
        let v: Vec<redis::Value> = self
            .store
            .scripts()
            .cache_follow
            .key(keys.cache_entry(resource))
            .key(keys.cache_followers(resource))
            .key(keys.lock(resource))
            .arg(job_id)
            .arg(job_token(job_id))
            .arg((ttl.as_millis() as u64).max(1))
            .invoke_async(&mut c)
            .await?;
        Ok(match v.as_slice() {
            [redis::Value::Int(2), redis::Value::BulkString(b)] => Follow::Cached(b.clone()),
            [redis::Value::Int(1)] => Follow::Following,
            [redis::Value::Int(3)] => Follow::Leading,
            _ => Follow::Free,
        })
    }

    /// Take the cache lock of `resource` for `job_id` for `ttl` (no waiting), and record
    /// the fence for the job's finish path for `record_ttl`. The fence when taken.
    pub async fn lead(
        &self,
        resource: &str,
        job_id: &str,
        ttl: Duration,
        record_ttl: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let fence = self
            .locks
            .acquire_token(resource, &job_token(job_id), ttl, false)
            .await
            .map_err(store_error)?;
        if let Some(f) = fence {
            let mut c = self.store.conn().await?;
            let _: () = c
                .pset_ex(
                    self.store.keys().job_cache_lead(job_id),
                    f,
                    (record_ttl.as_millis() as u64).max(1),
                )
                .await?;
        }
        Ok(fence)
    }

    /// The fence of the cache lock `job_id` took, if it leads a cache address.
    pub async fn lead_fence(&self, job_id: &str) -> Result<Option<u64>, StoreError> {
        let mut c = self.store.conn().await?;
        Ok(c.get(self.store.keys().job_cache_lead(job_id)).await?)
    }

    /// The cached encoded result of `resource`.
    pub async fn get(&self, resource: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.store.conn().await?;
        Ok(c.get(self.store.keys().cache_entry(resource)).await?)
    }

    /// Store `encoded` for `resource` under the leader's `fence` (refused with
    /// [`LockErrorKind::StaleFence`] when a newer leader exists). True when written.
    pub async fn write(
        &self,
        resource: &str,
        fence: u64,
        encoded: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self
            .locks
            .fenced_write(
                resource,
                fence,
                &self.store.keys().cache_entry(resource),
                encoded,
                Some(ttl),
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == LockErrorKind::StaleFence => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Release the cache lock of `resource` held by `job_id`.
    pub async fn release(&self, resource: &str, job_id: &str) -> Result<bool, StoreError> {
        self.locks
            .release_token(resource, &job_token(job_id))
            .await
            .map_err(store_error)
    }

    /// Jobs registered as followers of `resource`.
    pub async fn followers(&self, resource: &str) -> Result<Vec<String>, StoreError> {
        let mut c = self.store.conn().await?;
        Ok(c.smembers(self.store.keys().cache_followers(resource))
            .await?)
    }

    /// Forget follower `job_id` of `resource` (it was answered or ended).
    pub async fn unfollow(&self, resource: &str, job_id: &str) -> Result<(), StoreError> {
        let mut c = self.store.conn().await?;
        let _: () = c
            .srem(self.store.keys().cache_followers(resource), job_id)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Bytes;

    #[test]
    fn address_depends_on_bytes_and_requirements_only() {
        let src = |d: &[u8], name: &str| Source::Inline {
            name: name.into(),
            data: Bytes(d.to_vec()),
        };
        let r = Requirements::default();
        let a = address_of(&src(b"a,b\n1,2\n", "x.csv"), &r).expect("inline");
        assert_eq!(
            a,
            address_of(&src(b"a,b\n1,2\n", "other.csv"), &r).expect("inline")
        );
        assert_ne!(
            a,
            address_of(&src(b"a,b\n1,3\n", "x.csv"), &r).expect("inline")
        );
        let more = Requirements {
            embeddings: true,
            ..r
        };
        assert_ne!(
            a,
            address_of(&src(b"a,b\n1,2\n", "x.csv"), &more).expect("inline")
        );
        assert_eq!(address_of(&Source::Url("https://x".into()), &r), None);
    }
}
