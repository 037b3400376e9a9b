//! `GET /metrics` on `worker.metrics_addr` (off by default): this worker's own figures as
//! Prometheus text, the same series the coordinator's `/metrics` gives for every live
//! worker (`daa_shared::metrics`), read fresh at each scrape rather than at the last
//! heartbeat. For scrapers that discover each process (a pod per worker); one scrape of
//! a coordinator covers the whole fleet.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use daa_shared::metrics::{self, WorkerSample};
use daa_shared::shutdown::Shutdown;

use crate::heartbeat;
use crate::run::Shared;

/// Serve until the task is aborted (the worker stops it after draining); returns at
/// once when `metrics_addr` is empty. `draining` tells the reported state.
pub(crate) async fn serve(shared: Arc<Shared>, draining: Shutdown) {
    let Some(listener) =
        daa_shared::connect::optional_listener(&shared.cfg.worker.metrics_addr, "/metrics").await
    else {
        return;
    };
    let app = Router::new()
        .route("/metrics", get(render))
        .with_state((shared, draining));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "/metrics server stopped");
    }
}

async fn render(State((shared, draining)): State<(Arc<Shared>, Shutdown)>) -> impl IntoResponse {
    let hb = heartbeat::snapshot(&shared, draining.is_shutdown());
    let mut r = metrics::registry();
    metrics::register_workers(
        &mut r,
        [WorkerSample {
            agent: shared.agent.kind(),
            instance: &shared.instance,
            heartbeat: Some(&hb),
        }],
    );
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::encode(&r),
    )
}
