//! Coordinator leadership: one coordinator at a time holds the fenced lease
//! [`COORDINATOR_LEADER`] in Redis and runs the singleton duties (the deadline sweeper,
//! the dead-letter mover). Every coordinator tries to take the lease every third of its
//! period; the holder renews it at the same pace and steps down at once when a renewal
//! fails (Redis away, or another holder took an expired lease). Acquiring increments the
//! lease's fencing counter: a duty checks that its fence is still current before a write
//! that matters, so a leader that stalled past its lease cannot act on a stale term.
//!
//! Duties ask [`Leadership::fence`] ("am I leader, with which fence") or wait for a term
//! with [`Leadership::term`].

use std::sync::Arc;
use std::time::Duration;

use daa_shared::shutdown::{Shutdown, ShutdownTrigger};
use daa_shared::store::{LeaseOutcome, Store, COORDINATOR_LEADER};
use tokio::sync::watch;

/// This coordinator's view of the leadership: `Some(fence)` while it leads.
#[derive(Debug, Clone)]
pub(crate) struct Leadership {
    rx: watch::Receiver<Option<u64>>,
}

impl Leadership {
    /// The fence of the current term when this coordinator leads.
    pub(crate) fn fence(&self) -> Option<u64> {
        *self.rx.borrow()
    }

    /// Wait until this coordinator leads; then its fence and a [`Shutdown`] that fires
    /// when the term ends (step-down, or `shutdown`). `None` when `shutdown` came first.
    pub(crate) async fn term(&self, shutdown: &mut Shutdown) -> Option<(u64, Shutdown)> {
        let mut rx = self.rx.clone();
        let fence = tokio::select! {
            f = rx.wait_for(Option::is_some) => match f {
                Ok(f) => (*f)?,
                Err(_) => return None,
            },
            _ = shutdown.recv() => return None,
        };
        let (trigger, ended) = ShutdownTrigger::new();
        let mut outer = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = rx.wait_for(|f| *f != Some(fence)) => {}
                _ = outer.recv() => {}
            }
            trigger.trigger();
        });
        Some((fence, ended))
    }
}

/// Start the lease loop of `instance`; the returned [`Leadership`] follows it.
pub(crate) fn start(
    store: Store,
    instance: String,
    ttl: Duration,
    shutdown: Shutdown,
) -> (Leadership, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(None);
    let handle = tokio::spawn(run(store, instance, ttl, Arc::new(tx), shutdown));
    (Leadership { rx }, handle)
}

async fn run(
    store: Store,
    instance: String,
    ttl: Duration,
    tx: Arc<watch::Sender<Option<u64>>>,
    mut shutdown: Shutdown,
) {
    let every = (ttl / 3).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.recv() => break,
        }
        let held = *tx.borrow();
        // A renewal that does not answer within the lease period is a failed one.
        let outcome =
            tokio::time::timeout(ttl, store.fenced_lease(COORDINATOR_LEADER, &instance, ttl)).await;
        let now = match outcome {
            Ok(Ok(LeaseOutcome::Held(fence))) => Some(fence),
            Ok(Ok(LeaseOutcome::Taken(_))) => None,
            Ok(Err(e)) => {
                if held.is_some() {
                    tracing::warn!(error = %e, "cannot renew the leader lease; stepping down");
                }
                None
            }
            Err(_) => {
                if held.is_some() {
                    tracing::warn!("renewing the leader lease timed out; stepping down");
                }
                None
            }
        };
        if now != held {
            match now {
                Some(fence) => tracing::info!(%instance, fence, "leading the coordinators"),
                None => tracing::info!(%instance, "no longer the leading coordinator"),
            }
            tx.send_replace(now);
        }
    }
    // A clean exit hands the duties over at once instead of after the lease period.
    if let Some(fence) = tx.send_replace(None) {
        match store
            .release_fenced_lease(COORDINATOR_LEADER, &instance, fence)
            .await
        {
            Ok(_) => tracing::info!(%instance, fence, "leader lease released"),
            Err(e) => tracing::warn!(error = %e, "cannot release the leader lease"),
        }
    }
}
