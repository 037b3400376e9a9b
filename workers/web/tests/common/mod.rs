//! Test helpers: a tiny HTTP/1.1 server on 127.0.0.1 and task builders.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use daa_shared::model::{
    AgentKind, Bytes, Requirements, Source, Stage, StageOutput, StageTask, TaskError, TaskInput,
};
use daa_web::{WebAgent, WebConfig};
use daa_worker::{Agent, Document, TaskContext};

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send no Content-Length (the body ends when the connection closes).
    pub no_length: bool,
}

impl Reply {
    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.into(),
            delay: Duration::ZERO,
            no_length: false,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("<html><body>status {status}</body></html>").into_bytes(),
            delay: Duration::ZERO,
            no_length: false,
        }
    }

    pub fn redirect(to: &str) -> Reply {
        let mut r = Reply::status(302);
        r.headers.push(("Location".into(), to.into()));
        r
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A server answering every request with `handler(path)`; counts connections.
pub struct Server {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

impl Server {
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(&str) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                std::thread::spawn(move || serve(conn, &*handler));
            }
        });
        Server { addr, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(mut conn: TcpStream, handler: &dyn Fn(&str) -> Reply) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 65536 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    let reply = handler(&path);
    std::thread::sleep(reply.delay);
    let mut out = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !reply.no_length {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    if conn.write_all(out.as_bytes()).is_err() {
        return;
    }
    let _ = conn.write_all(&reply.body);
    let _ = conn.flush();
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Config that lets the tests reach 127.0.0.1 (and only that).
pub fn local_config() -> WebConfig {
    WebConfig {
        allow_networks: vec!["127.0.0.1/32".into()],
        host_rate_per_s: 1000.0,
        host_burst: 1000,
        ..WebConfig::default()
    }
}

pub fn task(source: Source) -> StageTask {
    StageTask {
        v: 1,
        task_id: "job-1.1.extraction.0".into(),
        job_id: "job-1".into(),
        stage_index: 1,
        stage: Stage::Extraction,
        agent: AgentKind::Web,
        part: None,
        priority: Default::default(),
        requirements: Requirements::default(),
        input: TaskInput {
            source: Some(source),
            ..TaskInput::default()
        },
        deadline_at_ms: u64::MAX,
    }
}

/// Fetch and extract `url` through the agent.
pub fn run_url(agent: &WebAgent, url: &str) -> Result<StageOutput, TaskError> {
    agent.execute(&task(Source::Url(url.into())), &TaskContext::default())
}

/// Extract inline HTML through the agent.
pub fn run_inline(agent: &WebAgent, html: &[u8]) -> Result<StageOutput, TaskError> {
    let ctx = TaskContext {
        instance: "test".into(),
        attempt: 1,
        document: Some(Document::new(
            "page.html",
            bytes::Bytes::copy_from_slice(html),
        )),
        ..TaskContext::default()
    };
    let source = Source::Inline {
        name: "page.html".into(),
        data: Bytes(html.to_vec()),
    };
    agent.execute(&task(source), &ctx)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub const FIXTURES: [&str; 6] = [
    "debian-faq-pkg-basics.en.html",
    "debian-handbook-sect.virtualization.html",
    "debian-policy-ch-controlfields.html",
    "debian-reference-ch01.en.html",
    "developers-reference-pkgs.html",
    "doxygen-markdown.html",
];
