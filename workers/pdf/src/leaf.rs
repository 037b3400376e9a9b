//! Telling a page-tree leaf from its raw bytes, without parsing it.
//!
//! A part of a split document walks the page tree up to its pages, and in a flat tree
//! (hundreds of page dictionaries under one node, as merging tools and many writers make
//! it) every page before and after the range must be looked at only to count it. Parsing
//! each of them with lopdf was a third of a part's lazy load. A node is a leaf when it
//! has no `/Kids` (see `pages::walk`), so the walk only needs to know that key's
//! absence: this module checks it on the bytes.
//!
//! The check is strict rather than clever: it accepts only a dictionary whose every token
//! is plain (names without `#` escapes, integers and decimals, references, literal
//! strings, `true`/`false`/`null`, nested arrays and dictionaries; no comments, no hex
//! strings) and well nested. Whatever it accepts, lopdf parses into a dictionary with the
//! same keys; anything else answers `None` and the caller parses the object as before. So
//! a leaf is counted here exactly when the parsing walk would count it.

/// How deep arrays and dictionaries may nest inside the checked dictionary.
const MAX_NESTING: usize = 32;

/// When `bytes` start (after white space) with a plainly written dictionary that has no
/// `/Kids` key, the offset just past its closing `>>`; `None` when it has one or when the
/// bytes are anything else (the caller then parses them).
pub(crate) fn dict_without_kids(bytes: &[u8]) -> Option<usize> {
    let mut s = Scan { b: bytes, i: 0 };
    s.ws();
    let mut kids = false;
    s.dict(0, &mut |key| kids |= key == b"Kids")?;
    (!kids).then_some(s.i)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

/// White space as every PDF parser reads it (NUL, which not all do, goes to the parser).
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c')
}

/// The longest run of digits taken as a number: an integer that fits in an `i64`, a
/// decimal of ordinary precision.
const MAX_DIGITS: usize = 18;

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    /// Whether a token ends at the current position.
    fn at_boundary(&self) -> bool {
        self.peek().is_none_or(|c| is_ws(c) || is_delimiter(c))
    }

    /// A dictionary at the current position; `key` sees its own keys (not nested ones).
    fn dict(&mut self, depth: usize, key: &mut dyn FnMut(&[u8])) -> Option<()> {
        if depth > MAX_NESTING || !self.b.get(self.i..)?.starts_with(b"<<") {
            return None;
        }
        self.i += 2;
        loop {
            self.ws();
            if self.b.get(self.i..)?.starts_with(b">>") {
                self.i += 2;
                return Some(());
            }
            let name = self.name()?;
            key(name);
            self.ws();
            self.value(depth)?;
        }
    }

    /// A name (the slash is at the current position), without the slash.
    fn name(&mut self) -> Option<&[u8]> {
        if self.peek()? != b'/' {
            return None;
        }
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if is_ws(c) || is_delimiter(c) {
                break;
            }
            // An escaped name could spell any key: leave it to the parser.
            if c == b'#' || !(b'!'..=b'~').contains(&c) {
                return None;
            }
            self.i += 1;
        }
        // An empty name is legal but unusual: leave it to the parser.
        (self.i > start).then(|| &self.b[start..self.i])
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'/' => self.name().map(|_| ()),
            b'<' => self.dict(depth + 1, &mut |_| {}),
            b'(' => self.literal_string(),
            b'[' => self.array(depth + 1),
            b'-' | b'0'..=b'9' => self.number_or_reference(),
            _ => self.keyword(),
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_NESTING {
            return None;
        }
        self.i += 1;
        loop {
            self.ws();
            if self.peek()? == b']' {
                self.i += 1;
                return Some(());
            }
            self.value(depth)?;
        }
    }

    /// A literal string: balanced parentheses, a backslash escapes the next byte.
    fn literal_string(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'\\' => self.i += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    /// Skips a run of digits and says how long it was (0 when too long to be a plain
    /// number, so that the caller refuses it).
    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        match self.i - start {
            n if n > MAX_DIGITS => 0,
            n => n,
        }
    }

    /// `-12`, `3.25`, or a reference `12 0 R`.
    fn number_or_reference(&mut self) -> Option<()> {
        let negative = self.peek()? == b'-';
        if negative {
            self.i += 1;
        }
        if self.digits() == 0 {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
            return self.at_boundary().then_some(());
        }
        if !self.at_boundary() {
            return None;
        }
        if negative {
            return Some(());
        }
        // An object number may be followed by a generation and `R`.
        let after_number = self.i;
        self.ws();
        if self.digits() > 0 && self.peek().is_some_and(is_ws) {
            self.ws();
            if self.peek() == Some(b'R') {
                self.i += 1;
                if self.at_boundary() {
                    return Some(());
                }
            }
        }
        self.i = after_number;
        Some(())
    }

    fn keyword(&mut self) -> Option<()> {
        for word in [b"true".as_slice(), b"false", b"null"] {
            if self.b.get(self.i..)?.starts_with(word) {
                self.i += word.len();
                return self.at_boundary().then_some(());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_page_dictionaries_are_leaves() {
        let page = b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792.5]\n\
            /Resources << /Font << /F1 7 0 R >> /ProcSet [/PDF /Text] >>\n\
            /Contents [8 0 R 9 0 R] /Rotate -90 /Group << /S /Transparency /I true >>\n\
            /Title (a (nested) string with \\) escapes) /Hidden null >> trailing";
        let end = dict_without_kids(page).expect("a leaf");
        assert_eq!(&page[end..], b" trailing");
        // Nested /Kids (not the page's own key) does not make a node.
        let nested = b"  << /Type /Page /Foo << /Kids [1 0 R] >> >>";
        assert_eq!(dict_without_kids(nested), Some(nested.len()));
    }

    #[test]
    fn nodes_and_anything_unusual_go_to_the_parser() {
        for bytes in [
            b"<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>".as_slice(),
            b"<< /Type /Page /K#69ds [4 0 R] >>", // an escaped /Kids
            b"<< /Type /Page /ID <0a1b> >>",      // hex string
            b"<< /Type /Page % comment\n >>",     // comment
            b"<< /Type /Page /Rotate +90 >>",     // unusual number
            b"<< /Type /Page /MediaBox [0 0 612 .5] >>",
            b"<< /Type /Page /MediaBox [0 0 612 792 >>", // unclosed array
            b"<< /Type /Page /Contents 5 0 >>",          // half a reference
            b"<< /Type /Page /Title (unclosed >>",
            b"<< /Type /Page /Odd >>", // a key without a value
            b"<< /Type /Page /Flag nil >>",
            b"<< /Type /Page / 1 >>", // an empty name
            b"<< /Type /Page /Count 1234567890123456789012 >>", // overflows an i64
            b"<< /Type\0/Page >>",    // NUL as white space
            b"[1 0 R]",
            b"null",
            b"",
        ] {
            assert_eq!(
                dict_without_kids(bytes),
                None,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let deep = format!("<< /A {}1{} >>", "[".repeat(40), "]".repeat(40));
        assert_eq!(dict_without_kids(deep.as_bytes()), None);
    }

    /// Generated dictionaries, from a deterministic generator so the cases repeat.
    struct Gen(crate::xorshift::XorShift);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0.next_u64()
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }

        /// A value, nested up to `depth` more levels.
        fn value(&mut self, depth: usize, out: &mut String) {
            let kind = self.next() % if depth == 0 { 4 } else { 6 };
            match kind {
                0 => out.push_str(self.pick(&["/Page", "/Name", "/A.b-c", "/F1"])),
                1 => out.push_str(self.pick(&["0", "-12", "3.25", "612", "7 0 R", "12 3 R"])),
                2 => out.push_str(self.pick(&["(text)", "(a (b) c)", "(x\\)y)", "()"])),
                3 => out.push_str(self.pick(&["true", "false", "null"])),
                4 => {
                    out.push('[');
                    for _ in 0..self.next() % 4 {
                        self.value(depth - 1, out);
                        out.push(' ');
                    }
                    out.push(']');
                }
                _ => self.dict(depth - 1, out),
            }
        }

        fn dict(&mut self, depth: usize, out: &mut String) {
            out.push_str("<<");
            for _ in 0..self.next() % 5 {
                out.push_str(self.pick(&["/Type", "/Kids", "/Count", "/Contents", "/X"]));
                out.push_str(self.pick(&[" ", "", "\n"]));
                self.value(depth, out);
                out.push(' ');
            }
            out.push_str(">>");
        }
    }

    /// The scan's promise on generated dictionaries, a third of them damaged by a
    /// changed byte: whatever it accepts, lopdf parses into a dictionary without `/Kids`
    /// (and many that it refuses do have `/Kids`, so both answers are exercised).
    #[test]
    fn generated_dictionaries_keep_the_promise() {
        let mut g = Gen(crate::xorshift::XorShift(0x9e37_79b9_7f4a_7c15));
        let (mut accepted, mut kids) = (0, 0);
        for case in 0..3000 {
            let mut text = String::new();
            g.dict(3, &mut text);
            let mut bytes = text.into_bytes();
            if case % 3 == 0 && !bytes.is_empty() {
                let at = (g.next() % bytes.len() as u64) as usize;
                bytes[at] = b"()<>[]/%# 0R.-"[(g.next() % 14) as usize];
            }
            let parsed = crate::rawfile::parse_value(&bytes);
            match dict_without_kids(&bytes) {
                Some(end) => {
                    accepted += 1;
                    let Some(lopdf::Object::Dictionary(d)) = parsed else {
                        panic!(
                            "accepted, lopdf: {parsed:?}: {}",
                            String::from_utf8_lossy(&bytes)
                        );
                    };
                    assert!(!d.has(b"Kids"), "{}", String::from_utf8_lossy(&bytes));
                    assert!(end <= bytes.len());
                }
                None => {
                    if let Some(lopdf::Object::Dictionary(d)) = parsed {
                        kids += usize::from(d.has(b"Kids"));
                    }
                }
            }
        }
        // Both sides were exercised.
        assert!(
            accepted > 300 && kids > 300,
            "{accepted} accepted, {kids} with /Kids"
        );
    }

    #[test]
    fn whatever_it_accepts_lopdf_parses_with_the_same_keys() {
        for bytes in [
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792.5] >>".as_slice(),
            b"<</Type/Page/Contents 5 0 R/Resources<</Font<</F1 7 0 R>>>>/Annots[]>>",
            b"<< /A 1 /B [1 2 3 0 R 4] /C (x\\)y) /D -3.5 /E false >>",
        ] {
            assert!(dict_without_kids(bytes).is_some());
            let parsed = crate::rawfile::parse_value(bytes).expect("lopdf parses it");
            let lopdf::Object::Dictionary(d) = parsed else {
                panic!("not a dictionary: {parsed:?}");
            };
            assert!(!d.has(b"Kids"));
            assert!(d.has(b"Type") || d.has(b"A"));
        }
    }
}
