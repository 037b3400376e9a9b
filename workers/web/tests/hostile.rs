//! Hostile HTML: deep nesting, giant attributes, malformed markup, lying charsets,
//! parser bombs. Each gives a result or a clear permanent error, in bounded time.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::run_inline;
use daa_shared::model::{FailureKind, StageOutput, TaskError};
use daa_web::{WebAgent, WebConfig};

fn agent() -> WebAgent {
    WebAgent::new(WebConfig::default(), None).unwrap()
}

/// Run, printing how long it took (no timing assertion: machines here are noisy; the
/// structural limits are what bound the work).
fn timed(html: &[u8]) -> Result<StageOutput, TaskError> {
    timed_with(&agent(), html)
}

/// [`timed`] with a given agent.
fn timed_with(agent: &WebAgent, html: &[u8]) -> Result<StageOutput, TaskError> {
    let started = Instant::now();
    let r = run_inline(agent, html);
    println!("took {:?}", started.elapsed());
    r
}

#[test]
fn ten_thousand_nested_elements() {
    // Ten thousand levels take seconds to parse in a debug build on a loaded machine:
    // the wall-clock limit (tested by `parse_time_limit`) is lifted, so this tests what
    // the depth handling does, not how fast the machine is.
    let agent = WebAgent::new(
        WebConfig {
            max_parse_ms: 120_000,
            ..WebConfig::default()
        },
        None,
    )
    .unwrap();
    for tag in ["div", "span", "blockquote", "ul><li", "table><tr><td"] {
        let open = tag.split('>').map(|t| format!("<{t}>")).collect::<String>();
        let mut html = String::from("<html><body>");
        html.push_str(&open.repeat(10_000));
        html.push_str("<p>deep inside ten thousand levels, the text is still found.</p>");
        html.push_str("</body></html>");
        let out = timed_with(&agent, html.as_bytes()).unwrap();
        assert!(
            out.text
                .as_deref()
                .unwrap()
                .contains("deep inside ten thousand levels"),
            "{tag}"
        );
    }
}

#[test]
fn hundred_thousand_nested_divs_with_paragraphs() {
    // Deep nesting plus many paragraphs: the parser's scope scans are quadratic here.
    let mut html = "<div>".repeat(100_000);
    html.push_str(&"<p>x</p>".repeat(5_000));
    let r = timed(html.as_bytes());
    if let Err(e) = r {
        assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    }
}

#[test]
fn giant_attributes_and_many_attributes() {
    let big = "x".repeat(3 * 1024 * 1024);
    let html = format!(
        "<html><head><title>Big attr</title><meta name=description content=\"{big}\"></head>\
         <body><div class=\"{big}\" data-x=\"{big}\"><p>Text next to a three megabyte attribute survives.</p></div></body></html>"
    );
    let out = timed(html.as_bytes()).unwrap();
    assert_eq!(out.metadata["title"], "Big attr");
    assert!(out.metadata["description"].as_str().unwrap().len() <= 2_000);
    assert!(out.text.unwrap().contains("three megabyte attribute"));

    let attrs: String = (0..50_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let html = format!("<div{attrs}><p>Fifty thousand attributes on one element.</p></div>");
    assert!(timed(html.as_bytes())
        .unwrap()
        .text
        .unwrap()
        .contains("Fifty thousand"));
}

#[test]
fn malformed_markup() {
    let cases: Vec<Vec<u8>> = vec![
        b"<html><body><p>unclosed <b>bold <i>italic <table><tr><td>cell</p></b></div></span>"
            .to_vec(),
        b"<<<>>><p <p <p>>>></</</p>text after garbage, which is still text".to_vec(),
        b"<!-- never closed comment <p>hidden".to_vec(),
        b"<script>document.write('<p>not content</p>')".to_vec(),
        b"\x00\x00<p>\x00nul bytes\x00 in the text\x00</p>".to_vec(),
        b"".to_vec(),
        b"   ".to_vec(),
        b"<p>&#0; &#xD800; &#x110000; &bogus; &amp &lt;tag&gt;</p>".to_vec(),
        (0..=255u8).cycle().take(100_000).collect(),
    ];
    for html in cases {
        let out = timed(&html).unwrap();
        assert!(!out.text.unwrap().contains("not content"));
    }
}

#[test]
fn lying_and_missing_charsets() {
    // Declared UTF-8, actually windows-1252.
    let html = b"<meta charset=utf-8><title>Caf\xe9</title><p>Der B\xe4r l\xe4uft \xfcber die Stra\xdfe und isst K\xe4se im Caf\xe9.</p>";
    let out = timed(html).unwrap();
    assert_eq!(out.metadata["title"], "Café");
    assert!(out.warnings.iter().any(|w| w.contains("does not match")));
    // Declared windows-1252, actually UTF-8.
    let html = "<meta charset=windows-1252><title>Café</title><p>naïve</p>".as_bytes();
    let out = timed(html).unwrap();
    assert_eq!(out.metadata["title"], "Café");
    // Unknown label.
    let html = b"<meta charset=x-klingon><title>ok</title>";
    assert_eq!(timed(html).unwrap().metadata["title"], "ok");
    // UTF-16 with a BOM.
    let mut html = vec![0xFF, 0xFE];
    for u in "<title>sixteen</title><p>UTF-16 little endian</p>".encode_utf16() {
        html.extend_from_slice(&u.to_le_bytes());
    }
    let out = timed(&html).unwrap();
    assert_eq!(out.metadata["title"], "sixteen");
    assert_eq!(out.metadata["charset"], "UTF-16LE");
}

#[test]
fn formatting_element_bombs_fail_permanently_and_fast() {
    // n unclosed formatting elements re-created in each of m paragraphs: n * m nodes.
    let bomb = |n: usize, m: usize| {
        let mut html = String::from("<p>");
        for i in 0..n {
            html.push_str(&format!("<b class=c{i}>"));
        }
        html.push_str(&"</p><p>x".repeat(m));
        html
    };
    // Too many open formatting elements: refused before parsing.
    let started = Instant::now();
    let e = run_inline(&agent(), bomb(20_000, 20_000).as_bytes()).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    assert!(e.message.contains("left open"), "{e}");
    println!("took {:?}", started.elapsed());
    // Fewer, but re-created in enough paragraphs: stopped by the node limit.
    let started = Instant::now();
    let e = run_inline(&agent(), bomb(3_000, 5_000).as_bytes()).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    assert!(e.message.contains("max_nodes"), "{e}");
    println!("took {:?}", started.elapsed());
}

#[test]
fn parse_time_limit() {
    let a = WebAgent::new(
        WebConfig {
            max_parse_ms: 1,
            ..WebConfig::default()
        },
        None,
    )
    .unwrap();
    let html = "<p>some text, and more, and more</p>".repeat(200_000);
    let e = run_inline(&a, html.as_bytes()).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    assert!(e.message.contains("max_parse_ms"), "{e}");
}

#[test]
fn oversized_documents_are_refused() {
    let a = WebAgent::new(
        WebConfig {
            max_body_bytes: 1000,
            ..WebConfig::default()
        },
        None,
    )
    .unwrap();
    let e = run_inline(&a, &vec![b'a'; 2000]).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("max_body_bytes"), "{e}");
}

#[test]
fn nested_headings_and_captions_stay_linear() {
    let html = format!(
        "{}<p>bottom text under many headings, far below all of them.</p>",
        "<h1><div>".repeat(5_000) + &"<table><caption>".repeat(2_000)
    );
    let out = timed(html.as_bytes()).unwrap();
    assert!(out.text.unwrap().contains("bottom text"));
}

#[test]
fn what_a_limit_cuts_off_is_reported_as_lost() {
    let tight = WebAgent::new(
        WebConfig {
            max_tables: 1,
            max_text_bytes: 300,
            ..WebConfig::default()
        },
        None,
    )
    .unwrap();
    let table = "<table><tr><th>name</th><th>size</th></tr><tr><td>a</td><td>1</td></tr>\
                 <tr><td>b</td><td>2</td></tr></table>";
    let para = "<p>A paragraph of the article that is long enough to count as content.</p>";
    let html = format!(
        "<html><body><article>{}{table}{table}{table}</article></body></html>",
        para.repeat(20)
    );
    let out = timed_with(&tight, html.as_bytes()).unwrap();
    assert_eq!(out.tables.len(), 1);
    assert!(out.text.as_deref().unwrap().len() <= 300);
    let lost = |what: &str| out.losses.iter().any(|l| l.contains(what));
    assert!(lost("max_text_bytes"), "{:?}", out.losses);
    assert!(
        lost("2 tables dropped beyond max_tables"),
        "{:?}",
        out.losses
    );
    // A complete page reports no loss.
    let out = timed_with(&agent(), html.as_bytes()).unwrap();
    assert!(out.losses.is_empty(), "{:?}", out.losses);
}
