//! CSV and other delimited tables.
//!
//! - Decoding: [`daa_shared::sniff::decode_text`]; malformed bytes are replaced (with a
//!   warning), never fatal.
//! - Delimiter: [`daa_shared::sniff::guess_delimiter`] (`,`, tab, `;` or `|`), `,` when
//!   it cannot tell. The `csv` crate reads with `flexible(true)`: rows may have any
//!   number of fields. Rows whose field count differs from the first row's are counted
//!   (`ragged_rows`, with a warning) and kept as they are (not padded: the table is what
//!   the file says). A quoted field that is never closed swallows the rest of the file,
//!   as in every CSV reader; it gets a warning naming the line it opened on.
//! - Limits: reading stops after [`Limits::max_rows`](crate::Limits::max_rows) rows
//!   (header included) or [`Limits::max_cells`](crate::Limits::max_cells) cells, with a
//!   warning.
//! - Table: one, holding every kept row, the first row first (whether or not it is a
//!   header); it has no `name`, being the whole document.
//! - Text: one line per row, cells separated by ` | ` (a newline inside a quoted cell
//!   becomes a space, so a row stays one line).
//! - Header heuristic (`has_header`): the first row has at least one non-empty cell, no
//!   numeric cell, no repeated non-empty cell, and at least one later row has a numeric
//!   cell. A table of only words thus reports `false`: there is no telling.
//! - Metadata: `rows` (data rows: kept rows minus the header when `has_header`),
//!   `columns` (fields in the first row), `delimiter` (`","`, `"\t"`...), `has_header`,
//!   `encoding`, `ragged_rows`.

use std::collections::HashSet;

use daa_shared::model::{Table, TaskError};
use serde_json::{json, Map};

use crate::output::{decode_warning, Extracted, TableBudget, TextSink};
use crate::Options;

/// Budget name of the CSV table (used in warnings).
const TABLE: &str = "csv";

/// How many rows are read between two cancellation checks.
const CANCEL_EVERY: usize = 1 << 14;

/// Extract a delimited table.
pub(crate) fn extract(bytes: &[u8], opts: &Options<'_>) -> Result<Extracted, TaskError> {
    let decoded = daa_shared::sniff::decode_text(bytes);
    let mut warnings = Vec::new();
    if let Some(w) = decode_warning(&decoded) {
        warnings.push(w);
    }
    let text = decoded.text.as_str();
    let delimiter = daa_shared::sniff::guess_delimiter(text).unwrap_or(b',');

    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut sink = TextSink::new(opts.limits.max_text_bytes);
    let mut budget = TableBudget::new(opts.limits.max_rows, opts.limits.max_cells);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut first: Option<Vec<String>> = None;
    let mut kept = 0usize;
    let mut ragged = 0usize;
    let mut later_numeric = false;
    let mut record = ::csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            TaskError::permanent(format!("CSV parse error at line {line}: {e}"))
        })?;
        if !more {
            break;
        }
        if kept.is_multiple_of(CANCEL_EVERY) {
            opts.check_cancel()?;
        }
        if !budget.admit(TABLE, kept, record.len()) {
            break;
        }
        kept += 1;
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if !sink.is_full() {
            let line: Vec<String> = cells.iter().map(|c| one_line(c)).collect();
            sink.line(&line.join(" | "));
        }
        match &first {
            None => first = Some(cells.clone()),
            Some(head) => {
                if cells.len() != head.len() {
                    ragged += 1;
                }
                later_numeric = later_numeric || cells.iter().any(|c| is_numeric(c));
            }
        }
        if opts.tables {
            rows.push(cells);
        }
    }

    let columns = first.as_ref().map_or(0, Vec::len);
    let has_header = first
        .as_deref()
        .is_some_and(|head| later_numeric && looks_like_header(head));
    if ragged > 0 {
        warnings.push(format!(
            "{ragged} row{} a different number of fields than the first row ({columns})",
            if ragged == 1 { " has" } else { "s have" }
        ));
    }
    if let Some(line) = unclosed_quote(text, delimiter) {
        warnings.push(format!(
            "a quoted field opened on line {line} is never closed: the rest of the file \
             was read into it"
        ));
    }
    let mut losses = Vec::new();
    budget.finish(&mut warnings, &mut losses);

    let mut metadata = Map::new();
    let data_rows = if has_header { kept - 1 } else { kept };
    metadata.insert("rows".into(), json!(data_rows));
    metadata.insert("columns".into(), json!(columns));
    metadata.insert("delimiter".into(), json!(char::from(delimiter).to_string()));
    metadata.insert("has_header".into(), json!(has_header));
    metadata.insert("encoding".into(), json!(decoded.encoding));
    metadata.insert("ragged_rows".into(), json!(ragged));

    let tables = if opts.tables && !rows.is_empty() {
        vec![Table {
            page: None,
            rows,
            name: None,
        }]
    } else {
        Vec::new()
    };
    Ok(Extracted {
        text: sink.finish(&mut losses),
        tables,
        metadata,
        warnings,
        losses,
    })
}

/// A cell on one line.
fn one_line(cell: &str) -> String {
    if cell.contains(['\n', '\r']) {
        cell.replace("\r\n", " ").replace(['\n', '\r'], " ")
    } else {
        cell.to_owned()
    }
}

/// Whether a cell holds a number (`12`, `-3.5`, `1e-3`; not `inf` or `NaN`).
fn is_numeric(cell: &str) -> bool {
    let t = cell.trim();
    t.bytes().any(|b| b.is_ascii_digit()) && t.parse::<f64>().is_ok()
}

/// Whether a first row looks like a header (see the module doc).
fn looks_like_header(head: &[String]) -> bool {
    let mut seen = HashSet::new();
    let mut named = false;
    for cell in head {
        let t = cell.trim();
        if t.is_empty() {
            continue;
        }
        if is_numeric(t) || !seen.insert(t) {
            return false;
        }
        named = true;
    }
    named
}

/// The line on which a quoted field opens that is never closed, if any (the quoting
/// rules of the `csv` crate: a quote opens a field only at the field's start).
fn unclosed_quote(text: &str, delimiter: u8) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut line = 1usize;
    let mut opened_on = 0usize;
    for b in text.bytes() {
        let newline = b == b'\n' || b == b'\r';
        state = match state {
            State::FieldStart if b == b'"' => {
                opened_on = line;
                State::Quoted
            }
            State::FieldStart | State::Unquoted | State::QuoteInQuoted
                if b == delimiter || newline =>
            {
                State::FieldStart
            }
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted => State::Unquoted,
        };
        if b == b'\n' {
            line += 1;
        }
    }
    (state == State::Quoted).then_some(opened_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use daa_worker::CancelFlag;

    fn run_with(bytes: &[u8], limits: &Limits, tables: bool) -> Extracted {
        let cancel = CancelFlag::default();
        let opts = Options {
            limits,
            tables,
            cancel: &cancel,
        };
        extract(bytes, &opts).unwrap()
    }

    fn run(bytes: &[u8]) -> Extracted {
        run_with(bytes, &Limits::default(), true)
    }

    #[test]
    fn reads_a_table_with_a_header() {
        let out = run(b"name,qty\n\"Smith, J\",3\nDoe,4\n");
        assert_eq!(
            out.tables[0].rows,
            vec![vec!["name", "qty"], vec!["Smith, J", "3"], vec!["Doe", "4"]]
        );
        assert_eq!(out.tables[0].name, None);
        assert_eq!(out.text, "name | qty\nSmith, J | 3\nDoe | 4");
        assert_eq!(out.metadata["has_header"], true);
        assert_eq!(out.metadata["rows"], 2);
        assert_eq!(out.metadata["columns"], 2);
        assert_eq!(out.metadata["delimiter"], ",");
        assert_eq!(out.metadata["ragged_rows"], 0);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn tab_delimiter_and_no_header() {
        let out = run(b"1\t2\t3\n4\t5\t6\n7\t8\t9\n");
        assert_eq!(out.metadata["delimiter"], "\t");
        assert_eq!(out.metadata["has_header"], false);
        assert_eq!(out.metadata["rows"], 3);
        assert_eq!(out.tables[0].rows[2], vec!["7", "8", "9"]);
    }

    #[test]
    fn header_heuristic() {
        let h =
            |v: &[&str]| looks_like_header(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(h(&["a", "b"]));
        assert!(h(&["", "a", "b"]));
        assert!(!h(&["a", "a"]));
        assert!(!h(&["a", "2"]));
        assert!(!h(&["", ""]));
        assert!(is_numeric(" -1.5e3 "));
        assert!(!is_numeric("inf"));
        assert!(!is_numeric("1993-08-16"));
        // Words only: no telling, so no header.
        let out = run(b"name,city\nAlice,Paris\nBob,Oslo\n");
        assert_eq!(out.metadata["has_header"], false);
    }

    #[test]
    fn max_rows_keeps_the_first_rows() {
        let limits = Limits {
            max_rows: 3,
            ..Limits::default()
        };
        let out = run_with(b"a,b\n1,2\n3,4\n5,6\n7,8\n", &limits, true);
        assert_eq!(out.tables[0].rows.len(), 3);
        assert_eq!(out.metadata["rows"], 2);
        assert_eq!(out.text, "a | b\n1 | 2\n3 | 4");
        assert_eq!(out.losses.len(), 1, "{:?}", out.losses);
        assert!(out.losses[0].contains("max_rows"));
    }

    #[test]
    fn tables_off_still_gives_text_and_metadata() {
        let out = run_with(b"a,b\n1,2\n", &Limits::default(), false);
        assert!(out.tables.is_empty());
        assert_eq!(out.text, "a | b\n1 | 2");
        assert_eq!(out.metadata["rows"], 1);
    }

    #[test]
    fn unclosed_quotes_are_found() {
        assert_eq!(unclosed_quote("a,b\n1,\"x\"\"y\"\n", b','), None);
        assert_eq!(unclosed_quote("a,5\" disk\n", b','), None);
        assert_eq!(unclosed_quote("a,b\n1,\"open\n2,3\n", b','), Some(2));
        let out = run(b"a,b\n1,\"line one\nline two\"\n");
        assert_eq!(out.text, "a | b\n1 | line one line two");
        assert!(out.warnings.is_empty());
    }
}
