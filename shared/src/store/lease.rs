use std::time::Duration;

use super::{Store, StoreError};

impl Store {
    /// Acquire or renew the lease `name` for `holder`. True when `holder` holds it.
    /// Singleton duties (the deadline sweeper) run only while their lease is held.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn().await?;
        let held: i64 = self
            .scripts
            .lease
            .key(self.keys.lease(name))
            .arg(holder)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut c)
            .await?;
        Ok(held == 1)
    }
}
