//! What a format module produces, and the bounded builders it uses.

use daa_shared::model::Table;
use serde_json::{Map, Value};

/// The result of one format module, before it becomes a `StageOutput`.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    /// The document's text.
    pub(crate) text: String,
    /// Tables (only filled when tables are wanted).
    pub(crate) tables: Vec<Table>,
    /// Format-specific metadata.
    pub(crate) metadata: Map<String, Value>,
    /// Non-fatal problems.
    pub(crate) warnings: Vec<String>,
    /// What a limit cut off (text past `max_text_bytes`, rows and cells past the table
    /// limits): makes the job partial (see `StageOutput::losses`).
    pub(crate) losses: Vec<String>,
}

/// Text capped at a number of bytes: once full, further input is dropped and the
/// truncation is remembered.
#[derive(Debug)]
pub(crate) struct TextSink {
    text: String,
    max: usize,
    truncated: bool,
    has_lines: bool,
}

impl TextSink {
    /// An empty sink holding at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            max,
            truncated: false,
            has_lines: false,
        }
    }

    /// Whether nothing more fits.
    pub(crate) fn is_full(&self) -> bool {
        self.truncated
    }

    /// Append `s`, cut at a character boundary if it does not fit.
    pub(crate) fn push(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let room = self.max - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&s[..cut]);
            self.truncated = true;
        }
    }

    /// Append `line` as a line of its own (lines are separated by `\n`).
    pub(crate) fn line(&mut self, line: &str) {
        if self.has_lines {
            self.push("\n");
        }
        self.has_lines = true;
        self.push(line);
    }

    /// The text, and a loss when it was truncated.
    pub(crate) fn finish(self, losses: &mut Vec<String>) -> String {
        if self.truncated {
            losses.push(format!(
                "text truncated to {} bytes (max_text_bytes)",
                self.max
            ));
        }
        self.text
    }
}

/// Most columns a table may have. Wider "tables" (objects or records with thousands of
/// distinct keys) are not tables, and would cost `rows x columns` mostly empty cells.
pub(crate) const MAX_COLUMNS: usize = 1024;

/// The table limits of one document: columns and rows per table, cells over all tables.
#[derive(Debug)]
pub(crate) struct TableBudget {
    max_rows: usize,
    max_cells: usize,
    cells: usize,
    rows_cut: Vec<String>,
    too_wide: Vec<(String, usize)>,
    cells_cut: bool,
}

impl TableBudget {
    /// A budget of `max_rows` per table and `max_cells` in all.
    pub(crate) fn new(max_rows: usize, max_cells: usize) -> Self {
        Self {
            max_rows,
            max_cells,
            cells: 0,
            rows_cut: Vec::new(),
            too_wide: Vec::new(),
            cells_cut: false,
        }
    }

    /// Whether no further cell fits.
    pub(crate) fn exhausted(&self) -> bool {
        self.cells_cut
    }

    /// Whether a table named `name` with `columns` columns may be made at all (at most
    /// [`MAX_COLUMNS`]); records why not when it may not.
    pub(crate) fn admit_width(&mut self, name: &str, columns: usize) -> bool {
        if columns > MAX_COLUMNS {
            self.too_wide.push((name.to_owned(), columns));
            return false;
        }
        true
    }

    /// Whether a row of `cells` cells may be added to `table` (named `name`), which
    /// already has `rows` rows; records why not when it may not.
    pub(crate) fn admit(&mut self, name: &str, rows: usize, cells: usize) -> bool {
        if self.cells_cut {
            return false;
        }
        if rows >= self.max_rows {
            if !self.rows_cut.iter().any(|n| n == name) {
                self.rows_cut.push(name.to_owned());
            }
            return false;
        }
        if self.cells + cells > self.max_cells {
            self.cells_cut = true;
            return false;
        }
        self.cells += cells;
        true
    }

    /// What did not fit: a structure too wide to be a table is a warning (its data are
    /// in the text); rows and cells cut from tables are losses.
    pub(crate) fn finish(self, warnings: &mut Vec<String>, losses: &mut Vec<String>) {
        for (name, columns) in &self.too_wide {
            warnings.push(format!(
                "no table made from {}: {columns} columns, more than {MAX_COLUMNS}",
                display_name(name)
            ));
        }
        for name in &self.rows_cut {
            losses.push(format!(
                "table {} has more than {} rows (max_rows); kept the first {}",
                display_name(name),
                self.max_rows,
                self.max_rows
            ));
        }
        if self.cells_cut {
            losses.push(format!(
                "tables have more than {} cells in all (max_cells); the rest was dropped",
                self.max_cells
            ));
        }
    }
}

fn display_name(name: &str) -> String {
    if name.is_empty() {
        "\"\" (the document root)".to_owned()
    } else {
        format!("{name:?}")
    }
}

/// Collapse every run of whitespace to one space and trim the ends.
pub(crate) fn normalize_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A decode warning, when decoding replaced malformed bytes.
pub(crate) fn decode_warning(decoded: &daa_shared::sniff::Decoded) -> Option<String> {
    decoded.had_errors.then(|| {
        format!(
            "the document is not valid {}: malformed byte sequences were replaced by U+FFFD",
            decoded.encoding
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sink_truncates_at_a_char_boundary() {
        let mut sink = TextSink::new(4);
        sink.line("ab");
        sink.push("cé€");
        assert!(sink.is_full());
        let mut w = Vec::new();
        let text = sink.finish(&mut w);
        assert_eq!(text, "abc");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("truncated"));
    }

    #[test]
    fn budget_caps_rows_and_cells() {
        let mut b = TableBudget::new(2, 5);
        assert!(b.admit("/a", 0, 2));
        assert!(b.admit("/a", 1, 2));
        assert!(!b.admit("/a", 2, 1));
        assert!(!b.admit("/b", 0, 2));
        assert!(b.exhausted());
        let (mut w, mut l) = (Vec::new(), Vec::new());
        b.finish(&mut w, &mut l);
        assert!(w.is_empty(), "{w:?}");
        let w = l;
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("\"/a\"") && w[0].contains("max_rows"));
        assert!(w[1].contains("max_cells"));
    }

    #[test]
    fn budget_refuses_too_wide_tables() {
        let mut b = TableBudget::new(10, 10);
        assert!(b.admit_width("/ok", MAX_COLUMNS));
        assert!(!b.admit_width("/wide", MAX_COLUMNS + 1));
        let (mut w, mut l) = (Vec::new(), Vec::new());
        b.finish(&mut w, &mut l);
        assert!(l.is_empty(), "{l:?}");
        assert_eq!(
            w,
            ["no table made from \"/wide\": 1025 columns, more than 1024"]
        );
    }

    #[test]
    fn whitespace_is_normalised() {
        assert_eq!(normalize_ws("  a \n\t b  "), "a b");
    }
}
