//! The coordinator's HTTP side (DESIGN §7), on `coordinator.http_addr`:
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the fleet dashboard ([`dashboard`]) |
//! | `GET /metrics` | Prometheus text ([`metrics`]) |
//! | `GET /api/v1/fleet` | lanes, live workers and dead letters as JSON ([`fleet::Snapshot`]) |
//! | `GET /api/v1/jobs/{id}` | a job's state and, once ended, its result (the `daa.api.job.get` answer) |
//! | `GET /healthz` | 200 while NATS and Redis answer, else 503 |
//!
//! It is read-only: jobs are submitted over NATS. An address that cannot be bound (taken
//! by another coordinator on the same host, say) is logged and the coordinator runs on
//! without it.

mod dashboard;
mod fleet;
mod metrics;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use daa_shared::shutdown::Shutdown;

pub(crate) use dashboard::Throughput;
pub(crate) use metrics::CoordinatorMetrics;

use crate::service::Ctx;

/// How many recent jobs the dashboard lists.
const RECENT_JOBS: usize = 20;

/// Serve until `shutdown`; returns at once when `http_addr` is empty.
pub(crate) async fn serve(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let Some(listener) = daa_shared::connect::optional_listener(
        &ctx.cfg.coordinator.http_addr,
        "the dashboard, /metrics and the HTTP API",
    )
    .await
    else {
        return;
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/metrics", get(prometheus))
        .route("/api/v1/fleet", get(fleet_json))
        .route("/api/v1/jobs/{id}", get(job_json))
        .route("/healthz", get(health))
        .with_state(ctx);
    let stopped = async move { shutdown.recv().await };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::warn!(error = %e, "HTTP server stopped");
    }
}

async fn index(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let fleet = fleet::snapshot(&ctx).await;
    let recent = recent_jobs(&ctx).await;
    let own = dashboard::Own {
        instance: &ctx.instance,
        leading: ctx.leader.fence().is_some(),
        jobs: ctx.metrics.totals(),
        recent,
    };
    Html(dashboard::page(&fleet, &own, &ctx.throughput))
}

async fn recent_jobs(ctx: &Ctx) -> Vec<(String, Option<daa_shared::store::JobState>)> {
    let Ok(ids) = ctx.store.recent_jobs(RECENT_JOBS).await else {
        return Vec::new();
    };
    let states = futures::future::join_all(ids.iter().map(|id| ctx.store.job_state(id))).await;
    ids.into_iter()
        .zip(states)
        .map(|(id, s)| (id, s.ok().flatten()))
        .collect()
}

async fn prometheus(State(ctx): State<Arc<Ctx>>) -> Response {
    let fleet = fleet::snapshot(&ctx).await;
    let text = metrics::render(&ctx.metrics, &fleet, ctx.leader.fence().is_some());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn fleet_json(State(ctx): State<Arc<Ctx>>) -> Json<fleet::Snapshot> {
    Json(fleet::snapshot(&ctx).await)
}

async fn job_json(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>) -> Response {
    match crate::api::job_info(&ctx, &id).await {
        Ok(info) if info.status.is_none() => (StatusCode::NOT_FOUND, Json(info)).into_response(),
        Ok(info) => Json(info).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read job {id}: {e}\n"),
        )
            .into_response(),
    }
}

async fn health(State(ctx): State<Arc<Ctx>>) -> Response {
    let nats = ctx.client.connection_state() == async_nats::connection::State::Connected;
    let redis = ctx.store.ping().await.is_ok();
    let body = format!(
        "nats {}\nredis {}\n",
        if nats { "ok" } else { "down" },
        if redis { "ok" } else { "down" }
    );
    let code = if nats && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body).into_response()
}
