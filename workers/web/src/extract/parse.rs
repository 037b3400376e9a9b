//! HTML parsing with html5ever into scraper's arena tree, bounded in nodes and time.
//!
//! The HTML tree builder can be made to create far more nodes than the input has tags
//! (the "reconstruct the active formatting elements" step re-creates every unclosed
//! `<b>`, `<i>`... in each new paragraph: a few megabytes can ask for billions of
//! nodes), and some of its steps scan the whole stack of open elements (deep nesting
//! makes them quadratic). html5ever has no limits of its own, and its sink interface
//! cannot stop a parse, so the sink below counts the nodes it creates and watches the
//! clock and the cancel flag, and unwinds out of the parser with a private payload when
//! a limit is passed. The unwind is caught right here, the half-built tree is dropped,
//! and the document fails permanently with a clear message. A panic hook installed once
//! keeps these (expected) unwinds out of the logs; other panics are reported as before.
//!
//! This relies on unwinding: a binary built with `panic = "abort"` would abort instead.

use std::borrow::Cow;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use daa_worker::CancelFlag;
use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

/// Why a parse was abandoned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseLimit {
    /// More unclosed formatting elements than this (checked before parsing).
    Unclosed(usize),
    /// More than this many nodes.
    Nodes(usize),
    /// Longer than this.
    Time(Duration),
    /// The runtime gave up on the task.
    Cancelled,
}

/// The unwind payload.
struct Abort(ParseLimit);

/// Clock and cancel flag are looked at every this many nodes.
const CHECK_EVERY: usize = 64;

struct Bounded<'c> {
    inner: HtmlTreeSink,
    count: Cell<usize>,
    max_nodes: usize,
    started: Instant,
    max_time: Duration,
    cancel: Option<&'c CancelFlag>,
}

impl Bounded<'_> {
    fn charge(&self) {
        let n = self.count.get() + 1;
        self.count.set(n);
        if n > self.max_nodes {
            panic::panic_any(Abort(ParseLimit::Nodes(self.max_nodes)));
        }
        if n.is_multiple_of(CHECK_EVERY) {
            if self.started.elapsed() > self.max_time {
                panic::panic_any(Abort(ParseLimit::Time(self.max_time)));
            }
            if self.cancel.is_some_and(|c| c.is_cancelled()) {
                panic::panic_any(Abort(ParseLimit::Cancelled));
            }
        }
    }
}

impl TreeSink for Bounded<'_> {
    type Handle = <HtmlTreeSink as TreeSink>::Handle;
    type Output = Html;
    type ElemName<'a>
        = <HtmlTreeSink as TreeSink>::ElemName<'a>
    where
        Self: 'a;

    fn finish(self) -> Html {
        self.inner.finish()
    }
    fn parse_error(&self, _msg: Cow<'static, str>) {}
    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }
    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Self::Handle {
        self.charge();
        self.inner.create_element(name, attrs, flags)
    }
    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.charge();
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.charge();
        self.inner.create_pi(target, data)
    }
    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        if matches!(child, NodeOrText::AppendText(_)) {
            self.charge();
        }
        self.inner.append(parent, child)
    }
    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        if matches!(child, NodeOrText::AppendText(_)) {
            self.charge();
        }
        self.inner
            .append_based_on_parent_node(element, prev_element, child)
    }
    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.charge();
        self.inner
            .append_doctype_to_document(name, public_id, system_id)
    }
    fn mark_script_already_started(&self, node: &Self::Handle) {
        self.inner.mark_script_already_started(node)
    }
    fn pop(&self, node: &Self::Handle) {
        self.inner.pop(node)
    }
    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }
    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        if matches!(new_node, NodeOrText::AppendText(_)) {
            self.charge();
        }
        self.inner.append_before_sibling(sibling, new_node)
    }
    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }
    fn associate_with_form(
        &self,
        target: &Self::Handle,
        form: &Self::Handle,
        nodes: (&Self::Handle, Option<&Self::Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes)
    }
    fn remove_from_parent(&self, target: &Self::Handle) {
        self.inner.remove_from_parent(target)
    }
    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.inner.reparent_children(node, new_parent)
    }
    fn is_mathml_annotation_xml_integration_point(&self, handle: &Self::Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }
    fn allow_declarative_shadow_roots(&self, intended_parent: &Self::Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }
    fn attach_declarative_shadow(
        &self,
        location: &Self::Handle,
        template: &Self::Handle,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }
    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Self::Handle) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option)
    }
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Abort>().is_none() {
                previous(info);
            }
        }));
    });
}

/// Most formatting elements (`<b>`, `<a>`, `<font>`...) left open, counted before
/// parsing. html5ever keeps open ones in its list of active formatting elements, and
/// both adding to that list (the "Noah's Ark" duplicate scan) and re-creating it in every
/// paragraph cost time proportional to its length: tens of thousands make a quadratic
/// bomb. Real pages, even sloppy ones, leave a few hundred open at most.
pub(crate) const MAX_UNCLOSED_FORMATTING: usize = 4_000;

const FORMATTING: [&[u8]; 14] = [
    b"a", b"b", b"big", b"code", b"em", b"font", b"i", b"nobr", b"s", b"small", b"strike",
    b"strong", b"tt", b"u",
];

/// Start tags minus end tags of formatting elements (a cheap byte scan).
pub(crate) fn unclosed_formatting(text: &str) -> usize {
    let b = text.as_bytes();
    let mut open: i64 = 0;
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        i += p + 1;
        let (close, start) = match b.get(i) {
            Some(b'/') => (true, i + 1),
            _ => (false, i),
        };
        let mut end = start;
        while end < b.len() && end - start < 8 && b[end].is_ascii_alphabetic() {
            end += 1;
        }
        if end == start
            || !b
                .get(end)
                .is_some_and(|c| c.is_ascii_whitespace() || *c == b'>' || *c == b'/')
        {
            continue;
        }
        let name = &b[start..end];
        if FORMATTING.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            open += if close { -1 } else { 1 };
        }
    }
    open.max(0) as usize
}

/// Parse `text` as an HTML document within the limits.
pub(crate) fn parse(
    text: &str,
    max_nodes: usize,
    max_time: Duration,
    cancel: Option<&CancelFlag>,
) -> Result<Html, ParseLimit> {
    if unclosed_formatting(text) > MAX_UNCLOSED_FORMATTING {
        return Err(ParseLimit::Unclosed(MAX_UNCLOSED_FORMATTING));
    }
    install_quiet_hook();
    let sink = Bounded {
        inner: HtmlTreeSink::new(Html::new_document()),
        count: Cell::new(0),
        max_nodes,
        started: Instant::now(),
        max_time,
        cancel,
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        html5ever::parse_document(sink, Default::default()).one(StrTendril::from_slice(text))
    }));
    match result {
        Ok(html) => Ok(html),
        Err(payload) => match payload.downcast::<Abort>() {
            Ok(abort) => Err(abort.0),
            Err(other) => panic::resume_unwind(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts() {
        let html = parse("<p>a<b>b</b></p>", 100, Duration::from_secs(5), None).unwrap();
        assert!(html.tree.nodes().count() > 3);
    }

    #[test]
    fn formatting_bomb_is_stopped_by_the_node_limit() {
        // Every `<p>` re-creates all unclosed `<b>`s: n * m nodes from n + m tags.
        let mut s = String::from("<p>");
        for i in 0..3_000 {
            s.push_str(&format!("<b id={i}>"));
        }
        for _ in 0..5_000 {
            s.push_str("</p><p>x");
        }
        let started = Instant::now();
        let err = parse(&s, 200_000, Duration::from_secs(30), None).unwrap_err();
        assert_eq!(err, ParseLimit::Nodes(200_000));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn unclosed_formatting_is_counted() {
        assert_eq!(
            unclosed_formatting("<b>x</b><i>y<A href=z>w</a> <br> <bdo> <p>"),
            1
        );
        assert_eq!(unclosed_formatting("a < b and </i>"), 0);
        let many = "<b class=x>".repeat(MAX_UNCLOSED_FORMATTING + 1);
        assert_eq!(
            parse(&many, usize::MAX, Duration::from_secs(30), None).unwrap_err(),
            ParseLimit::Unclosed(MAX_UNCLOSED_FORMATTING)
        );
    }

    #[test]
    fn cancel_stops_the_parse() {
        let c = CancelFlag::default();
        c.cancel();
        let s = "<p>x</p>".repeat(1000);
        assert_eq!(
            parse(&s, usize::MAX, Duration::from_secs(30), Some(&c)).unwrap_err(),
            ParseLimit::Cancelled
        );
    }
}
