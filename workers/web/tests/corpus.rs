//! The corpus pages served over HTTP from 127.0.0.1 and extracted through the agent:
//! title, main content (key sentences in, navigation boilerplate out) and tables.

#![allow(clippy::unwrap_used)]

mod common;

use common::{fixture, local_config, run_inline, run_url, Reply, Server, FIXTURES};
use daa_shared::model::{StageOutput, Table};
use daa_web::WebAgent;

fn serve_corpus() -> Server {
    Server::start(|path| match path.strip_prefix("/pages/") {
        Some(name) if FIXTURES.contains(&name) => Reply::html(fixture(name)),
        _ => Reply::status(404),
    })
}

fn title(out: &StageOutput) -> &str {
    out.metadata["title"].as_str().unwrap()
}

fn text(out: &StageOutput) -> &str {
    out.text.as_deref().unwrap()
}

fn table<'a>(out: &'a StageOutput, name: &str) -> &'a Table {
    out.tables
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| {
            let names: Vec<_> = out.tables.iter().map(|t| &t.name).collect();
            panic!("no table {name:?} in {names:?}")
        })
}

fn fetch_all() -> Vec<(String, StageOutput)> {
    let server = serve_corpus();
    let agent = WebAgent::new(local_config(), None).unwrap();
    FIXTURES
        .iter()
        .map(|name| {
            let url = server.url(&format!("/pages/{name}"));
            let out = run_url(&agent, &url).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out.metadata["final_url"], url.as_str());
            assert_eq!(out.metadata["status"], 200);
            assert_eq!(out.metadata["content_type"], "text/html; charset=utf-8");
            assert_eq!(out.metadata["charset"], "UTF-8");
            assert!(out.pages.is_empty());
            let src = out.source.as_ref().unwrap();
            assert_eq!(src.bytes as usize, fixture(name).len());
            assert_eq!(src.media_type, "text/html");
            (name.to_string(), out)
        })
        .collect()
}

fn assert_contains(name: &str, text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{name}: main content lacks {n:?}");
    }
}

fn assert_lacks(name: &str, text: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            !text.contains(n),
            "{name}: main content has boilerplate {n:?}"
        );
    }
}

#[test]
fn corpus_pages_over_http() {
    let pages = fetch_all();
    let get = |n: &str| &pages.iter().find(|(name, _)| name == n).unwrap().1;

    let n = "debian-faq-pkg-basics.en.html";
    let out = get(n);
    assert_eq!(
        title(out),
        "Chapter 7. Basics of the Debian package management system"
    );
    assert!(text(out).starts_with("Chapter 7. Basics of the Debian package management system"));
    assert_contains(
        n,
        text(out),
        &[
            "Packages generally contain all of the files necessary to implement a set of related commands or features.",
            "7.15. How do I create Debian packages myself?",
            "available in the debmake-doc package or at https://www.debian.org/doc/devel-manuals#debmake-doc.",
        ],
    );
    // The navigation header/footer and the table of contents.
    assert_lacks(
        n,
        text(out),
        &["Chapter 6. The Debian archives", "Table of Contents"],
    );
    assert!(out.tables.is_empty(), "navigation tables are not data");
    assert_eq!(out.metadata["headings"][0]["level"], 1);

    let n = "debian-handbook-sect.virtualization.html";
    let out = get(n);
    assert_eq!(title(out), "12.2. Virtualization");
    assert_contains(
        n,
        text(out),
        &[
            "Virtualization is one of the most major advances in the recent years of computing.",
            "- QEMU is a software emulator for a full computer;",
            "All these subcommands take a virtual machine identifier as a parameter.",
        ],
    );
    assert_lacks(
        n,
        text(out),
        &["Download the ebook", "The Debian Administrator's Handbook"],
    );

    let n = "debian-policy-ch-controlfields.html";
    let out = get(n);
    assert_eq!(
        title(out),
        "5. Control files and their fields — Debian Policy Manual v4.6.2.0"
    );
    assert_eq!(out.language.as_deref(), Some("en"));
    assert_contains(
        n,
        text(out),
        &[
            "A control file consists of one or more stanzas of fields.",
            "- Source (mandatory)",
            "All control files must be encoded in UTF-8.",
        ],
    );
    assert_lacks(
        n,
        text(out),
        &[
            "Quick search",
            "Previous topic",
            "Show Source",
            "Navigation",
        ],
    );

    let n = "debian-reference-ch01.en.html";
    let out = get(n);
    assert_eq!(title(out), "Chapter 1. GNU/Linux tutorials");
    assert_contains(
        n,
        text(out),
        &[
            "I think learning a computer system is like learning a new foreign language.",
            "character | meaning\n- | normal file\nd | directory",
        ],
    );
    assert!(out.tables.len() >= 20, "{} tables", out.tables.len());
    let t = table(
        out,
        "The numeric mode for file permissions in chmod(1) commands",
    );
    assert_eq!(t.rows[0], vec!["digit", "meaning"]);
    assert_eq!(t.rows.len(), 5);
    let t = table(out, "List of the first character of \"ls -l\" output");
    assert_eq!(t.rows[0], vec!["character", "meaning"]);
    assert_eq!(t.rows[1], vec!["-", "normal file"]);
    assert!(
        out.tables.iter().all(|t| t.name.as_deref() != Some("Note")),
        "admonition boxes are layout, not data"
    );
    assert!(out.metadata["links_count"].as_u64().unwrap() > 100);

    let n = "developers-reference-pkgs.html";
    let out = get(n);
    assert_eq!(
        title(out),
        "5. Managing Packages — developers-reference 12.18 documentation"
    );
    assert_contains(
        n,
        text(out),
        &[
            "This chapter contains information related to creating, uploading, maintaining, and porting packages.",
            "It is also recommended to read the Frequently Asked Questions (FAQ).",
        ],
    );
    assert_lacks(
        n,
        text(out),
        &["Quick search", "Previous topic", "Show Source"],
    );
    assert_eq!(out.tables.len(), 3);
    assert!(out
        .tables
        .iter()
        .all(|t| t.rows.len() >= 2 && t.rows[0].len() >= 2));

    let n = "doxygen-markdown.html";
    let out = get(n);
    assert_eq!(title(out), "Doxygen: Markdown support");
    assert_contains(
        n,
        text(out),
        &[
            "Markdown support was introduced in doxygen version 1.8.0.",
            "To see the result after Markdown processing you can run doxygen with the -d Markdown option.",
        ],
    );
    assert_lacks(
        n,
        text(out),
        &["Generated by", "var searchBox", "function("],
    );
    assert_eq!(out.tables.len(), 4);
    assert_eq!(
        out.tables[0].rows,
        vec![
            vec!["First Header", "Second Header"],
            vec!["Content Cell", "Content Cell"],
            vec!["Content Cell", "Content Cell"],
        ]
    );
    assert_eq!(out.tables[1].rows[0], vec!["Right", "Center", "Left"]);
}

#[test]
fn inline_html_is_extracted_without_fetching() {
    let agent = WebAgent::new(WebConfig::default(), None).unwrap();
    let out = run_inline(&agent, &fixture("doxygen-markdown.html")).unwrap();
    assert_eq!(title(&out), "Doxygen: Markdown support");
    assert!(text(&out).contains("Markdown support was introduced"));
    assert!(out.metadata.get("final_url").is_none());
    assert!(out.source.is_none() && out.kind.is_none());
    // Relative links stay relative without a page URL.
    let links = out.metadata["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["url"] == "index.html"));
}

use daa_web::WebConfig;

#[test]
fn tables_can_be_switched_off() {
    let agent = WebAgent::new(WebConfig::default(), None).unwrap();
    let mut task = common::task(daa_shared::model::Source::Inline {
        name: "p.html".into(),
        data: daa_shared::model::Bytes(fixture("doxygen-markdown.html")),
    });
    task.requirements.extract_tables = false;
    let ctx = daa_worker::TaskContext {
        document: Some(daa_worker::Document::new(
            "p.html",
            fixture("doxygen-markdown.html"),
        )),
        ..Default::default()
    };
    use daa_worker::Agent as _;
    let out = agent.execute(&task, &ctx).unwrap();
    assert!(out.tables.is_empty());
}
