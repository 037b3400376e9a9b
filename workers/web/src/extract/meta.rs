//! Page metadata: title, description, author, published date, canonical URL, language,
//! headings outline and links, from `<title>`, `<meta>` (name, property, itemprop,
//! http-equiv), `<link rel>`, `<html lang>`, JSON-LD and the HTTP headers.
//!
//! Values are kept as the page states them (dates are not reparsed); URLs are made
//! absolute against `<base href>` or the page's URL when there is one.

use reqwest::Url;
use serde::Serialize;

use super::classify::{CHROME, HIDDEN};
use super::dom::{Dom, Kind, Tag};

/// A heading of the page outline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// Its text.
    pub text: String,
}

/// A link of the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Target, absolute when the page's URL is known.
    pub url: String,
    /// Anchor text.
    pub text: String,
}

/// Everything but the text and tables.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) published: Option<String>,
    pub(crate) canonical_url: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) site_name: Option<String>,
    pub(crate) headings: Vec<Heading>,
    pub(crate) links: Vec<Link>,
    pub(crate) links_count: usize,
}

/// Longest metadata value kept, in bytes.
const MAX_VALUE: usize = 2_000;
/// Largest JSON-LD block parsed, in bytes.
const MAX_JSON_LD: usize = 1 << 20;
/// JSON values visited per JSON-LD block at most.
const MAX_JSON_VISITS: usize = 20_000;

fn clean(s: &str) -> Option<String> {
    let mut out = String::new();
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        if out.len() > MAX_VALUE {
            super::dom::truncate(&mut out, MAX_VALUE);
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// First value found for any of `keys` (lowercase), in order of `keys`.
fn pick(found: &[(String, String)], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        found
            .iter()
            .find(|(n, v)| n == k && !v.trim().is_empty())
            .and_then(|(_, v)| clean(v))
    })
}

pub(crate) fn extract(
    dom: &Dom<'_>,
    flags: &[u8],
    page_url: Option<&Url>,
    content_language: Option<&str>,
    max_links: usize,
    max_headings: usize,
) -> Meta {
    let mut m = Meta::default();
    // (key, value) of every <meta>: key is name / property / itemprop / http-equiv.
    let mut metas: Vec<(String, String)> = Vec::new();
    let mut canonical: Option<&str> = None;
    let mut base: Option<&str> = None;
    let mut html_lang: Option<&str> = None;
    let mut json_ld: Vec<usize> = Vec::new();
    let mut time_published: Option<String> = None;
    let mut hrefs: Vec<(usize, &str)> = Vec::new();

    for (i, node) in dom.nodes.iter().enumerate() {
        let Kind::Element(tag, _) = node.kind else {
            continue;
        };
        let flag = flags[i];
        match tag {
            Tag::Html if html_lang.is_none() => {
                html_lang = dom.attr(i, "lang").or_else(|| dom.attr(i, "xml:lang"));
            }
            Tag::Title if m.title.is_none() => m.title = clean(&dom.text_of(i, MAX_VALUE)),
            Tag::Meta => {
                let content = dom.attr(i, "content").unwrap_or_default();
                for k in ["name", "property", "itemprop", "http-equiv"] {
                    if let Some(n) = dom.attr(i, k) {
                        metas.push((n.trim().to_ascii_lowercase(), content.to_owned()));
                    }
                }
            }
            Tag::Link => {
                let rel = dom.attr(i, "rel").unwrap_or_default().to_ascii_lowercase();
                if rel.split_ascii_whitespace().any(|r| r == "canonical") && canonical.is_none() {
                    canonical = dom.attr(i, "href");
                }
            }
            Tag::Base if base.is_none() => base = dom.attr(i, "href"),
            Tag::Script => {
                let ld = dom
                    .attr(i, "type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"));
                if ld {
                    json_ld.push(i);
                }
            }
            Tag::Time if time_published.is_none() => {
                let marked = dom.attr(i, "pubdate").is_some()
                    || dom
                        .attr(i, "itemprop")
                        .is_some_and(|v| v.eq_ignore_ascii_case("datePublished"));
                if marked {
                    time_published = dom
                        .attr(i, "datetime")
                        .and_then(clean)
                        .or_else(|| clean(&dom.text_of(i, MAX_VALUE)));
                }
            }
            Tag::H(level) if flag & (HIDDEN | CHROME) == 0 && m.headings.len() < max_headings => {
                if let Some(text) = clean(&dom.text_of(i, MAX_VALUE)) {
                    m.headings.push(Heading { level, text });
                }
            }
            Tag::A if flag & HIDDEN == 0 => {
                if let Some(h) = dom.attr(i, "href") {
                    hrefs.push((i, h));
                }
            }
            _ => {}
        }
    }

    let base_url: Option<Url> = match (page_url, base) {
        (Some(p), Some(b)) => p.join(b.trim()).ok().or_else(|| Some(p.clone())),
        (None, Some(b)) => Url::parse(b.trim()).ok(),
        (Some(p), None) => Some(p.clone()),
        (None, None) => None,
    };
    let absolute = |href: &str| -> String {
        let href = href.trim();
        match &base_url {
            Some(b) => b
                .join(href)
                .map_or_else(|_| href.to_owned(), |u| u.to_string()),
            None => href.to_owned(),
        }
    };

    for (i, href) in hrefs {
        let lower = href.trim_start().to_ascii_lowercase();
        if lower.is_empty() || lower.starts_with("javascript:") || lower.starts_with('#') {
            continue;
        }
        m.links_count += 1;
        if m.links.len() < max_links {
            m.links.push(Link {
                url: absolute(href),
                text: clean(&dom.text_of(i, 500)).unwrap_or_default(),
            });
        }
    }

    let ld = json_ld_facts(dom, &json_ld);
    if m.title.is_none() {
        m.title = pick(&metas, &["og:title", "twitter:title"]).or(ld.headline.clone());
    }
    if m.title.is_none() {
        m.title = m
            .headings
            .iter()
            .find(|h| h.level == 1)
            .map(|h| h.text.clone());
    }
    m.description = pick(
        &metas,
        &[
            "description",
            "og:description",
            "twitter:description",
            "dc.description",
        ],
    )
    .or(ld.description);
    m.author = pick(
        &metas,
        &[
            "author",
            "article:author",
            "dc.creator",
            "dcterms.creator",
            "parsely-author",
            "sailthru.author",
            "byl",
        ],
    )
    .or(ld.author);
    m.published = pick(
        &metas,
        &[
            "article:published_time",
            "datepublished",
            "og:published_time",
            "date",
            "pubdate",
            "publishdate",
            "publish-date",
            "dc.date.issued",
            "dcterms.issued",
            "dc.date",
            "dcterms.date",
            "dcterms.created",
            "parsely-pub-date",
            "sailthru.date",
        ],
    )
    .or(ld.published)
    .or(time_published);
    m.canonical_url = canonical
        .map(absolute)
        .or_else(|| pick(&metas, &["og:url"]).map(|u| absolute(&u)));
    m.site_name = pick(&metas, &["og:site_name", "application-name"]);
    m.language = html_lang
        .and_then(clean)
        .or_else(|| {
            pick(&metas, &["content-language", "language", "dc.language"])
                .and_then(|v| v.split(',').next().and_then(clean))
        })
        .or_else(|| content_language.and_then(|v| v.split(',').next().and_then(clean)))
        .or(ld.language)
        .or_else(|| pick(&metas, &["og:locale"]).map(|l| l.replace('_', "-")));
    m
}

/// ISO 639 code from a language tag (`en-US` → `en`), when it looks like one.
pub(crate) fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    ((2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some(primary)
}

#[derive(Debug, Default)]
struct LdFacts {
    headline: Option<String>,
    description: Option<String>,
    author: Option<String>,
    published: Option<String>,
    language: Option<String>,
}

/// Facts from JSON-LD blocks (`schema.org` Article and friends), first found wins.
fn json_ld_facts(dom: &Dom<'_>, scripts: &[usize]) -> LdFacts {
    let mut f = LdFacts::default();
    for &s in scripts {
        let mut raw = String::new();
        for n in &dom.nodes[s + 1..dom.nodes[s].end] {
            if let Kind::Text(t) = n.kind {
                raw.push_str(t);
            }
            if raw.len() > MAX_JSON_LD {
                break;
            }
        }
        if raw.len() > MAX_JSON_LD {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&raw) else {
            continue;
        };
        let mut stack = vec![&v];
        let mut visits = 0;
        while let Some(v) = stack.pop() {
            visits += 1;
            if visits > MAX_JSON_VISITS {
                break;
            }
            match v {
                serde_json::Value::Array(a) => stack.extend(a.iter().rev()),
                serde_json::Value::Object(o) => {
                    let s = |k: &str| o.get(k).and_then(|x| x.as_str()).and_then(clean);
                    f.headline = f.headline.take().or_else(|| s("headline"));
                    f.description = f.description.take().or_else(|| s("description"));
                    f.published = f.published.take().or_else(|| s("datePublished"));
                    f.language = f.language.take().or_else(|| s("inLanguage"));
                    if f.author.is_none() {
                        f.author = match o.get("author") {
                            Some(serde_json::Value::String(a)) => clean(a),
                            Some(serde_json::Value::Object(a)) => {
                                a.get("name").and_then(|x| x.as_str()).and_then(clean)
                            }
                            Some(serde_json::Value::Array(list)) => {
                                let names: Vec<String> = list
                                    .iter()
                                    .filter_map(|a| match a {
                                        serde_json::Value::String(s) => clean(s),
                                        serde_json::Value::Object(o) => {
                                            o.get("name").and_then(|x| x.as_str()).and_then(clean)
                                        }
                                        _ => None,
                                    })
                                    .take(20)
                                    .collect();
                                (!names.is_empty()).then(|| names.join(", "))
                            }
                            _ => None,
                        };
                    }
                    if let Some(g) = o.get("@graph") {
                        stack.push(g);
                    }
                }
                _ => {}
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{classify, parse::parse};
    use std::time::Duration;

    #[test]
    fn metadata_from_meta_link_and_json_ld() {
        let html = r#"<!doctype html><html lang="en-GB"><head>
            <title> The  Title </title>
            <base href="/docs/">
            <meta name="description" content="A page about things.">
            <meta property="article:published_time" content="2024-05-01T10:00:00Z">
            <link rel="canonical" href="page.html">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"Article","author":[{"name":"Ann Author"},{"name":"Bob"}]}]}</script>
            </head><body><nav><h2>Menu</h2><a href="/">Home</a></nav>
            <h1>Big title</h1><h2>Part <em>one</em></h2>
            <a href="x.html">X</a><a href="javascript:void(0)">js</a><a href="https://other.example/y">Y</a>
            </body></html>"#;
        let h = parse(html, 100_000, Duration::from_secs(5), None).unwrap();
        let dom = Dom::new(&h);
        let flags = classify::flags(&dom);
        let url = Url::parse("https://example.com/a/b.html").unwrap();
        let m = extract(&dom, &flags, Some(&url), None, 10, 10);
        assert_eq!(m.title.as_deref(), Some("The Title"));
        assert_eq!(m.description.as_deref(), Some("A page about things."));
        assert_eq!(m.published.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(m.author.as_deref(), Some("Ann Author, Bob"));
        assert_eq!(
            m.canonical_url.as_deref(),
            Some("https://example.com/docs/page.html")
        );
        assert_eq!(m.language.as_deref(), Some("en-GB"));
        assert_eq!(primary_language("en-GB").as_deref(), Some("en"));
        assert_eq!(
            m.headings,
            vec![
                Heading {
                    level: 1,
                    text: "Big title".into()
                },
                Heading {
                    level: 2,
                    text: "Part one".into()
                }
            ]
        );
        assert_eq!(m.links_count, 3);
        assert_eq!(m.links[0].url, "https://example.com/");
        assert_eq!(m.links[1].url, "https://example.com/docs/x.html");
    }
}
