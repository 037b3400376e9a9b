//! Control messages on `daa.control.<agent>.<instance>` (and `.all`): `pause` stops
//! fetching, `resume` starts again, `drain` finishes in-flight work and exits, `status`
//! answers the heartbeat as JSON. Requests with a reply subject get an answer; after a
//! pause or resume it comes once the new state is in the worker's heartbeat, so the
//! planner no longer counts (or counts again) its task slots.

use std::sync::Arc;

use daa_shared::shutdown::Shutdown;
use daa_shared::store::worker_state;
use futures::StreamExt;

use crate::heartbeat::{beat, snapshot};
use crate::run::Shared;

pub(crate) async fn run(shared: Arc<Shared>, mut draining: Shutdown) {
    let kind = shared.agent.kind();
    let mut subs = Vec::new();
    for target in [shared.instance.as_str(), "all"] {
        match shared
            .client
            .subscribe(shared.subjects.control(kind, target))
            .await
        {
            Ok(s) => subs.push(s),
            Err(e) => tracing::warn!(error = %e, "no control subscription"),
        }
    }
    let mut all = futures::stream::select_all(subs);
    loop {
        let msg = tokio::select! {
            m = all.next() => match m { Some(m) => m, None => return },
            _ = draining.recv() => return,
        };
        let cmd = String::from_utf8_lossy(&msg.payload)
            .trim()
            .to_ascii_lowercase();
        let answer = match cmd.as_str() {
            "pause" => {
                shared.paused.send_replace(true);
                beat(&shared).await;
                worker_state::PAUSED.to_owned()
            }
            "resume" => {
                shared.paused.send_replace(false);
                beat(&shared).await;
                worker_state::RUNNING.to_owned()
            }
            "drain" => {
                shared.drain.trigger();
                worker_state::DRAINING.to_owned()
            }
            "status" | "" => serde_json::to_string(&snapshot(&shared, false)).unwrap_or_default(),
            other => format!("unknown command {other:?} (pause, resume, drain, status)"),
        };
        tracing::info!(command = %cmd, "control message");
        if let Some(reply) = msg.reply {
            let _ = shared.client.publish(reply, answer.into()).await;
        }
    }
}
