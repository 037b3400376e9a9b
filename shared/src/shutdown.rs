//! Graceful shutdown, as in mini-redis: one [`ShutdownTrigger`] broadcasts, every loop
//! holds a [`Shutdown`] and checks or awaits it.

use tokio::sync::watch;

/// Sends the shutdown signal to every [`Shutdown`] created from it.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// Listens for the shutdown signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl ShutdownTrigger {
    /// A new trigger and the first listener.
    pub fn new() -> (Self, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Self { tx }, Shutdown { rx })
    }

    /// Signal every listener. Idempotent.
    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    /// Another listener.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }

    /// Trigger on SIGINT or SIGTERM (spawns a task; call inside a runtime).
    pub fn trigger_on_signals(&self) {
        let trigger = self.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received, draining");
            trigger.trigger();
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

impl Shutdown {
    /// Has the signal been sent?
    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Wait for the signal (returns at once if it was already sent).
    pub async fn recv(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}
