//! The SSRF guard through the agent: loopback, private, link-local and metadata
//! addresses, IPv6 loopback, host names resolving to loopback and redirects to any of
//! them are refused by default with a permanent error, and no request reaches them.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{local_config, run_url, Reply, Server};
use daa_shared::model::{FailureKind, TaskError};
use daa_web::{WebAgent, WebConfig};

fn refused(r: Result<daa_shared::model::StageOutput, TaskError>, what: &str) -> TaskError {
    let e = r.expect_err("should be refused");
    assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    assert!(e.message.contains("refused"), "{e}");
    assert!(
        e.message.contains(what),
        "{:?} should mention {what:?}",
        e.message
    );
    e
}

#[test]
fn loopback_private_link_local_and_metadata_are_refused_by_default() {
    let server = Server::start(|_| Reply::html("<p>secret</p>"));
    let agent = WebAgent::new(WebConfig::default(), None).unwrap();
    let port = server.addr.port();

    refused(run_url(&agent, &server.url("/")), "a loopback address");
    refused(
        run_url(&agent, &format!("http://[::1]:{port}/")),
        "a loopback address",
    );
    refused(
        run_url(&agent, &format!("http://localhost:{port}/")),
        "localhost resolves to",
    );
    refused(
        run_url(&agent, &format!("http://[::ffff:127.0.0.1]:{port}/")),
        "a loopback address",
    );
    refused(
        run_url(&agent, &format!("http://2130706433:{port}/")),
        "a loopback address",
    );
    assert_eq!(server.hits(), 0, "nothing may reach the loopback server");

    // Never connected to: refused before any connection attempt, so instantly.
    let started = Instant::now();
    refused(
        run_url(&agent, "http://10.0.0.1/"),
        "10.0.0.1 is a private address",
    );
    refused(
        run_url(&agent, "http://169.254.169.254/latest/meta-data/"),
        "a cloud metadata address",
    );
    refused(
        run_url(&agent, "http://[fd00:ec2::254]/"),
        "a cloud metadata address",
    );
    refused(run_url(&agent, "http://100.64.1.1/"), "carrier-grade NAT");
    refused(run_url(&agent, "http://[fe80::1]/"), "link-local");
    refused(run_url(&agent, "http://224.0.0.1/"), "multicast");
    refused(run_url(&agent, "file:///etc/passwd"), "only http and https");
    refused(
        run_url(&agent, "gopher://example.com/"),
        "only http and https",
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let m = agent_metric(&agent, "web_ssrf_refusals");
    assert!(m >= 13.0, "{m}");
}

fn agent_metric(agent: &WebAgent, name: &str) -> f64 {
    use daa_worker::Agent as _;
    agent
        .metrics()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

#[test]
fn redirects_to_private_addresses_are_refused() {
    let target = Server::start(|_| Reply::html("<p>internal</p>"));
    let tport = target.addr.port();
    let server = Server::start(move |path| match path {
        "/to-private" => Reply::redirect("http://10.0.0.1/admin"),
        "/to-metadata" => Reply::redirect("http://169.254.169.254/latest/meta-data/iam/"),
        "/to-v6-loopback" => Reply::redirect(&format!("http://[::1]:{tport}/")),
        "/to-localhost" => Reply::redirect(&format!("http://localhost:{tport}/")),
        "/to-file" => Reply::redirect("file:///etc/passwd"),
        "/ok" => Reply::redirect("/final"),
        "/final" => Reply::html("<title>Final</title><p>made it through one redirect hop</p>"),
        _ => Reply::status(404),
    });
    // The allow-list lets the tests reach 127.0.0.1 and nothing else.
    let agent = WebAgent::new(local_config(), None).unwrap();
    refused(run_url(&agent, &server.url("/to-private")), "10.0.0.1");
    refused(
        run_url(&agent, &server.url("/to-metadata")),
        "cloud metadata",
    );
    refused(run_url(&agent, &server.url("/to-v6-loopback")), "::1");
    refused(
        run_url(&agent, &server.url("/to-file")),
        "only http and https",
    );
    assert_eq!(target.hits(), 0);

    // localhost is refused unless every address it resolves to is allowed.
    let r = run_url(&agent, &server.url("/to-localhost"));
    if let Err(e) = &r {
        assert_eq!(e.kind, FailureKind::Permanent, "{e}");
        assert!(e.message.contains("localhost resolves to ::1"), "{e}");
    }

    let out = run_url(&agent, &server.url("/ok")).unwrap();
    assert_eq!(out.metadata["final_url"], server.url("/final").as_str());
    assert_eq!(out.metadata["redirects"][0], server.url("/ok").as_str());
    assert_eq!(out.source.unwrap().name, server.url("/ok"));
}

#[test]
fn allow_list_opens_exactly_the_listed_networks() {
    let server =
        Server::start(|_| Reply::html("<title>t</title><p>allowed through the allow-list</p>"));
    let agent = WebAgent::new(
        WebConfig {
            allow_networks: vec!["127.0.0.0/8".into()],
            ..WebConfig::default()
        },
        None,
    )
    .unwrap();
    let out = run_url(&agent, &server.url("/")).unwrap();
    assert!(out.text.unwrap().contains("allowed through the allow-list"));
    refused(run_url(&agent, "http://10.0.0.1/"), "private");
    assert!(WebAgent::new(
        WebConfig {
            allow_networks: vec!["not-a-network".into()],
            ..WebConfig::default()
        },
        None
    )
    .is_err());
}
