//! HTML → main content, metadata and tables.
//!
//! [`extract()`] decodes the bytes (`charset`), parses them with html5ever within node
//! and time limits (`parse`), flattens the tree (`dom`), classifies nodes
//! (`classify`), picks the main content (`content`), renders it as text
//! (`render`), and reads tables (`tables`) and metadata (`meta`). Every walk over
//! the tree is a loop over a pre-order range or an explicit stack: no recursion on
//! document depth, so 10 000 (or 1 000 000) nested elements cost what their bytes cost.

mod charset;
mod classify;
mod content;
mod dom;
mod meta;
mod parse;
mod render;
mod tables;

use std::time::Duration;

use daa_shared::model::{Table, TaskError};
use daa_worker::CancelFlag;
use reqwest::Url;

use crate::config::WebConfig;

pub use meta::{Heading, Link};

/// What is known about a page besides its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageContext<'a> {
    /// The page's URL (after redirects), to make links absolute.
    pub url: Option<&'a Url>,
    /// `charset` of the `Content-Type` header.
    pub charset: Option<&'a str>,
    /// `Content-Language` header.
    pub content_language: Option<&'a str>,
}

/// Everything extracted from one page.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Main content as plain text; paragraphs separated by a blank line.
    pub text: String,
    /// `<title>`, else `og:title`, else the first `<h1>`.
    pub title: Option<String>,
    /// Meta description (`description`, `og:description`...).
    pub description: Option<String>,
    /// Author (`author`, `article:author`, JSON-LD...).
    pub author: Option<String>,
    /// Publication date as the page states it.
    pub published: Option<String>,
    /// Canonical URL (`<link rel=canonical>`, else `og:url`), absolute when possible.
    pub canonical_url: Option<String>,
    /// Language tag as stated (`<html lang>`, `content-language` meta, then header).
    pub language: Option<String>,
    /// Its primary subtag (`en` for `en-GB`), when it looks like an ISO 639 code.
    pub language_code: Option<String>,
    /// `og:site_name`.
    pub site_name: Option<String>,
    /// Outline: every heading outside navigation, footers and hidden parts.
    pub headings: Vec<Heading>,
    /// Links (up to `max_links`).
    pub links: Vec<Link>,
    /// Number of links on the page.
    pub links_count: usize,
    /// Data tables, spans expanded.
    pub tables: Vec<Table>,
    /// Encoding used to decode the bytes.
    pub charset: &'static str,
    /// How it was found: `bom`, `header`, `meta`, `xml`, `guess` or `content`.
    pub charset_source: &'static str,
    /// DOM nodes built.
    pub nodes: usize,
    /// Non-fatal problems (charset overridden, a table layout skipped...).
    pub warnings: Vec<String>,
    /// What a limit cut off (main content past `max_text_bytes`, tables past
    /// `max_tables` or `max_table_cells`): makes the job partial.
    pub losses: Vec<String>,
}

/// Below this many characters of main content, a less strict pass is tried.
const THIN: usize = 200;

/// Extract main content, metadata and tables from an HTML document.
///
/// Fails permanently when the document is larger than `max_body_bytes` or makes the
/// parser exceed `max_nodes` or `max_parse_ms`; fails temporarily when cancelled.
pub fn extract(
    bytes: &[u8],
    page: &PageContext<'_>,
    cfg: &WebConfig,
    cancel: Option<&CancelFlag>,
) -> Result<Extracted, TaskError> {
    if bytes.len() as u64 > cfg.max_body_bytes {
        return Err(TaskError::permanent(format!(
            "HTML document is {} bytes, more than max_body_bytes ({})",
            bytes.len(),
            cfg.max_body_bytes
        )));
    }
    let decoded = charset::decode(bytes, page.charset);
    let html = parse::parse(
        &decoded.text,
        cfg.max_nodes,
        Duration::from_millis(cfg.max_parse_ms),
        cancel,
    )
    .map_err(|limit| match limit {
        parse::ParseLimit::Unclosed(n) => TaskError::permanent(format!(
            "hostile HTML: more than {n} formatting elements (<b>, <a>, <font>...) are left \
             open, which makes HTML tree building quadratic"
        )),
        parse::ParseLimit::Nodes(n) => TaskError::permanent(format!(
            "hostile or oversized HTML: parsing would build more than {n} DOM nodes (max_nodes)"
        )),
        parse::ParseLimit::Time(t) => TaskError::permanent(format!(
            "hostile or oversized HTML: parsing took longer than {} ms (max_parse_ms)",
            t.as_millis()
        )),
        parse::ParseLimit::Cancelled => TaskError::temporary(
            "extraction cancelled by the worker runtime (deadline passed or worker draining)",
        ),
    })?;
    drop(decoded.text);
    let dom = dom::Dom::new(&html);
    let flags = classify::flags(&dom);
    let warnings = decoded.warnings;

    let meta = meta::extract(
        &dom,
        &flags,
        page.url,
        page.content_language,
        cfg.max_links,
        cfg.max_headings,
    );

    let mut text = String::new();
    let mut truncated = false;
    let mut strict_visible: Vec<bool> = Vec::new();
    for (pass, excluded) in [
        content::PASS_STRICT,
        content::PASS_LENIENT,
        content::PASS_ALL,
    ]
    .into_iter()
    .enumerate()
    {
        if cancel.is_some_and(CancelFlag::is_cancelled) {
            return Err(TaskError::temporary(
                "extraction cancelled by the worker runtime (deadline passed or worker draining)",
            ));
        }
        let st = content::stats(&dom, &flags, excluded);
        let sel = content::select(&dom, &st);
        let mut out = render::TextOut::new(cfg.max_text_bytes);
        let skip = |i: usize| !st.visible[i] || sel.skip[i];
        render::render(&dom, &flags, &sel.roots, &skip, &mut out);
        let (t, cut) = out.finish();
        if pass == 0 {
            strict_visible = st.visible;
        }
        if t.chars().count() > text.chars().count() {
            text = t;
            truncated = cut;
        }
        if text.len() >= THIN {
            break;
        }
    }
    let mut losses = Vec::new();
    if truncated {
        losses.push(format!(
            "main content truncated to max_text_bytes ({} bytes)",
            cfg.max_text_bytes
        ));
    }

    let (tables, table_losses) = tables::tables(
        &dom,
        &flags,
        &|i| strict_visible.get(i).copied().unwrap_or(false),
        cfg.max_tables,
        cfg.max_table_cells,
    );
    losses.extend(table_losses);

    let language_code = meta.language.as_deref().and_then(meta::primary_language);
    Ok(Extracted {
        text,
        title: meta.title,
        description: meta.description,
        author: meta.author,
        published: meta.published,
        canonical_url: meta.canonical_url,
        language: meta.language,
        language_code,
        site_name: meta.site_name,
        headings: meta.headings,
        links: meta.links,
        links_count: meta.links_count,
        tables,
        charset: decoded.encoding.name(),
        charset_source: decoded.source,
        nodes: dom.len(),
        warnings,
        losses,
    })
}
