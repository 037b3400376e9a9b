//! Main content of typical modern layouts: the article stays, the chrome goes.

#![allow(clippy::unwrap_used)]

mod common;

use common::run_inline;
use daa_web::{WebAgent, WebConfig};

const NEWS: &str = r#"<!DOCTYPE html>
<html lang="en-US"><head>
<meta charset="utf-8">
<title>Rivers run backwards in tidal estuaries | The Daily Example</title>
<meta name="description" content="Why some rivers flow upstream twice a day.">
<meta name="author" content="Dana Writer">
<meta property="article:published_time" content="2024-03-05T08:00:00Z">
<meta property="og:site_name" content="The Daily Example">
<link rel="canonical" href="https://news.example/science/rivers-backwards">
</head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies?
  <button>Accept</button><a href="/privacy">Privacy policy</a></div>
<header class="site-header"><a href="/">The Daily Example</a>
  <nav><ul><li><a href="/world">World</a></li><li><a href="/science">Science</a></li><li><a href="/sport">Sport</a></li></ul></nav>
</header>
<div class="layout">
<main>
<article>
<header><h1>Rivers run backwards in tidal estuaries</h1><p class="byline">By Dana Writer, 5 March 2024</p></header>
<div class="share-bar"><a href="https://social.example/share">Share on Social</a> <a href="mailto:?">Email this</a></div>
<div class="article-body">
<p>Twice a day, in some of the world's largest estuaries, the river appears to run the wrong way. The incoming tide pushes sea water upstream, and for a few hours the current reverses.</p>
<p>The effect is strongest where the estuary narrows like a funnel, concentrating the energy of the tide into a steep wave, known as a tidal bore, that surfers travel from far away to ride.</p>
<figure><img src="bore.jpg" alt="A tidal bore"><figcaption>A tidal bore on a large estuary, seen from the bank.</figcaption></figure>
<p>Hydrologists measure the reversal with acoustic current profilers, which show the flow slowing, stopping and then turning inland within minutes of the bore's arrival.</p>
<div class="related-links"><h3>Related</h3><ul><li><a href="/a">Ten facts about tides</a></li><li><a href="/b">Surfing the bore</a></li></ul></div>
<p>Further upstream the effect fades, and beyond the tidal limit the river flows seaward all day long, as one would expect.</p>
</div>
</article>
<section class="comments"><h2>Comments</h2><p>Great article, I saw the bore last year and it was amazing to watch!</p></section>
</main>
<aside class="sidebar"><h2>Most read</h2><ol><li><a href="/x">Celebrity buys island</a></li><li><a href="/y">Markets fall again</a></li></ol>
<div class="newsletter">Sign up to our newsletter for the best stories, delivered daily.</div></aside>
</div>
<footer><p>Copyright 2024 The Daily Example. All rights reserved.</p><a href="/terms">Terms</a></footer>
<script>window.analytics = {track: function() {}};</script>
</body></html>"#;

#[test]
fn news_article_without_its_chrome() {
    let agent = WebAgent::new(WebConfig::default(), None).unwrap();
    let out = run_inline(&agent, NEWS.as_bytes()).unwrap();
    let text = out.text.as_deref().unwrap();
    for want in [
        "Rivers run backwards in tidal estuaries",
        "Twice a day, in some of the world's largest estuaries",
        "known as a tidal bore",
        "A tidal bore on a large estuary, seen from the bank.",
        "acoustic current profilers",
        "beyond the tidal limit the river flows seaward all day long",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    for unwanted in [
        "cookies",
        "World",
        "Share on Social",
        "Ten facts about tides",
        "Great article",
        "Most read",
        "newsletter",
        "Copyright",
        "analytics",
    ] {
        assert!(
            !text.contains(unwanted),
            "boilerplate {unwanted:?} in:\n{text}"
        );
    }
    // Paragraph breaks are kept.
    assert!(
        text.contains("the current reverses.\n\nThe effect is strongest"),
        "{text}"
    );
    let m = &out.metadata;
    assert_eq!(
        m["title"],
        "Rivers run backwards in tidal estuaries | The Daily Example"
    );
    assert_eq!(
        m["description"],
        "Why some rivers flow upstream twice a day."
    );
    assert_eq!(m["author"], "Dana Writer");
    assert_eq!(m["published"], "2024-03-05T08:00:00Z");
    assert_eq!(
        m["canonical_url"],
        "https://news.example/science/rivers-backwards"
    );
    assert_eq!(m["language"], "en-US");
    assert_eq!(m["site_name"], "The Daily Example");
    assert_eq!(out.language.as_deref(), Some("en"));
    let headings: Vec<&str> = m["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(headings[0], "Rivers run backwards in tidal estuaries");
    assert!(!headings.contains(&"Most read"));
    assert!(m["links_count"].as_u64().unwrap() >= 10);
}

#[test]
fn page_without_paragraphs_falls_back_to_the_body() {
    let agent = WebAgent::new(WebConfig::default(), None).unwrap();
    let out = run_inline(&agent, b"<div class=sidebar>Only sidebar text here</div>").unwrap();
    assert_eq!(out.text.as_deref(), Some("Only sidebar text here"));
    let out = run_inline(&agent, b"<title>t</title>").unwrap();
    assert_eq!(out.text.as_deref(), Some(""));
}
