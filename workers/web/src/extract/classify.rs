//! What each node is, for content extraction: never text (scripts, hidden), page chrome
//! (navigation, footers, sidebars, dialogs, by tag or ARIA role), or boilerplate by its
//! `class`/`id` (cookie banners, share bars, related links...). Flags are inherited: a
//! node inside a footer is flagged `CHROME` too.

use super::dom::{Dom, Kind, Tag, NONE};

/// Never text: script, style, template, form controls, hidden elements, `<head>`.
pub(crate) const HIDDEN: u8 = 1;
/// Page chrome by tag or role: nav, footer, aside, dialog, header outside an article.
pub(crate) const CHROME: u8 = 2;
/// Boilerplate by class or id.
pub(crate) const PATTERN: u8 = 4;
/// Inside `<pre>` (whitespace is kept).
pub(crate) const IN_PRE: u8 = 8;
/// Inside a link with an `href`.
pub(crate) const IN_LINK: u8 = 16;
/// Inside a table cell.
pub(crate) const IN_CELL: u8 = 32;
/// Inside `<article>` or `<main>` (where `<header>` is content).
pub(crate) const IN_ARTICLE: u8 = 64;
/// Inside code (`<code>`, `<pre>`): class patterns do not apply.
pub(crate) const IN_CODE: u8 = 128;

/// Class/id words that mark boilerplate even next to a "content" word.
const STRONG: &[&str] = &[
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "popup",
    "modal",
    "newsletter",
    "share",
    "sharing",
    "social",
    "advert",
    "advertisement",
    "ads",
    "ad",
    "sponsor",
    "sponsored",
    "breadcrumb",
    "breadcrumbs",
    "skip",
    "skiplink",
    "promo",
    "overlay",
    "disqus",
    "outbrain",
    "taboola",
];
/// Class/id words that mark boilerplate unless a content word is there too.
const WEAK: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "navheader",
    "navfooter",
    "menu",
    "menubar",
    "footer",
    "header",
    "masthead",
    "sidebar",
    "related",
    "comment",
    "comments",
    "pagination",
    "pager",
    "widget",
    "toc",
    "rss",
    "shoutbox",
    "banner",
    "toolbar",
    "signup",
    "login",
    "legal",
    "copyright",
    "tagcloud",
    "subscribe",
    "sitemap",
];
/// Substrings of a class/id token that mark boilerplate (`sphinxsidebar`, `navheader`).
const WEAK_SUBSTR: &[&str] = &[
    "sidebar",
    "footer",
    "header",
    "navbar",
    "navigation",
    "breadcrumb",
    "cookie",
    "consent",
    "comment",
    "advert",
    "newsletter",
    "sponsor",
    "popup",
    "related",
];
/// Whole tokens that mean "not rendered".
const HIDDEN_TOKENS: &[&str] = &[
    "hidden",
    "sr-only",
    "visually-hidden",
    "screen-reader-text",
    "d-none",
    "invisible",
];
/// Content words: they rescue a weak match.
const CONTENT: &[&str] = &[
    "article", "body", "content", "main", "post", "entry", "story", "text", "blog", "hentry",
];
/// Words that lower a candidate's score.
const NEGATIVE: &[&str] = &[
    "hidden",
    "banner",
    "combx",
    "comment",
    "contact",
    "footer",
    "masthead",
    "media",
    "meta",
    "outbrain",
    "promo",
    "related",
    "scroll",
    "share",
    "shoutbox",
    "sidebar",
    "skyscraper",
    "sponsor",
    "shopping",
    "tags",
    "widget",
];
/// Words that raise a candidate's score.
const POSITIVE: &[&str] = &[
    "article", "body", "content", "entry", "hentry", "main", "page", "post", "text", "blog",
    "story", "chapter", "section", "document",
];

/// Class and id of element `i`, lowercased, split into tokens.
fn tokens(dom: &Dom<'_>, i: usize) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = dom.element(i) {
        for (k, v) in e.attrs() {
            if k == "class" || k == "id" {
                out.extend(
                    v.split_ascii_whitespace()
                        .take(32)
                        .map(|t| t.chars().take(64).collect::<String>().to_ascii_lowercase()),
                );
            }
        }
    }
    out
}

fn words(token: &str) -> impl Iterator<Item = &str> {
    token.split(['-', '_', ':', '.']).filter(|w| !w.is_empty())
}

/// Boilerplate by class/id (`Some(true)` = hidden-like, `Some(false)` = boilerplate).
fn pattern(tokens: &[String]) -> Option<bool> {
    if tokens.is_empty() {
        return None;
    }
    if tokens.iter().any(|t| HIDDEN_TOKENS.contains(&t.as_str())) {
        return Some(true);
    }
    let has = |set: &[&str]| tokens.iter().any(|t| words(t).any(|w| set.contains(&w)));
    if has(STRONG) {
        return Some(false);
    }
    let weak = has(WEAK)
        || tokens
            .iter()
            .any(|t| WEAK_SUBSTR.iter().any(|s| t.contains(s)));
    if weak && !has(CONTENT) {
        return Some(false);
    }
    None
}

/// Readability's class weight: +25 for content-like class/id, −25 for boilerplate-like.
pub(crate) fn class_weight(dom: &Dom<'_>, i: usize) -> f32 {
    let toks = tokens(dom, i);
    let has = |set: &[&str]| toks.iter().any(|t| words(t).any(|w| set.contains(&w)));
    let mut w = 0.0;
    if has(NEGATIVE) {
        w -= 25.0;
    }
    if has(POSITIVE) {
        w += 25.0;
    }
    w
}

fn style_hides(style: &str) -> bool {
    let s: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    s.contains("display:none") || s.contains("visibility:hidden")
}

const CHROME_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alertdialog",
    "tablist",
];

/// Flags of every node.
pub(crate) fn flags(dom: &Dom<'_>) -> Vec<u8> {
    let mut f = vec![0u8; dom.len()];
    for i in 0..dom.len() {
        let p = dom.nodes[i].parent;
        let inherited = if p == NONE { 0 } else { f[p] };
        let Kind::Element(tag, el) = dom.nodes[i].kind else {
            f[i] = inherited;
            continue;
        };
        let mut own = 0u8;
        match tag {
            Tag::Head
            | Tag::Script
            | Tag::Style
            | Tag::Noscript
            | Tag::Template
            | Tag::Svg
            | Tag::Math
            | Tag::Iframe
            | Tag::Object
            | Tag::Embed
            | Tag::Canvas
            | Tag::Input
            | Tag::Button
            | Tag::Select
            | Tag::Option
            | Tag::Textarea
            | Tag::Label => own |= HIDDEN,
            Tag::Nav | Tag::Footer | Tag::Aside | Tag::Dialog | Tag::Menu => own |= CHROME,
            Tag::Header if inherited & IN_ARTICLE == 0 => own |= CHROME,
            Tag::Article | Tag::Main => own |= IN_ARTICLE,
            Tag::Pre => own |= IN_PRE | IN_CODE,
            Tag::Code => own |= IN_CODE,
            Tag::Td | Tag::Th => own |= IN_CELL,
            _ => {}
        }
        let mut role_chrome = false;
        for (k, v) in el.attrs() {
            match k {
                "hidden" => own |= HIDDEN,
                "aria-hidden" if v.trim().eq_ignore_ascii_case("true") => own |= HIDDEN,
                "style" if style_hides(v) => own |= HIDDEN,
                "href" if tag == Tag::A => own |= IN_LINK,
                "role" => {
                    let r = v.trim().to_ascii_lowercase();
                    role_chrome = CHROME_ROLES.contains(&r.as_str());
                    if r == "main" || r == "article" {
                        own |= IN_ARTICLE;
                    }
                }
                "aria-modal" if v.trim().eq_ignore_ascii_case("true") => role_chrome = true,
                _ => {}
            }
        }
        if role_chrome {
            own |= CHROME;
        }
        let container = matches!(
            tag,
            Tag::Div
                | Tag::Section
                | Tag::Header
                | Tag::Footer
                | Tag::Aside
                | Tag::Nav
                | Tag::Ul
                | Tag::Ol
                | Tag::Dl
                | Tag::Table
                | Tag::Form
                | Tag::Other
                | Tag::Center
                | Tag::Figure
                | Tag::Details
        );
        if container
            && inherited & (IN_CODE | IN_CELL) == 0
            && !matches!(tag, Tag::Body | Tag::Html | Tag::Main | Tag::Article)
        {
            match pattern(&tokens(dom, i)) {
                Some(true) => own |= HIDDEN,
                Some(false) => own |= PATTERN,
                None => {}
            }
        }
        f[i] = inherited | own;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn patterns() {
        assert_eq!(pattern(&t(&["navheader"])), Some(false));
        assert_eq!(pattern(&t(&["sphinxsidebar"])), Some(false));
        assert_eq!(pattern(&t(&["cookie-banner"])), Some(false));
        assert_eq!(pattern(&t(&["cookie-content"])), Some(false));
        assert_eq!(pattern(&t(&["related"])), Some(false));
        assert_eq!(pattern(&t(&["sr-only"])), Some(true));
        assert_eq!(pattern(&t(&["post-header", "entry-content"])), None);
        assert_eq!(pattern(&t(&["section"])), None);
        assert_eq!(pattern(&t(&["bodywrapper"])), None);
        assert_eq!(pattern(&t(&["add-to-cart"])), None);
        assert_eq!(pattern(&t(&["para"])), None);
    }
}
