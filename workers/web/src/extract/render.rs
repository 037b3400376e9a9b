//! Plain text of the selected content: blocks become paragraphs separated by a blank
//! line, list items and table rows become lines (`- item`, `cell | cell`), `<br>` a line
//! break, `<pre>` keeps its whitespace, everything else has its whitespace collapsed.
//! One linear pass over the pre-order range with a stack of open elements.

use super::classify::IN_PRE;
use super::dom::{Dom, Kind, Tag};

/// Text with lazily emitted breaks and collapsed whitespace.
#[derive(Debug, Default)]
pub(crate) struct TextOut {
    pub(crate) buf: String,
    /// 0 none, 1 line break, 2 paragraph break: emitted before the next text.
    pending: u8,
    space: bool,
    /// Inside a table cell: breaks become spaces.
    cell_depth: u32,
    max: usize,
    pub(crate) truncated: bool,
    /// A list bullet was just written: breaks until the item's first text are dropped.
    after_bullet: bool,
}

impl TextOut {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    fn brk(&mut self, level: u8) {
        if self.after_bullet {
            return;
        }
        if self.cell_depth > 0 {
            self.space = true;
        } else {
            self.pending = self.pending.max(level);
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            self.pending = 0;
            self.space = false;
            return;
        }
        if self.pending > 0 {
            while self.buf.ends_with(' ') {
                self.buf.pop();
            }
            let have = self.buf.len() - self.buf.trim_end_matches('\n').len();
            let want = self.pending as usize;
            for _ in have..want {
                self.buf.push('\n');
            }
            self.pending = 0;
            self.space = false;
        } else if self.space {
            if !self.buf.ends_with([' ', '\n']) {
                self.buf.push(' ');
            }
            self.space = false;
        }
    }

    fn text(&mut self, t: &str, pre: bool) {
        if self.truncated {
            return;
        }
        if pre {
            if t.is_empty() {
                return;
            }
            self.flush();
            self.after_bullet = false;
            for c in t.chars() {
                match c {
                    '\r' => {}
                    c => self.buf.push(c),
                }
            }
        } else {
            for (k, word) in t.split(char::is_whitespace).enumerate() {
                if k > 0 {
                    self.space = true;
                }
                if word.is_empty() {
                    continue;
                }
                self.flush();
                self.buf.push_str(word);
                self.space = false;
                self.after_bullet = false;
            }
        }
        if self.buf.len() > self.max {
            super::dom::truncate(&mut self.buf, self.max);
            self.truncated = true;
        }
    }

    /// Write a separator or bullet: pending whitespace before it is dropped.
    fn raw(&mut self, s: &str) {
        self.space = false;
        self.flush();
        self.buf.push_str(s);
    }

    /// `<br>`: a line break, at most one blank line in a row.
    fn line_break(&mut self) {
        if self.cell_depth > 0 {
            self.space = true;
            return;
        }
        self.space = false;
        self.flush();
        if !self.buf.is_empty() && !self.buf.ends_with("\n\n") {
            self.buf.push('\n');
        }
    }

    pub(crate) fn finish(mut self) -> (String, bool) {
        while self.buf.ends_with(char::is_whitespace) {
            self.buf.pop();
        }
        (self.buf, self.truncated)
    }
}

/// Per open element, what to do when it closes.
#[derive(Debug, Clone, Copy)]
struct Open {
    node: usize,
    tag: Tag,
}

/// Render the subtrees `roots` (skipping nodes for which `skip` says so) into `out`.
pub(crate) fn render(
    dom: &Dom<'_>,
    flags: &[u8],
    roots: &[usize],
    skip: &dyn Fn(usize) -> bool,
    out: &mut TextOut,
) {
    // Cells already written in each open table row.
    let mut row_cells: Vec<u32> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for &root in roots {
        out.brk(2);
        let end = dom.nodes[root].end;
        let mut i = root;
        while i < end {
            close_until(dom, i, &mut open, &mut row_cells, out);
            if out.truncated {
                return;
            }
            if skip(i) {
                i = dom.nodes[i].end;
                continue;
            }
            match dom.nodes[i].kind {
                Kind::Text(t) => out.text(t, flags[i] & IN_PRE != 0),
                Kind::Element(tag, _) => {
                    enter(tag, out, &mut row_cells);
                    open.push(Open { node: i, tag });
                }
                Kind::Other => {}
            }
            i += 1;
        }
        close_until(dom, usize::MAX, &mut open, &mut row_cells, out);
    }
}

fn close_until(
    dom: &Dom<'_>,
    i: usize,
    open: &mut Vec<Open>,
    row_cells: &mut Vec<u32>,
    out: &mut TextOut,
) {
    while let Some(o) = open.last().copied() {
        if i < dom.nodes[o.node].end {
            break;
        }
        open.pop();
        leave(o.tag, out, row_cells);
    }
}

fn enter(tag: Tag, out: &mut TextOut, row_cells: &mut Vec<u32>) {
    match tag {
        Tag::Br => out.line_break(),
        Tag::Li => {
            out.brk(1);
            if out.cell_depth == 0 {
                out.raw("- ");
                out.after_bullet = true;
            }
        }
        Tag::Dt | Tag::Dd | Tag::Caption | Tag::Thead | Tag::Tbody | Tag::Tfoot => out.brk(1),
        Tag::Tr => {
            out.brk(1);
            row_cells.push(0);
        }
        Tag::Td | Tag::Th => {
            if let Some(n) = row_cells.last_mut() {
                if *n > 0 {
                    out.raw(" | ");
                }
                *n += 1;
            }
            out.cell_depth += 1;
        }
        Tag::Table => {
            if out.cell_depth > 0 {
                out.space = true;
            } else {
                out.brk(2);
            }
        }
        t if t.is_block() => out.brk(2),
        _ => {}
    }
}

fn leave(tag: Tag, out: &mut TextOut, row_cells: &mut Vec<u32>) {
    match tag {
        Tag::Li => {
            out.after_bullet = false;
            out.brk(1);
        }
        Tag::Dt | Tag::Dd | Tag::Caption | Tag::Thead | Tag::Tbody | Tag::Tfoot => out.brk(1),
        Tag::Tr => {
            row_cells.pop();
            out.brk(1);
        }
        Tag::Td | Tag::Th => {
            out.cell_depth = out.cell_depth.saturating_sub(1);
        }
        Tag::Table => {
            if out.cell_depth > 0 {
                out.space = true;
            } else {
                out.brk(2);
            }
        }
        t if t.is_block() => out.brk(2),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{classify, dom::Dom, parse::parse};
    use std::time::Duration;

    fn text(html: &str) -> String {
        let h = parse(html, 1_000_000, Duration::from_secs(5), None).unwrap();
        let dom = Dom::new(&h);
        let flags = classify::flags(&dom);
        let body = dom.first(Tag::Body).unwrap();
        let mut out = TextOut::new(usize::MAX);
        render(
            &dom,
            &flags,
            &[body],
            &|i| flags[i] & classify::HIDDEN != 0,
            &mut out,
        );
        out.finish().0
    }

    #[test]
    fn layout() {
        assert_eq!(
            text("<p>One  <b>two</b>\nthree</p><p>Four<br>five</p>"),
            "One two three\n\nFour\nfive"
        );
        assert_eq!(
            text("<ul><li>a</li><li>b <i>c</i></li></ul><p>x</p>"),
            "- a\n- b c\n\nx"
        );
        assert_eq!(
            text("<table><tr><th>h1</th><th>h2</th></tr><tr><td><p>a</p><p>b</p></td><td>c</td></tr></table>"),
            "h1 | h2\na b | c"
        );
        assert_eq!(
            text("<p>before</p><pre>  code\n    indented</pre><p>after</p>"),
            "before\n\n  code\n    indented\n\nafter"
        );
        assert_eq!(text("<div>a<div>b</div>c</div>"), "a\n\nb\n\nc");
        assert_eq!(text("<p>x<script>var y;</script> z</p>"), "x z");
    }
}
