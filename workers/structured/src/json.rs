//! JSON.
//!
//! - Decoding: [`daa_shared::sniff::decode_text`] (a BOM selects UTF-8/UTF-16; invalid
//!   UTF-8 is replaced, with a warning, rather than refused).
//! - Nesting: before serde_json sees the text, one linear scan counts the nesting of
//!   arrays and objects (outside strings) and refuses a document deeper than
//!   [`Limits::max_depth`](crate::Limits::max_depth) with a permanent error naming the
//!   line and column. serde_json's own recursion limit is then lifted (feature
//!   `unbounded_depth`), so the configured limit is the one that applies. Parsing
//!   recurses once per level, so the limit is clamped to [`MAX_JSON_DEPTH`].
//! - Values are parsed into an order-preserving tree (the workspace's serde_json `Map`
//!   sorts keys), so text and table columns follow the document's key order.
//! - Text: one line per scalar, `path: value`, e.g. `3166-1[0].name: Aruba`. Keys are
//!   joined with `.`, array indices written `[i]`; a key that is empty or contains
//!   `.`, `[`, `]`, `:`, `"` or whitespace is written `["key"]`. Strings are written as
//!   they are, `null`/booleans/numbers as in JSON; an empty array or object is written
//!   `[]`/`{}`. A scalar document is just its value.
//! - Tables: every non-empty array whose elements are all objects, at any depth, in
//!   document order (outer before inner). Header = the union, in first-seen order, of
//!   the keys that hold a scalar in at least one of the objects; then one row per
//!   object: strings as they are, numbers and booleans as in JSON, `null` and missing
//!   keys as `""`, a nested value (where the key is a scalar elsewhere) as compact
//!   JSON. Keys that only ever hold arrays/objects are not columns: their arrays of
//!   objects are tables of their own, the rest is in the text. An array whose objects
//!   have no scalar key at all gives no table, nor does one with more than
//!   [`MAX_COLUMNS`](crate::output::MAX_COLUMNS) columns (with a warning). The table is
//!   named by the array's JSON pointer (RFC 6901, e.g. `/3166-1`, `/items/0/tags`; the
//!   root array is `""`).
//! - Metadata: `top_level_keys` (objects only, at most [`MAX_TOP_LEVEL_KEYS`]), `depth`
//!   (0 for a scalar, 1 for `[]`/`{}`...), `values` (scalars, nulls included), `arrays`,
//!   `objects`, `encoding`.

use std::collections::HashMap;
use std::fmt;

use daa_shared::model::{Table, TaskError};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Map, Number};

use crate::output::{decode_warning, Extracted, TableBudget, TextSink};
use crate::Options;

/// The deepest nesting ever accepted, whatever `max_depth` says: parsing recurses once
/// per level and must stay well inside a blocking thread's stack.
pub(crate) const MAX_JSON_DEPTH: usize = 1024;

/// Most keys listed in `top_level_keys`.
pub(crate) const MAX_TOP_LEVEL_KEYS: usize = 1000;

/// How many values are visited between two cancellation checks.
const CANCEL_EVERY: u64 = 1 << 16;

/// Extract a JSON document.
pub(crate) fn extract(bytes: &[u8], opts: &Options<'_>) -> Result<Extracted, TaskError> {
    let decoded = daa_shared::sniff::decode_text(bytes);
    let mut warnings = Vec::new();
    if let Some(w) = decode_warning(&decoded) {
        warnings.push(w);
    }
    let max_depth = opts.limits.max_depth.min(MAX_JSON_DEPTH);
    check_depth(&decoded.text, max_depth)?;
    let value = parse(&decoded.text)?;
    opts.check_cancel()?;

    let mut walker = Walker {
        opts,
        sink: TextSink::new(opts.limits.max_text_bytes),
        budget: TableBudget::new(opts.limits.max_rows, opts.limits.max_cells),
        tables: Vec::new(),
        path: String::new(),
        pointer: String::new(),
        depth: 0,
        values: 0,
        arrays: 0,
        objects: 0,
        visited: 0,
    };
    walker.walk(&value, 0)?;

    let mut metadata = Map::new();
    if let JVal::Obj(members) = &value {
        let keys: Vec<&str> = members
            .iter()
            .map(|(k, _)| k.as_str())
            .take(MAX_TOP_LEVEL_KEYS)
            .collect();
        metadata.insert("top_level_keys".into(), json!(keys));
    }
    metadata.insert("depth".into(), json!(walker.depth));
    metadata.insert("values".into(), json!(walker.values));
    metadata.insert("arrays".into(), json!(walker.arrays));
    metadata.insert("objects".into(), json!(walker.objects));
    metadata.insert("encoding".into(), json!(decoded.encoding));

    let Walker {
        sink,
        budget,
        tables,
        ..
    } = walker;
    let mut losses = Vec::new();
    let text = sink.finish(&mut losses);
    budget.finish(&mut warnings, &mut losses);
    Ok(Extracted {
        text,
        tables,
        metadata,
        warnings,
        losses,
    })
}

/// Refuse text whose arrays/objects nest deeper than `max_depth`, without parsing it.
fn check_depth(text: &str, max_depth: usize) -> Result<(), TaskError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, b) in text.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    let (line, column) = line_column(text, at);
                    return Err(TaskError::permanent(format!(
                        "JSON nesting deeper than {max_depth} levels (max_depth) \
                         at line {line}, column {column}"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn parse(text: &str) -> Result<JVal, TaskError> {
    let mut de = serde_json::Deserializer::from_str(text);
    // Nesting was bounded by `check_depth` already.
    de.disable_recursion_limit();
    let value = JVal::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(parse_error)?;
    Ok(value)
}

fn parse_error(e: serde_json::Error) -> TaskError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let reason = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.line() == 0 {
        TaskError::permanent(format!("JSON parse error: {reason}"))
    } else {
        TaskError::permanent(format!(
            "JSON parse error at line {}, column {}: {reason}",
            e.line(),
            e.column()
        ))
    }
}

/// A JSON value that keeps object members in document order (duplicates included).
#[derive(Debug, Clone, PartialEq)]
enum JVal {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

impl JVal {
    fn is_scalar(&self) -> bool {
        !matches!(self, JVal::Arr(_) | JVal::Obj(_))
    }

    /// Compact JSON.
    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            JVal::Null => out.push_str("null"),
            JVal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JVal::Num(n) => out.push_str(&n.to_string()),
            JVal::Str(s) => out.push_str(&quote(s)),
            JVal::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            JVal::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quote(k));
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// A string as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl<'de> Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JValVisitor)
    }
}

struct JValVisitor;

impl<'de> Visitor<'de> for JValVisitor {
    type Value = JVal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_none<E>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<JVal, E> {
        Ok(JVal::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<JVal, E> {
        Ok(JVal::Num(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<JVal, E> {
        Ok(JVal::Num(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<JVal, E> {
        Ok(Number::from_f64(v).map_or(JVal::Null, JVal::Num))
    }

    fn visit_str<E>(self, v: &str) -> Result<JVal, E> {
        Ok(JVal::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<JVal, E> {
        Ok(JVal::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(JVal::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, JVal>()? {
            members.push((k, v));
        }
        Ok(JVal::Obj(members))
    }
}

/// One pass over the tree: text lines, tables and counts.
struct Walker<'a, 'o> {
    opts: &'a Options<'o>,
    sink: TextSink,
    budget: TableBudget,
    tables: Vec<Table>,
    /// Readable path of the current value (`a.b[0]`).
    path: String,
    /// JSON pointer of the current value (`/a/b/0`).
    pointer: String,
    depth: usize,
    values: u64,
    arrays: u64,
    objects: u64,
    visited: u64,
}

impl Walker<'_, '_> {
    fn walk(&mut self, value: &JVal, depth: usize) -> Result<(), TaskError> {
        self.visited += 1;
        if self.visited.is_multiple_of(CANCEL_EVERY) {
            self.opts.check_cancel()?;
        }
        match value {
            JVal::Obj(members) => {
                self.objects += 1;
                self.depth = self.depth.max(depth + 1);
                if members.is_empty() {
                    self.scalar_line("{}");
                }
                for (key, child) in members {
                    let (path_len, pointer_len) = (self.path.len(), self.pointer.len());
                    push_key(&mut self.path, key);
                    self.pointer.push('/');
                    self.pointer
                        .push_str(&key.replace('~', "~0").replace('/', "~1"));
                    self.walk(child, depth + 1)?;
                    self.path.truncate(path_len);
                    self.pointer.truncate(pointer_len);
                }
            }
            JVal::Arr(items) => {
                self.arrays += 1;
                self.depth = self.depth.max(depth + 1);
                if items.is_empty() {
                    self.scalar_line("[]");
                }
                if self.opts.tables && !self.budget.exhausted() {
                    self.table(items);
                }
                for (i, child) in items.iter().enumerate() {
                    let (path_len, pointer_len) = (self.path.len(), self.pointer.len());
                    self.path.push_str(&format!("[{i}]"));
                    self.pointer.push_str(&format!("/{i}"));
                    self.walk(child, depth + 1)?;
                    self.path.truncate(path_len);
                    self.pointer.truncate(pointer_len);
                }
            }
            JVal::Null => self.scalar(value),
            JVal::Bool(_) | JVal::Num(_) | JVal::Str(_) => self.scalar(value),
        }
        Ok(())
    }

    fn scalar(&mut self, value: &JVal) {
        self.values += 1;
        if self.sink.is_full() {
            return;
        }
        match value {
            JVal::Str(s) => self.scalar_line(s),
            JVal::Null => self.scalar_line("null"),
            other => {
                let rendered = other.to_json();
                self.scalar_line(&rendered);
            }
        }
    }

    fn scalar_line(&mut self, rendered: &str) {
        if self.sink.is_full() {
            return;
        }
        if self.path.is_empty() {
            self.sink.line(rendered);
        } else {
            self.sink.line(&format!("{}: {rendered}", self.path));
        }
    }

    /// A table from an array of objects (anything else is not a table).
    fn table(&mut self, items: &[JVal]) {
        let objects: Vec<&[(String, JVal)]> = items
            .iter()
            .map_while(|item| match item {
                JVal::Obj(members) => Some(members.as_slice()),
                _ => None,
            })
            .collect();
        if objects.is_empty() || objects.len() != items.len() {
            return;
        }
        let mut header: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for members in &objects {
            for (key, value) in members.iter() {
                if value.is_scalar() && !index.contains_key(key.as_str()) {
                    index.insert(key, header.len());
                    header.push(key);
                }
            }
        }
        if header.is_empty() || !self.budget.admit_width(&self.pointer, header.len()) {
            return;
        }
        let name = self.pointer.clone();
        let mut rows = Vec::with_capacity(objects.len() + 1);
        if !self.budget.admit(&name, 0, header.len()) {
            return;
        }
        rows.push(header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
        for members in &objects {
            if !self.budget.admit(&name, rows.len(), header.len()) {
                break;
            }
            let mut row = vec![String::new(); header.len()];
            for (key, value) in members.iter() {
                if let Some(&col) = index.get(key.as_str()) {
                    row[col] = cell(value);
                }
            }
            rows.push(row);
        }
        self.tables.push(Table {
            page: None,
            rows,
            name: Some(name),
        });
    }
}

/// A value as a table cell.
fn cell(value: &JVal) -> String {
    match value {
        JVal::Null => String::new(),
        JVal::Str(s) => s.clone(),
        other => other.to_json(),
    }
}

/// Append `key` to a readable path.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']' | ':' | '"') || c.is_whitespace());
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&quote(key));
        path.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use daa_shared::model::FailureKind;
    use daa_worker::CancelFlag;

    fn run_with(bytes: &[u8], limits: &Limits, tables: bool) -> Result<Extracted, TaskError> {
        let cancel = CancelFlag::default();
        let opts = Options {
            limits,
            tables,
            cancel: &cancel,
        };
        extract(bytes, &opts)
    }

    fn run(bytes: &[u8]) -> Result<Extracted, TaskError> {
        run_with(bytes, &Limits::default(), true)
    }

    #[test]
    fn flattens_scalars_in_document_order() {
        let out =
            run(br#"{"z": 1, "a": {"b c": [true, null, "x"]}, "e": [], "k.k": "v"}"#).unwrap();
        assert_eq!(
            out.text,
            "z: 1\na[\"b c\"][0]: true\na[\"b c\"][1]: null\na[\"b c\"][2]: x\ne: []\n[\"k.k\"]: v"
        );
        assert_eq!(
            out.metadata["top_level_keys"],
            json!(["z", "a", "e", "k.k"])
        );
        assert_eq!(out.metadata["depth"], 3);
        assert_eq!(out.metadata["values"], 5);
        assert_eq!(out.metadata["arrays"], 2);
        assert_eq!(out.metadata["objects"], 2);
        assert_eq!(out.metadata["encoding"], "UTF-8");
        assert!(out.tables.is_empty());
    }

    #[test]
    fn scalar_document_is_its_value() {
        let out = run(b"  \"hello\" ").unwrap();
        assert_eq!(out.text, "hello");
        assert_eq!(out.metadata["depth"], 0);
        assert!(!out.metadata.contains_key("top_level_keys"));
    }

    #[test]
    fn nested_arrays_of_objects_become_named_tables() {
        let doc = br#"{"items": [
            {"id": 1, "name": "a", "tags": [{"t": "x"}, {"t": "y", "w": 2}]},
            {"id": 2, "extra": null, "name": {"first": "b"}}
        ]}"#;
        let out = run(doc).unwrap();
        let names: Vec<_> = out.tables.iter().map(|t| t.name.as_deref()).collect();
        assert_eq!(names, [Some("/items"), Some("/items/0/tags")]);
        let items = &out.tables[0];
        assert_eq!(items.page, None);
        assert_eq!(
            items.rows,
            vec![
                vec!["id", "name", "extra"],
                vec!["1", "a", ""],
                vec!["2", "{\"first\":\"b\"}", ""],
            ]
        );
        assert_eq!(
            out.tables[1].rows,
            vec![vec!["t", "w"], vec!["x", ""], vec!["y", "2"]]
        );
        assert!(out.text.contains("items[0].tags[1].w: 2"), "{}", out.text);
    }

    #[test]
    fn root_array_and_pointer_escaping() {
        let out = run(br#"[{"a/b": {"c~d": [{"x": 1}]}, "k": "v"}]"#).unwrap();
        let names: Vec<_> = out.tables.iter().map(|t| t.name.clone()).collect();
        assert_eq!(names, [Some(String::new()), Some("/0/a~1b/c~0d".into())]);
    }

    #[test]
    fn mixed_arrays_are_not_tables_and_tables_can_be_off() {
        let out = run(br#"{"m": [{"a": 1}, 2]}"#).unwrap();
        assert!(out.tables.is_empty());
        let out = run_with(br#"[{"a": 1}]"#, &Limits::default(), false).unwrap();
        assert!(out.tables.is_empty());
        assert_eq!(out.text, "[0].a: 1");
    }

    #[test]
    fn too_deep_is_refused_before_parsing() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(run_with(b"[[[1]]]", &limits, true).is_ok());
        let err = run_with(b"{\"a\": \"[[[[\",\n \"b\": [[[1]]]}", &limits, true).unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert_eq!(
            err.message,
            "JSON nesting deeper than 3 levels (max_depth) at line 2, column 9"
        );
    }

    #[test]
    fn default_depth_is_exact_and_lifts_serde_limit() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        let out = run(ok.as_bytes()).unwrap();
        assert_eq!(out.metadata["depth"], 128);
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let err = run(deep.as_bytes()).unwrap_err();
        assert!(
            err.message.contains("deeper than 128 levels"),
            "{}",
            err.message
        );
    }

    #[test]
    fn clamped_depth_fits_a_small_stack() {
        // The runtime's blocking threads have 2 MiB stacks; the deepest accepted
        // document must parse, walk and drop within that, even unoptimised.
        let doc = format!(
            "{}{{\"k\": [{{\"a\": 1}}]}}{}",
            "[".repeat(MAX_JSON_DEPTH - 3),
            "]".repeat(MAX_JSON_DEPTH - 3)
        );
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let limits = Limits {
                    max_depth: usize::MAX,
                    ..Limits::default()
                };
                run_with(doc.as_bytes(), &limits, true).map(|o| o.tables.len())
            })
            .unwrap();
        assert_eq!(handle.join().unwrap().unwrap(), 1);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = run(b"{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert_eq!(
            err.message,
            "JSON parse error at line 3, column 7: expected `:`"
        );
        let err = run(b"{\"a\": 1} x").unwrap_err();
        assert!(
            err.message.contains("trailing characters"),
            "{}",
            err.message
        );
        let err = run(b"[1, 2").unwrap_err();
        assert!(
            err.message.starts_with("JSON parse error at line 1"),
            "{}",
            err.message
        );
    }
}
