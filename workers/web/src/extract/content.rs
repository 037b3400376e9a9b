//! Main-content selection, readability-style.
//!
//! 1. Nodes flagged by [`super::classify`] are out (pass 1 also drops class/id
//!    boilerplate; if that leaves almost nothing, pass 2 keeps it).
//! 2. Every "paragraph" (a block element with no block descendants, at least 25
//!    characters) scores `1 + commas + min(chars / 100, 3)`, added to its parent, half to
//!    its grandparent and `1 / (3 * level)` further up (5 levels). Ancestors start from a
//!    tag score (div +5, lists −3, headings −5...) and a class weight (±25).
//! 3. The candidate with the best `score * (1 - link density)` wins. It then grows
//!    upwards while what its parent adds is content-like (little link text), so a page
//!    whose text is spread over many sections keeps all of them and the heading above
//!    an article body comes along. When growth stops, siblings that look like content
//!    (long, few links, or a score of at least a fifth of the winner's) are added.
//! 4. Inside the chosen nodes, link-dense lists and blocks (tables of contents, "see
//!    also" lists, tag clouds) are skipped when the text is rendered.

use super::classify::{self, CHROME, HIDDEN, IN_LINK, PATTERN};
use super::dom::{Dom, Kind, Tag, NONE};

/// Minimum characters for a block to count as a paragraph.
const MIN_PARAGRAPH: usize = 25;
/// Link density above which a list or block inside the content is skipped.
const DENSE_LINKS: f32 = 0.8;

/// Per-node text statistics over the visible part of the tree.
#[derive(Debug)]
pub(crate) struct Stats {
    /// Visible characters (whitespace runs count as one).
    pub(crate) chars: Vec<u32>,
    /// Of which inside links.
    pub(crate) link_chars: Vec<u32>,
    /// Commas.
    commas: Vec<u32>,
    /// Whether a visible block element is below.
    has_block: Vec<bool>,
    /// Text in paragraphs with few links.
    para_mass: Vec<u32>,
    /// Whether the node is visible in this pass.
    pub(crate) visible: Vec<bool>,
}

impl Stats {
    pub(crate) fn link_density(&self, i: usize) -> f32 {
        if self.chars[i] == 0 {
            0.0
        } else {
            self.link_chars[i] as f32 / self.chars[i] as f32
        }
    }
}

/// Count characters the way the text will read: whitespace runs count as one.
fn count_chars(t: &str) -> (u32, u32) {
    let mut n = 0u32;
    let mut commas = 0u32;
    let mut in_space = true;
    for c in t.chars() {
        if c.is_whitespace() {
            if !in_space {
                n += 1;
                in_space = true;
            }
        } else {
            in_space = false;
            n += 1;
            if matches!(c, ',' | '，' | '、' | '،') {
                commas += 1;
            }
        }
    }
    (n, commas)
}

pub(crate) fn stats(dom: &Dom<'_>, flags: &[u8], excluded: u8) -> Stats {
    let n = dom.len();
    let mut s = Stats {
        chars: vec![0; n],
        link_chars: vec![0; n],
        commas: vec![0; n],
        has_block: vec![false; n],
        para_mass: vec![0; n],
        visible: flags.iter().map(|f| f & excluded == 0).collect(),
    };
    for i in (0..n).rev() {
        if !s.visible[i] {
            continue;
        }
        match dom.nodes[i].kind {
            Kind::Text(t) => {
                let (c, commas) = count_chars(t);
                s.chars[i] = c;
                s.commas[i] = commas;
                if flags[i] & IN_LINK != 0 {
                    s.link_chars[i] = c;
                }
            }
            Kind::Element(tag, _) => {
                if is_paragraph(tag, s.has_block[i]) && s.chars[i] as usize >= MIN_PARAGRAPH {
                    let ld = s.link_density(i);
                    if ld < 0.5 {
                        s.para_mass[i] = s.para_mass[i].max(s.chars[i]);
                    }
                }
            }
            Kind::Other => {}
        }
        let p = dom.nodes[i].parent;
        if p != NONE {
            s.chars[p] += s.chars[i];
            s.link_chars[p] += s.link_chars[i];
            s.commas[p] += s.commas[i];
            s.para_mass[p] += s.para_mass[i];
            if let Some(t) = dom.tag(i) {
                if t.is_block() || s.has_block[i] {
                    s.has_block[p] = true;
                }
            }
        }
    }
    s
}

fn is_paragraph(tag: Tag, has_block: bool) -> bool {
    match tag {
        Tag::Pre => true,
        Tag::P
        | Tag::Td
        | Tag::Blockquote
        | Tag::Li
        | Tag::Dd
        | Tag::Dt
        | Tag::Div
        | Tag::Section
        | Tag::Article
        | Tag::Figcaption
        | Tag::Address
        | Tag::Summary => !has_block,
        _ => false,
    }
}

fn tag_score(tag: Tag) -> f32 {
    match tag {
        Tag::Div => 5.0,
        Tag::Article | Tag::Main => 8.0,
        Tag::Section => 3.0,
        Tag::Pre | Tag::Td | Tag::Blockquote => 3.0,
        Tag::Address | Tag::Ol | Tag::Ul | Tag::Dl | Tag::Dd | Tag::Dt | Tag::Li | Tag::Form => {
            -3.0
        }
        Tag::H(_) | Tag::Th => -5.0,
        _ => 0.0,
    }
}

/// The nodes holding the main content, in document order, and the set of nodes inside
/// them to skip (link-dense blocks).
#[derive(Debug)]
pub(crate) struct Selection {
    pub(crate) roots: Vec<usize>,
    pub(crate) skip: Vec<bool>,
}

pub(crate) fn select(dom: &Dom<'_>, st: &Stats) -> Selection {
    let n = dom.len();
    let body = dom.first(Tag::Body).unwrap_or(0);
    let mut score = vec![0f32; n];
    let mut scored = vec![false; n];
    let mut candidates: Vec<usize> = Vec::new();
    for i in 0..n {
        if !st.visible[i] {
            continue;
        }
        let Some(tag) = dom.tag(i) else { continue };
        if !is_paragraph(tag, st.has_block[i]) || (st.chars[i] as usize) < MIN_PARAGRAPH {
            continue;
        }
        let chars = st.chars[i] as f32;
        let s = 1.0 + st.commas[i] as f32 + (chars / 100.0).min(3.0);
        let mut a = dom.nodes[i].parent;
        let mut level = 0u32;
        while a != NONE && level < 5 {
            if dom.tag(a).is_none() || dom.tag(a) == Some(Tag::Html) {
                break;
            }
            if !scored[a] {
                scored[a] = true;
                score[a] =
                    tag_score(dom.tag(a).unwrap_or(Tag::Other)) + classify::class_weight(dom, a);
                candidates.push(a);
            }
            let div = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            score[a] += s / div;
            a = dom.nodes[a].parent;
            level += 1;
        }
    }
    let best = candidates
        .iter()
        .copied()
        .map(|c| (c, score[c] * (1.0 - st.link_density(c))))
        .fold(None::<(usize, f32)>, |acc, (c, s)| match acc {
            Some((_, bs)) if bs >= s => acc,
            _ => Some((c, s)),
        });
    let Some((top, top_score)) = best else {
        let mut skip = vec![false; n];
        mark_skips(dom, st, body, &mut skip);
        return Selection {
            roots: vec![body],
            skip,
        };
    };

    // Grow upwards while the parent adds content-like text.
    let mut cur = top;
    loop {
        let p = dom.nodes[cur].parent;
        if p == NONE || !st.visible[p] || dom.tag(p).is_none_or(|t| t == Tag::Html) {
            break;
        }
        let extra = st.chars[p].saturating_sub(st.chars[cur]) as f32;
        let extra_links = st.link_chars[p].saturating_sub(st.link_chars[cur]) as f32;
        let ld = if extra > 0.0 {
            extra_links / extra
        } else {
            0.0
        };
        let small = extra <= 0.25 * st.chars[cur] as f32;
        if extra == 0.0 || (small && ld <= 0.5) || ld <= 0.25 {
            cur = p;
            if dom.tag(cur) == Some(Tag::Body) {
                break;
            }
        } else {
            break;
        }
    }

    // Content-like siblings of where growth stopped.
    let mut roots = vec![cur];
    let p = dom.nodes[cur].parent;
    if p != NONE && dom.tag(cur) != Some(Tag::Body) {
        let threshold = (top_score * 0.2).max(10.0);
        roots = dom
            .children(p)
            .filter(|&c| {
                if c == cur {
                    return true;
                }
                if !st.visible[c] || dom.tag(c).is_none() {
                    return false;
                }
                let ld = st.link_density(c);
                let chars = st.chars[c];
                let scored_ok = scored[c] && score[c] * (1.0 - ld) >= threshold;
                scored_ok
                    || (chars >= 80 && ld < 0.25 && st.para_mass[c] > 0)
                    || (matches!(dom.tag(c), Some(Tag::H(_))) && ld < 0.5 && chars > 0)
            })
            .collect();
    }
    let mut skip = vec![false; n];
    for &r in &roots {
        mark_skips(dom, st, r, &mut skip);
    }
    Selection { roots, skip }
}

/// Link-dense lists and blocks under `root`.
fn mark_skips(dom: &Dom<'_>, st: &Stats, root: usize, skip: &mut [bool]) {
    let mut i = root + 1;
    while i < dom.nodes[root].end {
        let dense = matches!(
            dom.tag(i),
            Some(Tag::Ul | Tag::Ol | Tag::Dl | Tag::Div | Tag::Section | Tag::Menu)
        ) && st.chars[i] > 0
            && st.link_density(i) > DENSE_LINKS;
        if dense {
            skip[i] = true;
            i = dom.nodes[i].end;
        } else {
            i += 1;
        }
    }
}

/// Which flags exclude a node in each pass.
pub(crate) const PASS_STRICT: u8 = HIDDEN | CHROME | PATTERN;
pub(crate) const PASS_LENIENT: u8 = HIDDEN | CHROME;
pub(crate) const PASS_ALL: u8 = HIDDEN;
