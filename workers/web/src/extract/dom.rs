//! A flat, pre-order view of the parsed tree: node `i`'s descendants are exactly
//! `i + 1 .. end(i)`, so every walk below is a loop over a range (or an explicit stack)
//! and no code recurses on document depth. Aggregates are computed bottom-up by walking
//! the indices backwards.

use ego_tree::iter::Edge as ego_tree_edge;
use scraper::node::Element;
use scraper::{Html, Node};

/// Tags the extractor treats specially; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Html,
    Head,
    Body,
    Title,
    Meta,
    Link,
    Base,
    Script,
    Style,
    Noscript,
    Template,
    Svg,
    Math,
    Iframe,
    Object,
    Embed,
    Canvas,
    Form,
    Input,
    Button,
    Select,
    Textarea,
    Option,
    Label,
    Nav,
    Footer,
    Header,
    Aside,
    Dialog,
    Menu,
    Main,
    Article,
    Section,
    Div,
    P,
    Pre,
    Code,
    Blockquote,
    Ul,
    Ol,
    Li,
    Dl,
    Dt,
    Dd,
    H(u8),
    Table,
    Caption,
    Thead,
    Tbody,
    Tfoot,
    Tr,
    Td,
    Th,
    A,
    Br,
    Hr,
    Img,
    Figure,
    Figcaption,
    Address,
    Details,
    Summary,
    Center,
    Fieldset,
    Time,
    Other,
}

impl Tag {
    fn from_name(name: &str) -> Tag {
        match name {
            "html" => Tag::Html,
            "head" => Tag::Head,
            "body" => Tag::Body,
            "title" => Tag::Title,
            "meta" => Tag::Meta,
            "link" => Tag::Link,
            "base" => Tag::Base,
            "script" => Tag::Script,
            "style" => Tag::Style,
            "noscript" => Tag::Noscript,
            "template" => Tag::Template,
            "svg" => Tag::Svg,
            "math" => Tag::Math,
            "iframe" => Tag::Iframe,
            "object" => Tag::Object,
            "embed" => Tag::Embed,
            "canvas" => Tag::Canvas,
            "form" => Tag::Form,
            "input" => Tag::Input,
            "button" => Tag::Button,
            "select" => Tag::Select,
            "textarea" => Tag::Textarea,
            "option" => Tag::Option,
            "label" => Tag::Label,
            "nav" => Tag::Nav,
            "footer" => Tag::Footer,
            "header" => Tag::Header,
            "aside" => Tag::Aside,
            "dialog" => Tag::Dialog,
            "menu" => Tag::Menu,
            "main" => Tag::Main,
            "article" => Tag::Article,
            "section" => Tag::Section,
            "div" => Tag::Div,
            "p" => Tag::P,
            "pre" | "listing" | "xmp" | "plaintext" => Tag::Pre,
            "code" | "kbd" | "samp" | "tt" => Tag::Code,
            "blockquote" => Tag::Blockquote,
            "ul" => Tag::Ul,
            "ol" => Tag::Ol,
            "li" => Tag::Li,
            "dl" => Tag::Dl,
            "dt" => Tag::Dt,
            "dd" => Tag::Dd,
            "h1" => Tag::H(1),
            "h2" => Tag::H(2),
            "h3" => Tag::H(3),
            "h4" => Tag::H(4),
            "h5" => Tag::H(5),
            "h6" => Tag::H(6),
            "table" => Tag::Table,
            "caption" => Tag::Caption,
            "thead" => Tag::Thead,
            "tbody" => Tag::Tbody,
            "tfoot" => Tag::Tfoot,
            "tr" => Tag::Tr,
            "td" => Tag::Td,
            "th" => Tag::Th,
            "a" => Tag::A,
            "br" => Tag::Br,
            "hr" => Tag::Hr,
            "img" => Tag::Img,
            "figure" => Tag::Figure,
            "figcaption" => Tag::Figcaption,
            "address" => Tag::Address,
            "details" => Tag::Details,
            "summary" => Tag::Summary,
            "center" => Tag::Center,
            "fieldset" => Tag::Fieldset,
            "time" => Tag::Time,
            _ => Tag::Other,
        }
    }

    /// Block-level for text layout: starts and ends a paragraph.
    pub(crate) fn is_block(self) -> bool {
        matches!(
            self,
            Tag::Html
                | Tag::Body
                | Tag::Main
                | Tag::Article
                | Tag::Section
                | Tag::Div
                | Tag::P
                | Tag::Pre
                | Tag::Blockquote
                | Tag::Ul
                | Tag::Ol
                | Tag::Li
                | Tag::Dl
                | Tag::Dt
                | Tag::Dd
                | Tag::H(_)
                | Tag::Table
                | Tag::Caption
                | Tag::Thead
                | Tag::Tbody
                | Tag::Tfoot
                | Tag::Tr
                | Tag::Td
                | Tag::Th
                | Tag::Hr
                | Tag::Figure
                | Tag::Figcaption
                | Tag::Address
                | Tag::Details
                | Tag::Summary
                | Tag::Center
                | Tag::Fieldset
                | Tag::Form
                | Tag::Nav
                | Tag::Footer
                | Tag::Header
                | Tag::Aside
                | Tag::Dialog
                | Tag::Menu
        )
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    Element(Tag, &'a Element),
    Text(&'a str),
    /// Document, doctype, comment, processing instruction.
    Other,
}

/// One node of the flat tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DNode<'a> {
    pub(crate) kind: Kind<'a>,
    /// Index of the parent (`usize::MAX` for the root).
    pub(crate) parent: usize,
    /// One past the last descendant.
    pub(crate) end: usize,
}

/// The flat tree.
#[derive(Debug)]
pub(crate) struct Dom<'a> {
    pub(crate) nodes: Vec<DNode<'a>>,
}

pub(crate) const NONE: usize = usize::MAX;

/// Nodes looked at by [`Dom::text_of`] at most.
pub(crate) const TEXT_SCAN: usize = 20_000;

impl<'a> Dom<'a> {
    pub(crate) fn new(html: &'a Html) -> Self {
        let mut nodes: Vec<DNode<'a>> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        for edge in html.tree.root().traverse() {
            match edge {
                ego_tree_edge::Open(n) => {
                    let kind = match n.value() {
                        Node::Element(e) => Kind::Element(Tag::from_name(e.name()), e),
                        Node::Text(t) => Kind::Text(&t.text),
                        _ => Kind::Other,
                    };
                    let parent = stack.last().copied().unwrap_or(NONE);
                    stack.push(nodes.len());
                    nodes.push(DNode {
                        kind,
                        parent,
                        end: 0,
                    });
                }
                ego_tree_edge::Close(_) => {
                    if let Some(i) = stack.pop() {
                        nodes[i].end = nodes.len();
                    }
                }
            }
        }
        Dom { nodes }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn tag(&self, i: usize) -> Option<Tag> {
        match self.nodes[i].kind {
            Kind::Element(t, _) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn element(&self, i: usize) -> Option<&'a Element> {
        match self.nodes[i].kind {
            Kind::Element(_, e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn attr(&self, i: usize, name: &str) -> Option<&'a str> {
        self.element(i).and_then(|e| {
            e.attrs()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Children of `i`, in order.
    pub(crate) fn children(&self, i: usize) -> Children<'_, 'a> {
        Children {
            dom: self,
            next: i + 1,
            end: self.nodes[i].end,
        }
    }

    /// The first element with tag `t` (pre-order).
    pub(crate) fn first(&self, t: Tag) -> Option<usize> {
        (0..self.len()).find(|&i| self.tag(i) == Some(t))
    }

    /// Whitespace-collapsed text of `i`'s subtree (no exclusions), at most `max` bytes,
    /// looking at no more than [`TEXT_SCAN`] nodes (headings nested in headings must not
    /// make the outline quadratic).
    pub(crate) fn text_of(&self, i: usize, max: usize) -> String {
        let mut out = String::new();
        let mut space = false;
        let end = self.nodes[i].end.min(i.saturating_add(TEXT_SCAN));
        for n in &self.nodes[i..end] {
            if let Kind::Text(t) = n.kind {
                for c in t.chars() {
                    if c.is_whitespace() {
                        space = true;
                    } else {
                        if space && !out.is_empty() {
                            out.push(' ');
                        }
                        space = false;
                        out.push(c);
                    }
                }
                if out.len() >= max {
                    break;
                }
            }
        }
        truncate(&mut out, max);
        out
    }
}

/// Cut `s` to at most `max` bytes at a character boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Iterator over the children of a node.
pub(crate) struct Children<'d, 'a> {
    dom: &'d Dom<'a>,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_, '_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next = self.dom.nodes[i].end;
        Some(i)
    }
}
