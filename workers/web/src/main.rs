//! `daa-web-worker`: web extraction tasks (HTML inline or by URL) from NATS.
//!
//! Settings: `[agents.web]` (see `daa_web::WebConfig`); the per-host politeness buckets
//! are shared through the `[redis]` server, connected on first use.

fn main() {
    std::process::exit(daa_worker::main(daa_web::WebAgent::from_config));
}
