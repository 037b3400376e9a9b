//! Document metadata: the Info dictionary, the XMP packet, the outline (bookmarks) and
//! page sizes.

use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};
use serde_json::{json, Map, Value};

use crate::decode::{self, Budget};
use crate::objects::{
    as_dict, deref, deref_loaded, get, get_dict, get_stream, ref_id, text_string,
};
use crate::pages::PageList;

/// The Info dictionary's text entries (`title`, `author`, ...; dates kept as written).
pub(crate) fn info(doc: &Document) -> Map<String, Value> {
    let mut m = Map::new();
    let Some(info) = doc.trailer.get(b"Info").ok().and_then(|o| as_dict(doc, o)) else {
        return m;
    };
    for (k, v) in info.iter() {
        if let Object::String(s, _) = deref(doc, v) {
            let key = match k.as_slice() {
                b"Title" => "title".to_string(),
                b"Author" => "author".to_string(),
                b"Subject" => "subject".to_string(),
                b"Keywords" => "keywords".to_string(),
                b"Creator" => "creator".to_string(),
                b"Producer" => "producer".to_string(),
                b"CreationDate" => "creation_date".to_string(),
                b"ModDate" => "mod_date".to_string(),
                other => String::from_utf8_lossy(other).into_owned(),
            };
            let t = text_string(s);
            let t = t.trim_matches(char::from(0)).trim();
            if !t.is_empty() && m.len() < 64 {
                m.insert(key, Value::String(t.chars().take(4096).collect()));
            }
        }
    }
    m
}

/// The catalog's XMP packet, as text (at most `max` bytes), with a few common fields
/// picked out.
pub(crate) fn xmp(doc: &Document, budget: &mut Budget, max: usize) -> Option<Value> {
    let cat = doc.catalog().ok()?;
    let s = get_stream(doc, cat, b"Metadata")?;
    let (data, _) = decode::decode(doc, s, budget).ok()?;
    let text = String::from_utf8_lossy(&data);
    let mut fields = Map::new();
    for (key, tag) in [
        ("title", "dc:title"),
        ("creator", "dc:creator"),
        ("description", "dc:description"),
        ("creator_tool", "xmp:CreatorTool"),
        ("create_date", "xmp:CreateDate"),
        ("modify_date", "xmp:ModifyDate"),
        ("producer", "pdf:Producer"),
        ("keywords", "pdf:Keywords"),
    ] {
        if let Some(v) = xml_field(&text, tag) {
            fields.insert(key.to_string(), Value::String(v));
        }
    }
    let mut packet: String = text.chars().take(max).collect();
    while packet.len() > max {
        packet.pop();
    }
    Some(json!({"fields": fields, "packet": packet, "bytes": data.len()}))
}

/// The text inside `<tag ...>...</tag>` (markup inside stripped), or the `tag="..."`
/// attribute form.
fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    if let Some(i) = xml.find(&open) {
        let rest = &xml[i + open.len()..];
        if rest.starts_with('>') || rest.starts_with(' ') || rest.starts_with('\n') {
            let gt = rest.find('>')?;
            if rest[..gt].ends_with('/') {
                return None;
            }
            let body = &rest[gt + 1..];
            let close = format!("</{tag}>");
            let end = body.find(&close)?;
            let inner = &body[..end];
            let mut out = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => {
                        in_tag = true;
                        if !out.ends_with(' ') && !out.is_empty() {
                            out.push(' ');
                        }
                    }
                    '>' => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            let t = unescape(
                out.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .as_str(),
            );
            return (!t.is_empty()).then_some(t);
        }
    }
    let attr = format!("{tag}=\"");
    let i = xml.find(&attr)?;
    let rest = &xml[i + attr.len()..];
    let end = rest.find('"')?;
    let t = unescape(rest[..end].trim());
    (!t.is_empty()).then_some(t)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Sizes of pages `first..=last` (points, as displayed: rotation applied) as runs of
/// equal pages: `[{first, last, width, height, rotate}]`. A part of a split document
/// reports its own pages; the synthesis joins the parts' runs.
pub(crate) fn page_sizes(list: &PageList<'_>, first: u32, last: u32) -> Value {
    let mut runs: Vec<Value> = Vec::new();
    let mut cur: Option<(u32, u32, f32, f32, i64)> = None;
    for n in first..=last {
        let Some(p) = list.get(n) else { continue };
        let (w, h) = (p.crop[2] - p.crop[0], p.crop[3] - p.crop[1]);
        let (w, h) = if p.rotate % 180 == 90 { (h, w) } else { (w, h) };
        let (w, h) = ((w * 100.0).round() / 100.0, (h * 100.0).round() / 100.0);
        match cur {
            Some((f, _, cw, ch, cr)) if cw == w && ch == h && cr == p.rotate => {
                cur = Some((f, n, cw, ch, cr));
            }
            _ => {
                if let Some(r) = cur.take() {
                    runs.push(run(r));
                }
                cur = Some((n, n, w, h, p.rotate));
            }
        }
    }
    if let Some(r) = cur {
        runs.push(run(r));
    }
    Value::Array(runs)
}

fn run((first, last, w, h, r): (u32, u32, f32, f32, i64)) -> Value {
    json!({"first": first, "last": last, "width": w, "height": h, "rotate": r})
}

/// The outline (bookmarks): `[{title, level, page?}]` in document order, at most `max`
/// entries, `max_depth` levels; cycles are cut.
pub(crate) fn outline(
    doc: &Document,
    pages: &PageList<'_>,
    max: usize,
    max_depth: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(cat) = doc.catalog() else { return out };
    let Some(root) = get_dict(doc, cat, b"Outlines") else {
        return out;
    };
    let page_no: HashMap<ObjectId, usize> = pages
        .pages
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.id.map(|id| (id, i + pages.first as usize)))
        .collect();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    // (item reference, level)
    let mut stack: Vec<(&Object, usize)> = Vec::new();
    if let Ok(first) = root.get(b"First") {
        stack.push((first, 1));
    }
    let mut steps = 0usize;
    while let Some((item, level)) = stack.pop() {
        steps += 1;
        if out.len() >= max || steps > 4 * max + 100 {
            break;
        }
        if let Some(id) = ref_id(item) {
            if !seen.insert(id) {
                continue;
            }
        }
        let Some(d) = as_dict(doc, item) else {
            continue;
        };
        let title = match get(doc, d, b"Title") {
            Some(Object::String(s, _)) => text_string(s),
            _ => String::new(),
        };
        let mut entry = Map::new();
        entry.insert(
            "title".into(),
            Value::String(title.trim().chars().take(1024).collect()),
        );
        entry.insert("level".into(), json!(level));
        if let Some(p) = dest_page(doc, cat, d, &page_no) {
            entry.insert("page".into(), json!(p));
        }
        out.push(Value::Object(entry));
        // Next sibling after the children: push it first.
        if let Ok(next) = d.get(b"Next") {
            stack.push((next, level));
        }
        if level < max_depth {
            if let Ok(first) = d.get(b"First") {
                stack.push((first, level + 1));
            }
        }
    }
    out
}

fn dest_page(
    doc: &Document,
    cat: &Dictionary,
    item: &Dictionary,
    page_no: &HashMap<ObjectId, usize>,
) -> Option<usize> {
    let dest = match get(doc, item, b"Dest") {
        Some(d) => d,
        None => {
            let a = get_dict(doc, item, b"A")?;
            get(doc, a, b"D")?
        }
    };
    let arr = resolve_dest(doc, cat, dest, 0)?;
    let first = arr.first()?;
    match first {
        Object::Reference(id) => page_no.get(id).copied(),
        Object::Integer(i) => usize::try_from(*i).ok().map(|i| i + 1),
        _ => None,
    }
}

fn resolve_dest<'a>(
    doc: &'a Document,
    cat: &'a Dictionary,
    dest: &'a Object,
    depth: usize,
) -> Option<&'a [Object]> {
    if depth > 4 {
        return None;
    }
    match deref(doc, dest) {
        Object::Array(a) => Some(a),
        Object::Dictionary(d) => resolve_dest(doc, cat, d.get(b"D").ok()?, depth + 1),
        Object::Name(n) => {
            let dests = get_dict(doc, cat, b"Dests")?;
            resolve_dest(doc, cat, dests.get(n).ok()?, depth + 1)
        }
        Object::String(s, _) => {
            let names = get_dict(doc, cat, b"Names")?;
            let tree = get_dict(doc, names, b"Dests")?;
            let v = name_tree_lookup(doc, tree, s).ok().flatten()?;
            resolve_dest(doc, cat, v, depth + 1)
        }
        _ => None,
    }
}

/// The value under `key` in the name tree `root`, descended by `/Limits`. Works on a
/// partly loaded document too (a lazy load, see `lazy`): `Err(id)` says the walk needs
/// object `id`, still packed in an object stream; on a full load that never happens
/// for an object that exists.
pub(crate) fn name_tree_lookup<'a>(
    doc: &'a Document,
    root: &'a Dictionary,
    key: &[u8],
) -> Result<Option<&'a Object>, ObjectId> {
    let mut node = root;
    for _ in 0..32 {
        if let Ok(names) = node.get(b"Names") {
            let Object::Array(names) = deref_loaded(doc, names)? else {
                return Ok(None);
            };
            for pair in names.chunks_exact(2) {
                if let Object::String(k, _) = deref_loaded(doc, &pair[0])? {
                    if k.as_slice() == key {
                        return Ok(Some(&pair[1]));
                    }
                }
            }
            return Ok(None);
        }
        let Ok(kids) = node.get(b"Kids") else {
            return Ok(None);
        };
        let Object::Array(kids) = deref_loaded(doc, kids)? else {
            return Ok(None);
        };
        let mut next = None;
        for k in kids {
            let Object::Dictionary(kd) = deref_loaded(doc, k)? else {
                continue;
            };
            if let Ok(lim) = kd.get(b"Limits") {
                if let Object::Array(lim) = deref_loaded(doc, lim)? {
                    let lo = lim.first().map(|o| deref_loaded(doc, o)).transpose()?;
                    let hi = lim.get(1).map(|o| deref_loaded(doc, o)).transpose()?;
                    if let (Some(Object::String(lo, _)), Some(Object::String(hi, _))) = (lo, hi) {
                        if key >= lo.as_slice() && key <= hi.as_slice() {
                            next = Some(kd);
                            break;
                        }
                        continue;
                    }
                }
            }
            next = Some(kd);
            break;
        }
        match next {
            Some(kd) => node = kd,
            None => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_fields() {
        let x = r#"<x:xmpmeta><rdf:Description rdf:about="" xmp:CreatorTool="LaTeX &amp; co"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">A  Title</rdf:li></rdf:Alt></dc:title></rdf:Description></x:xmpmeta>"#;
        assert_eq!(xml_field(x, "dc:title").as_deref(), Some("A Title"));
        assert_eq!(
            xml_field(x, "xmp:CreatorTool").as_deref(),
            Some("LaTeX & co")
        );
        assert_eq!(xml_field(x, "dc:creator"), None);
    }
}
