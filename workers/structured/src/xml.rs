//! XML.
//!
//! - Decoding: a BOM or valid UTF-8 goes through [`daa_shared::sniff::decode_text`];
//!   other bytes are decoded with the encoding named in the XML declaration when there
//!   is one, else with the `decode_text` guess. Malformed bytes are replaced, with a
//!   warning.
//! - Parsing: roxmltree, with DTDs allowed (documents with an internal DTD subset, such
//!   as freedesktop.org's MIME database, are common and harmless). External DTDs and
//!   entities are never fetched.
//! - Entity-expansion bombs: roxmltree bounds nesting (10 levels) and references per
//!   top-level reference (255), which stops the classic "billion laughs", but not
//!   amplification in general: an entity of a few kilobytes referenced 255 times by
//!   another, itself referenced at every one of millions of places, still expands to
//!   gigabytes. So before parsing, when the document declares entities, a linear
//!   pre-scan reads the entity declarations of the internal DTD subset exactly as
//!   roxmltree will (parameter entities included, since roxmltree resolves `&name;`
//!   against them too), computes what each expands to (recursively, nested references
//!   included, cycles and nesting deeper than roxmltree's 10 refused) and adds that up
//!   over every reference in the document body (comments, CDATA sections and
//!   processing instructions excepted). A total above
//!   [`Limits::max_entity_expansion`](crate::Limits::max_entity_expansion) is a
//!   permanent error naming the entity, before a single byte is expanded.
//! - Nesting deeper than [`Limits::max_depth`](crate::Limits::max_depth) elements is a
//!   permanent error (roxmltree parses iteratively; every walk here is iterative too).
//! - Text: the text nodes (CDATA included) in document order, whitespace-normalised.
//!   Elements are blocks (their text starts a new line) unless their parent has mixed
//!   content (non-blank text of its own beside child elements), in which case they
//!   flow inline: `<p>Hello <b>big</b> world</p>` is one line. Attribute values,
//!   comments and processing instructions are not text.
//! - Tables: wherever an element has at least two child elements of the same name, the
//!   path of those children (e.g. `/serviceproviders/country`) holds records, and every
//!   record-like element at that path, under any parent, is a row of one table named by
//!   the path (tables in the order their first row appears). An element is record-like
//!   when it yields at least one cell:
//!   - `@name` for each of its attributes;
//!   - `child` for each leaf child element (no element children), its normalised text,
//!     plus `child/@name` for the child's attributes (an empty leaf gives only those,
//!     if any: an empty cell says no more than a missing one);
//!   - `child/grandchild` (and `child/@name`, `child/grandchild/@name`) for a child that
//!     is a wrapper of leaves, such as xkb's `configItem`, unless the child's path is a
//!     table path itself (serviceproviders' `provider`): repeated structures are rows
//!     of their own table, not cells; deeper structure is likewise left to the tables
//!     at its own paths;
//!   - `#text` for its own text, when it is a leaf with attributes
//!     (`<comment xml:lang="de">Text</comment>`).
//!
//!   An element with mixed content is prose, not a record (nor a wrapper).
//!
//!   A child repeated in one record gives one cell, its values joined by `; `, except
//!   that translations (leaves with an `xml:lang` attribute beside a same-named leaf
//!   without one) are left out of the parent's row: they are rows of the child's own
//!   table. A leaf without attributes is not a record: a list of plain values is not a
//!   table. Header = the union of the columns in first-seen order; missing cells are
//!   `""`; a table of more than [`MAX_COLUMNS`](crate::output::MAX_COLUMNS) columns
//!   is not made (with a warning). Names carry their namespace prefix as written
//!   (`dc:title`, `@xml:lang`).
//! - Metadata: `root` (the root element's name), `elements` (count), `depth` (1 for a
//!   lone root), `namespaces` (the namespace URIs of the elements and attributes, in
//!   first-seen order, the `xml` namespace excepted), `encoding`.

use std::collections::{HashMap, HashSet};

use daa_shared::model::{Table, TaskError};
use roxmltree::{Document, Node, NodeId, ParsingOptions, NS_XML_URI};
use serde_json::{json, Map};

use crate::output::{normalize_ws, Extracted, TableBudget, TextSink};
use crate::Options;

/// How deep entity references may nest (roxmltree's own limit).
const MAX_ENTITY_NESTING: usize = 10;

/// How many nodes are visited between two cancellation checks.
const CANCEL_EVERY: usize = 1 << 16;

/// Extract an XML document.
pub(crate) fn extract(bytes: &[u8], opts: &Options<'_>) -> Result<Extracted, TaskError> {
    let (text, encoding, had_errors) = decode(bytes);
    let mut warnings = Vec::new();
    if had_errors {
        warnings.push(format!(
            "the document is not valid {encoding}: malformed byte sequences were replaced \
             by U+FFFD"
        ));
    }
    check_entities(&text, opts.limits.max_entity_expansion)?;
    let parse_opts = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&text, parse_opts).map_err(parse_error)?;
    opts.check_cancel()?;
    let root = doc.root_element();

    // Depth, element count, namespaces; refuse deep documents first.
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut elements = 0usize;
    let mut namespaces: Vec<&str> = Vec::new();
    let mut seen_namespaces: HashSet<&str> = HashSet::new();
    let mut visited = 0usize;
    traverse(root, |event| {
        visited += 1;
        if visited.is_multiple_of(CANCEL_EVERY) {
            opts.check_cancel()?;
        }
        match event {
            Event::Open(n) if n.is_element() => {
                depth += 1;
                elements += 1;
                if depth > opts.limits.max_depth {
                    let pos = doc.text_pos_at(n.range().start);
                    return Err(TaskError::permanent(format!(
                        "XML nesting deeper than {} levels (max_depth) at {pos}",
                        opts.limits.max_depth
                    )));
                }
                max_depth = max_depth.max(depth);
                let used = n
                    .tag_name()
                    .namespace()
                    .into_iter()
                    .chain(n.attributes().filter_map(|a| a.namespace()));
                for uri in used {
                    if uri != NS_XML_URI && seen_namespaces.insert(uri) {
                        namespaces.push(uri);
                    }
                }
            }
            Event::Close(n) if n.is_element() => depth -= 1,
            _ => {}
        }
        Ok(())
    })?;

    let mut sink = TextSink::new(opts.limits.max_text_bytes);
    extract_text(root, &mut sink, opts)?;
    let mut losses = Vec::new();
    let text_out = sink.finish(&mut losses);

    let tables = if opts.tables {
        let mut budget = TableBudget::new(opts.limits.max_rows, opts.limits.max_cells);
        let tables = extract_tables(root, &mut budget, opts)?;
        budget.finish(&mut warnings, &mut losses);
        tables
    } else {
        Vec::new()
    };

    let mut metadata = Map::new();
    metadata.insert("root".into(), json!(qname(root)));
    metadata.insert("elements".into(), json!(elements));
    metadata.insert("depth".into(), json!(max_depth));
    metadata.insert("namespaces".into(), json!(namespaces));
    metadata.insert("encoding".into(), json!(encoding));
    Ok(Extracted {
        text: text_out,
        tables,
        metadata,
        warnings,
        losses,
    })
}

/// Decode the bytes: BOM or valid UTF-8, else the declared encoding, else a guess.
fn decode(bytes: &[u8]) -> (String, &'static str, bool) {
    let bom = encoding_rs::Encoding::for_bom(bytes).is_some();
    if !bom && std::str::from_utf8(bytes).is_err() {
        if let Some(enc) = declared_encoding(bytes) {
            let (text, enc, had_errors) = enc.decode(bytes);
            return (text.into_owned(), enc.name(), had_errors);
        }
    }
    let d = daa_shared::sniff::decode_text(bytes);
    (d.text, d.encoding, d.had_errors)
}

/// The encoding named by the XML declaration (`<?xml ... encoding="..."?>`), if known.
fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = head.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = &head[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let rest = &decl[at + 8..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let label_end = rest[1..].iter().position(|&b| b == quote)?;
    encoding_rs::Encoding::for_label(&rest[1..1 + label_end])
}

/// A roxmltree error as a permanent task error, position first.
fn parse_error(e: roxmltree::Error) -> TaskError {
    let pos = e.pos();
    let message = e.to_string();
    let suffix = format!(" at {pos}");
    if let Some(i) = message.find(&suffix) {
        let reason = format!("{}{}", &message[..i], &message[i + suffix.len()..]);
        TaskError::permanent(format!("XML parse error at {pos}: {reason}"))
    } else {
        TaskError::permanent(format!("XML parse error: {message}"))
    }
}

// ---------------------------------------------------------------------------------
// Entity-expansion pre-scan.

/// Refuse documents whose entity references would expand to more than `limit` bytes.
fn check_entities(text: &str, limit: usize) -> Result<(), TaskError> {
    if !text.contains("<!ENTITY") {
        return Ok(());
    }
    let (entities, body_start) = declared_entities(text);
    if entities.is_empty() {
        return Ok(());
    }
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    let mut total = 0usize;
    let body = &text[body_start..];
    let mut i = 0;
    while let Some(off) = body[i..].find(['&', '<']) {
        let at = i + off;
        let rest = &body[at..];
        if rest.starts_with('<') {
            i = at + skip_markup(rest);
            continue;
        }
        i = at + 1;
        let Some(name) = reference_name(rest) else {
            continue;
        };
        if !entities.contains_key(name) {
            continue;
        }
        let size = expansion(name, &entities, &mut sizes, 0)?;
        total = total.saturating_add(size);
        if total > limit {
            return Err(TaskError::permanent(format!(
                "XML entity references would expand to more than {limit} bytes \
                 (max_entity_expansion); entity '{name}' alone expands to {size} bytes. \
                 Refusing a possible entity-expansion (\"billion laughs\") attack"
            )));
        }
    }
    Ok(())
}

/// How many bytes of `s` a markup construct at its start spans, when it is one whose
/// content is not expanded (comment, CDATA, processing instruction); else 1.
fn skip_markup(s: &str) -> usize {
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")] {
        if let Some(inner) = s.strip_prefix(open) {
            return inner
                .find(close)
                .map_or(s.len(), |e| open.len() + e + close.len());
        }
    }
    1
}

/// The name of a general entity reference `&name;` at the start of `s`.
fn reference_name(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('&')?;
    if rest.starts_with('#') {
        return None;
    }
    let end = rest.find(';')?;
    let name = &rest[..end];
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    ok.then_some(name)
}

/// Expanded size of entity `name`, memoised in `sizes`.
fn expansion<'t>(
    name: &'t str,
    entities: &HashMap<&'t str, &'t str>,
    sizes: &mut HashMap<&'t str, usize>,
    nesting: usize,
) -> Result<usize, TaskError> {
    if let Some(&size) = sizes.get(name) {
        return Ok(size);
    }
    if nesting >= MAX_ENTITY_NESTING {
        return Err(TaskError::permanent(format!(
            "XML entity references nest deeper than {MAX_ENTITY_NESTING} levels \
             (at entity '{name}'): an entity loop or an entity-expansion attack"
        )));
    }
    let Some(value) = entities.get(name) else {
        return Ok(0);
    };
    let mut size = 0usize;
    let mut rest: &'t str = value;
    while let Some(at) = rest.find('&') {
        size = size.saturating_add(at);
        let tail = &rest[at..];
        match reference_name(tail) {
            Some(inner) => {
                let inner_size = match inner {
                    "lt" | "gt" | "amp" | "apos" | "quot" => 1,
                    _ => expansion(inner, entities, sizes, nesting + 1)?,
                };
                size = size.saturating_add(inner_size);
                rest = &tail[1 + inner.len() + 1..];
            }
            None => {
                size = size.saturating_add(1);
                rest = &tail[1..];
            }
        }
    }
    size = size.saturating_add(rest.len());
    sizes.insert(name, size);
    Ok(size)
}

/// The entities declared with a literal value in the internal DTD subset, read the way
/// roxmltree reads them (the first declaration of a name wins), and where the document
/// body starts.
fn declared_entities(text: &str) -> (HashMap<&str, &str>, usize) {
    let mut entities = HashMap::new();
    let bytes = text.as_bytes();
    // The prolog: whitespace, the XML declaration, comments and processing
    // instructions, then perhaps the DOCTYPE (a "<!DOCTYPE" inside a comment is not one).
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = &text[i..];
        if rest.starts_with("<!--") || rest.starts_with("<?") {
            i += skip_markup(rest);
        } else if rest.starts_with("<!DOCTYPE") {
            i += "<!DOCTYPE".len();
            break;
        } else {
            return (entities, 0);
        }
    }
    // Up to the internal subset, or the end of a DOCTYPE without one.
    loop {
        match bytes.get(i) {
            None => return (entities, text.len()),
            Some(b'"' | b'\'') => i = skip_quoted(bytes, i),
            Some(b'>') => return (entities, i + 1),
            Some(b'[') => {
                i += 1;
                break;
            }
            Some(_) => i += 1,
        }
    }
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = &text[i..];
        if rest.is_empty() {
            return (entities, text.len());
        }
        if rest.starts_with(']') {
            let end = rest.find('>').map_or(text.len(), |e| i + e + 1);
            return (entities, end);
        }
        if rest.starts_with("<!--") || rest.starts_with("<?") {
            i += skip_markup(rest);
        } else if let Some(decl) = rest.strip_prefix("<!ENTITY") {
            // roxmltree keeps parameter entities in the same list as general ones and
            // resolves `&name;` against both (first declaration wins): so do we.
            let decl = decl.trim_start();
            let decl = decl.strip_prefix('%').map_or(decl, str::trim_start);
            if let Some((name, value)) = entity_decl(decl) {
                entities.entry(name).or_insert(value);
            }
            i = skip_decl(bytes, i);
        } else if ["<!ELEMENT", "<!ATTLIST", "<!NOTATION"]
            .iter()
            .any(|d| rest.starts_with(d))
        {
            // Skipped to the first `>`, quotes or not, exactly as roxmltree does, so
            // that both read the same declarations.
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
        } else {
            // roxmltree refuses anything else in the internal subset.
            return (entities, i);
        }
    }
}

/// Name and literal value of `name "value"` (an external entity gives `None`).
fn entity_decl(decl: &str) -> Option<(&str, &str)> {
    let name_end = decl.find(|c: char| c.is_whitespace())?;
    let name = &decl[..name_end];
    let rest = decl[name_end..].trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let value_end = rest[1..].find(quote)?;
    Some((name, &rest[1..1 + value_end]))
}

/// Index just past the quoted string starting at `i`.
fn skip_quoted(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    bytes[i + 1..]
        .iter()
        .position(|&b| b == quote)
        .map_or(bytes.len(), |e| i + 1 + e + 1)
}

/// Index just past the `>` ending the declaration starting at `i`.
fn skip_decl(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => i = skip_quoted(bytes, i),
            b'>' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

// ---------------------------------------------------------------------------------
// Tree walks.

/// Entering or leaving a node.
enum Event<'a, 'input> {
    Open(Node<'a, 'input>),
    Close(Node<'a, 'input>),
}

/// Visit the subtree of `top` in document order, without recursion.
fn traverse<'a, 'input>(
    top: Node<'a, 'input>,
    mut f: impl FnMut(Event<'a, 'input>) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    let mut node = top;
    f(Event::Open(node))?;
    loop {
        if let Some(child) = node.first_child() {
            node = child;
            f(Event::Open(node))?;
            continue;
        }
        loop {
            f(Event::Close(node))?;
            if node == top {
                return Ok(());
            }
            if let Some(next) = node.next_sibling() {
                node = next;
                f(Event::Open(node))?;
                break;
            }
            match node.parent() {
                Some(parent) => node = parent,
                None => return Ok(()),
            }
        }
    }
}

/// Name of an element as written (with its namespace prefix when it has one).
///
/// Read from the source text rather than by resolving the namespace URI back to a
/// prefix, which costs a scan of every namespace in scope per call.
fn qname(node: Node<'_, '_>) -> String {
    let local = node.tag_name().name();
    let start = node.range().start + 1;
    node.document()
        .input_text()
        .get(start..)
        .map(|rest| {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .and_then(|written| as_written(written, local))
        .unwrap_or(local)
        .to_owned()
}

/// Name of an attribute as written (with its namespace prefix when it has one).
fn attr_qname(node: Node<'_, '_>, attr: &roxmltree::Attribute<'_, '_>) -> String {
    let local = attr.name();
    node.document()
        .input_text()
        .get(attr.range_qname())
        .and_then(|written| as_written(written, local))
        .unwrap_or(local)
        .to_owned()
}

/// `written` when it is `local` or `prefix:local` (a sanity check on source ranges).
fn as_written<'s>(written: &'s str, local: &str) -> Option<&'s str> {
    let ok = written == local
        || written
            .strip_suffix(local)
            .is_some_and(|p| p.len() > 1 && p.ends_with(':'));
    ok.then_some(written)
}

fn has_element_children(node: Node<'_, '_>) -> bool {
    node.children().any(|c| c.is_element())
}

/// Whether an element has non-blank text of its own beside child elements.
fn is_mixed(node: Node<'_, '_>) -> bool {
    node.children()
        .any(|c| c.is_text() && c.text().is_some_and(|t| !t.trim().is_empty()))
}

/// The text of the subtree, blocks on lines of their own (see the module doc).
fn extract_text(
    root: Node<'_, '_>,
    sink: &mut TextSink,
    opts: &Options<'_>,
) -> Result<(), TaskError> {
    let mut line = String::new();
    let mut pending_space = false;
    let mut mixed: Vec<bool> = Vec::new();
    let mut visited = 0usize;
    let flush = |line: &mut String, pending_space: &mut bool, sink: &mut TextSink| {
        if !line.is_empty() {
            sink.line(line);
            line.clear();
        }
        *pending_space = false;
    };
    traverse(root, |event| {
        visited += 1;
        if visited.is_multiple_of(CANCEL_EVERY) {
            opts.check_cancel()?;
        }
        if sink.is_full() {
            return Ok(());
        }
        match event {
            Event::Open(n) if n.is_element() => {
                if !mixed.last().copied().unwrap_or(false) {
                    flush(&mut line, &mut pending_space, sink);
                }
                mixed.push(is_mixed(n));
            }
            Event::Close(n) if n.is_element() => {
                mixed.pop();
                if !mixed.last().copied().unwrap_or(false) {
                    flush(&mut line, &mut pending_space, sink);
                }
            }
            Event::Open(n) if n.is_text() => {
                let t = n.text().unwrap_or("");
                let mut words = t.split_whitespace().peekable();
                if words.peek().is_none() {
                    pending_space = pending_space || !t.is_empty();
                    return Ok(());
                }
                let mut first = true;
                for word in words {
                    let space = !first || pending_space || t.starts_with(char::is_whitespace);
                    if space && !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(word);
                    first = false;
                }
                pending_space = t.ends_with(char::is_whitespace);
            }
            _ => {}
        }
        Ok(())
    })?;
    flush(&mut line, &mut pending_space, sink);
    Ok(())
}

/// Rows of one table being collected: sparse cells by column index.
#[derive(Default)]
struct TableBuilder {
    columns: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Vec<(usize, String)>>,
}

impl TableBuilder {
    fn add(&mut self, cells: Vec<(String, String)>) {
        let mut row: Vec<(usize, String)> = Vec::with_capacity(cells.len());
        let mut at: HashMap<usize, usize> = HashMap::new();
        for (column, value) in cells {
            let col = match self.index.get(&column) {
                Some(&col) => col,
                None => {
                    let col = self.columns.len();
                    self.index.insert(column.clone(), col);
                    self.columns.push(column);
                    col
                }
            };
            match at.get(&col) {
                Some(&slot) => {
                    let existing = &mut row[slot].1;
                    existing.push_str("; ");
                    existing.push_str(&value);
                }
                None => {
                    at.insert(col, row.len());
                    row.push((col, value));
                }
            }
        }
        self.rows.push(row);
    }

    fn finish(self, name: String, budget: &mut TableBudget) -> Option<Table> {
        let width = self.columns.len();
        if !budget.admit_width(&name, width) || !budget.admit(&name, 0, width) {
            return None;
        }
        let mut rows = Vec::with_capacity(self.rows.len() + 1);
        rows.push(self.columns);
        for sparse in self.rows {
            if !budget.admit(&name, rows.len(), width) {
                break;
            }
            let mut row = vec![String::new(); width];
            for (col, value) in sparse {
                row[col] = value;
            }
            rows.push(row);
        }
        Some(Table {
            page: None,
            rows,
            name: Some(name),
        })
    }
}

/// Tables of repeated record-like elements (see the module doc).
fn extract_tables(
    root: Node<'_, '_>,
    budget: &mut TableBudget,
    opts: &Options<'_>,
) -> Result<Vec<Table>, TaskError> {
    // Intern element paths: (parent path, name) -> path id.
    let mut paths: Vec<String> = Vec::new();
    let mut path_ids: HashMap<(usize, String), usize> = HashMap::new();
    let mut repeated: Vec<bool> = Vec::new();
    let mut elements: Vec<(NodeId, usize)> = Vec::new();
    // Open elements: path id and, per child path, how many children it has there.
    let mut stack: Vec<(usize, HashMap<usize, usize>)> = Vec::new();
    let mut visited = 0usize;
    traverse(root, |event| {
        visited += 1;
        if visited.is_multiple_of(CANCEL_EVERY) {
            opts.check_cancel()?;
        }
        match event {
            Event::Open(n) if n.is_element() => {
                let parent = stack.last().map_or(usize::MAX, |(id, _)| *id);
                let name = qname(n);
                let id = match path_ids.get(&(parent, name.clone())) {
                    Some(&id) => id,
                    None => {
                        let id = paths.len();
                        let base = if parent == usize::MAX {
                            ""
                        } else {
                            paths[parent].as_str()
                        };
                        paths.push(format!("{base}/{name}"));
                        repeated.push(false);
                        path_ids.insert((parent, name), id);
                        id
                    }
                };
                if let Some((_, counts)) = stack.last_mut() {
                    let count = counts.entry(id).or_insert(0);
                    *count += 1;
                    if *count >= 2 {
                        repeated[id] = true;
                    }
                }
                elements.push((n.id(), id));
                stack.push((id, HashMap::new()));
            }
            Event::Close(n) if n.is_element() => {
                stack.pop();
            }
            _ => {}
        }
        Ok(())
    })?;

    let doc = root.document();
    let mut builders: HashMap<usize, TableBuilder> = HashMap::new();
    let mut order: Vec<usize> = Vec::new();
    for (i, (node_id, path)) in elements.into_iter().enumerate() {
        if i.is_multiple_of(CANCEL_EVERY) {
            opts.check_cancel()?;
        }
        if !repeated[path] {
            continue;
        }
        let Some(node) = doc.get_node(node_id) else {
            continue;
        };
        let own_table = |child: Node<'_, '_>| {
            path_ids
                .get(&(path, qname(child)))
                .is_some_and(|&id| repeated[id])
        };
        let Some(cells) = record_cells(node, own_table) else {
            continue;
        };
        builders
            .entry(path)
            .or_insert_with(|| {
                order.push(path);
                TableBuilder::default()
            })
            .add(cells);
    }
    let mut tables = Vec::new();
    for path in order {
        if budget.exhausted() {
            break;
        }
        if let Some(builder) = builders.remove(&path) {
            if let Some(table) = builder.finish(paths[path].clone(), budget) {
                tables.push(table);
            }
        }
    }
    Ok(tables)
}

/// The cells of a record-like element, or `None` when it is not one.
/// `own_table` tells whether a child element's path is a table path of its own.
fn record_cells(
    node: Node<'_, '_>,
    own_table: impl Fn(Node<'_, '_>) -> bool,
) -> Option<Vec<(String, String)>> {
    let mut cells: Vec<(String, String)> = node
        .attributes()
        .map(|a| (format!("@{}", attr_qname(node, &a)), a.value().to_owned()))
        .collect();
    if !has_element_children(node) {
        if cells.is_empty() {
            return None;
        }
        let text = leaf_text(node);
        if !text.is_empty() {
            cells.push(("#text".to_owned(), text));
        }
        return Some(cells);
    }
    if is_mixed(node) {
        // Prose (`<p>Some <b>bold</b> text</p>`), not a record.
        return None;
    }
    let untranslated = untranslated_leaves(node);
    for child in node.children().filter(Node::is_element) {
        if is_translation(child, &untranslated) {
            continue;
        }
        let name = qname(child);
        if !has_element_children(child) {
            leaf_cells(&name, child, &mut cells);
            continue;
        }
        if is_mixed(child) || own_table(child) {
            continue;
        }
        for a in child.attributes() {
            cells.push((
                format!("{name}/@{}", attr_qname(child, &a)),
                a.value().to_owned(),
            ));
        }
        let untranslated = untranslated_leaves(child);
        for grandchild in child.children().filter(Node::is_element) {
            if has_element_children(grandchild) || is_translation(grandchild, &untranslated) {
                continue;
            }
            leaf_cells(
                &format!("{name}/{}", qname(grandchild)),
                grandchild,
                &mut cells,
            );
        }
    }
    (!cells.is_empty()).then_some(cells)
}

/// Cells of a leaf element under column `column`.
fn leaf_cells(column: &str, leaf: Node<'_, '_>, cells: &mut Vec<(String, String)>) {
    let text = leaf_text(leaf);
    if !text.is_empty() {
        cells.push((column.to_owned(), text));
    }
    for a in leaf.attributes() {
        cells.push((
            format!("{column}/@{}", attr_qname(leaf, &a)),
            a.value().to_owned(),
        ));
    }
}

/// The normalised text of a leaf element.
fn leaf_text(leaf: Node<'_, '_>) -> String {
    let raw: String = leaf
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    normalize_ws(&raw)
}

/// Names of the leaf children of `parent` that have no `xml:lang` attribute.
fn untranslated_leaves(parent: Node<'_, '_>) -> HashSet<String> {
    parent
        .children()
        .filter(|c| {
            c.is_element()
                && c.attribute((NS_XML_URI, "lang")).is_none()
                && !has_element_children(*c)
        })
        .map(qname)
        .collect()
}

/// A leaf with `xml:lang` beside a same-named sibling leaf without one (`untranslated`
/// holds the names of those).
fn is_translation(node: Node<'_, '_>, untranslated: &HashSet<String>) -> bool {
    node.attribute((NS_XML_URI, "lang")).is_some()
        && !has_element_children(node)
        && untranslated.contains(&qname(node))
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

    const BOOKS: &str = r#"<?xml version="1.0"?>
<library xmlns:dc="http://purl.org/dc/elements/1.1/">
  <book id="b1" lang="en">
    <dc:title>Dune</dc:title>
    <year>1965</year>
  </book>
  <book id="b2">
    <dc:title>Solaris</dc:title>
    <author>Stanisław  Lem</author>
    <isbn/>
  </book>
</library>"#;

    #[test]
    fn attribute_and_child_columns() {
        let out = run(BOOKS.as_bytes()).unwrap();
        assert_eq!(out.tables.len(), 1);
        let t = &out.tables[0];
        assert_eq!(t.name.as_deref(), Some("/library/book"));
        assert_eq!(
            t.rows,
            vec![
                vec!["@id", "@lang", "dc:title", "year", "author"],
                vec!["b1", "en", "Dune", "1965", ""],
                vec!["b2", "", "Solaris", "", "Stanisław Lem"],
            ]
        );
        assert_eq!(out.text, "Dune\n1965\nSolaris\nStanisław Lem");
        assert_eq!(out.metadata["root"], "library");
        assert_eq!(out.metadata["elements"], 8);
        assert_eq!(out.metadata["depth"], 3);
        assert_eq!(
            out.metadata["namespaces"],
            json!(["http://purl.org/dc/elements/1.1/"])
        );
        assert_eq!(out.metadata["encoding"], "UTF-8");
    }

    #[test]
    fn wrappers_repeats_and_translations() {
        let xml = r#"<r>
          <item kind="a"><info><name>one</name><tag>x</tag><tag>y</tag><deep><z>1</z></deep></info>
            <label>One</label><label xml:lang="de">Eins</label></item>
          <item><info><name>two</name></info><label>Two</label></item>
          <note>plain</note><note>values</note>
        </r>"#;
        let out = run(xml.as_bytes()).unwrap();
        let names: Vec<_> = out.tables.iter().map(|t| t.name.as_deref()).collect();
        assert_eq!(names, [Some("/r/item"), Some("/r/item/label")]);
        assert_eq!(
            out.tables[0].rows,
            vec![
                vec!["@kind", "info/name", "info/tag", "label"],
                vec!["a", "one", "x; y", "One"],
                vec!["", "two", "", "Two"],
            ]
        );
        assert_eq!(
            out.tables[1].rows,
            vec![vec!["@xml:lang", "#text"], vec!["de", "Eins"]]
        );
    }

    #[test]
    fn leaf_records_with_attributes_and_text() {
        let xml = r#"<m><t><c>Text</c><c xml:lang="de">Der Text</c><c xml:lang="fr">Le texte</c></t></m>"#;
        let out = run(xml.as_bytes()).unwrap();
        assert_eq!(out.tables.len(), 1);
        assert_eq!(out.tables[0].name.as_deref(), Some("/m/t/c"));
        assert_eq!(
            out.tables[0].rows,
            vec![
                vec!["@xml:lang", "#text"],
                vec!["de", "Der Text"],
                vec!["fr", "Le texte"]
            ]
        );
    }

    #[test]
    fn mixed_content_flows_inline() {
        let xml =
            "<doc><title>T</title><p>Hello <b>big</b>   world<i>!</i></p><p>Two\n lines</p></doc>";
        let out = run(xml.as_bytes()).unwrap();
        assert_eq!(out.text, "T\nHello big world!\nTwo lines");
        assert!(out.tables.is_empty());
    }

    #[test]
    fn small_entities_expand_and_bombs_are_refused() {
        let ok = r#"<!DOCTYPE d [ <!ENTITY co "ACME Corp"> <!ENTITY full "&co; &amp; Sons"> ]>
<d><a>&full;</a><!-- &full; --><![CDATA[&full;]]></d>"#;
        let out = run(ok.as_bytes()).unwrap();
        assert_eq!(out.text, "ACME Corp & Sons&full;");

        // Amplification roxmltree alone would allow: 255 x 4 KiB per reference.
        let big = "x".repeat(4096);
        let refs = "&a;".repeat(200);
        let bomb = format!(
            "<!DOCTYPE d [<!ENTITY a \"{big}\"><!ENTITY b \"{refs}\">]><d>{}</d>",
            "&b;".repeat(10)
        );
        let err = run(bomb.as_bytes()).unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert!(
            err.message.contains("max_entity_expansion"),
            "{}",
            err.message
        );
        assert!(err.message.contains("'b'"), "{}", err.message);

        // Parameter entities are referenceable in roxmltree, so they count too.
        let pe = format!(
            "<!DOCTYPE d [<!ENTITY % a \"{big}\"><!ENTITY b \"{refs}\">]><d>{}</d>",
            "&b;".repeat(10)
        );
        let err = run(pe.as_bytes()).unwrap_err();
        assert!(
            err.message.contains("max_entity_expansion"),
            "{}",
            err.message
        );

        // A decoy DOCTYPE in a comment does not hide the real one.
        let decoy = format!("<!-- <!DOCTYPE x []> -->{bomb}");
        let err = run(decoy.as_bytes()).unwrap_err();
        assert!(
            err.message.contains("max_entity_expansion"),
            "{}",
            err.message
        );

        let looped = r#"<!DOCTYPE d [<!ENTITY a "&b;"><!ENTITY b "&a;">]><d>&a;</d>"#;
        let err = run(looped.as_bytes()).unwrap_err();
        assert!(
            err.message.contains("nest deeper than 10"),
            "{}",
            err.message
        );
    }

    #[test]
    fn depth_is_limited_without_recursion() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let err = run(deep.as_bytes()).unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert_eq!(
            err.message,
            "XML nesting deeper than 128 levels (max_depth) at 1:385"
        );
    }

    #[test]
    fn parse_errors_name_the_position() {
        let err = run(b"<a>\n  <b>\n</a>").unwrap_err();
        assert_eq!(err.kind, FailureKind::Permanent);
        assert_eq!(
            err.message,
            "XML parse error at 3:1: expected 'b' tag, not 'a'"
        );
    }

    #[test]
    fn declared_legacy_encoding_is_used() {
        let out = run(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>").unwrap();
        assert_eq!(out.text, "café");
        assert_eq!(out.metadata["encoding"], "windows-1252");
    }

    #[test]
    fn tables_off() {
        let out = run_with(BOOKS.as_bytes(), &Limits::default(), false).unwrap();
        assert!(out.tables.is_empty());
        assert!(out.text.contains("Solaris"));
    }
}
