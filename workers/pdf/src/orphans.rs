//! A page tree for a document that lost its own.
//!
//! A file cut short, or damaged where its catalog or the root of its page tree sat,
//! still holds most of its pages: a page object carries its contents, resources and
//! boxes, and needs from its parent only the attributes it inherits. When the catalog
//! leads to no page tree, [`graft`] collects the page objects the document holds and
//! hangs them under a new root, as mupdf's repair does and poppler does not:
//!
//! - subtrees that survived whole (a `/Pages` node whose parent is gone) keep their
//!   order inside;
//! - those subtrees and the pages no surviving node lists are put in the order of their
//!   first page's object number (writers number pages in page order; an incremental
//!   update keeps the numbers of the pages it rewrites, where file order would move them
//!   to the end), except that the first page a linearization dictionary names (`/O`,
//!   numbered after the others by linearizing writers) goes first;
//! - what a page inherited from a node that is not on its new path (`Resources`,
//!   `MediaBox`, `CropBox`, `Rotate`) is copied onto the page, so it renders as before.
//!
//! The order and the completeness of such pages are a guess, and the caller reports it
//! as a loss. Encrypted files are left alone unless lopdf decrypted them (empty user
//! password): without the trailer that names the encryption dictionary nothing in them
//! can be decrypted.
//!
//! [`with_catalog`] gives a file whose cross-reference data and catalog are both gone
//! (typically cut off before its end) something for lopdf's reconstruction to start
//! from: a catalog and a trailer appended to a copy of the bytes. lopdf then scans the
//! file for objects as it does for any damaged file, object streams included.

use std::collections::{BTreeSet, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::objects::{as_dict, get};
use crate::pages::INHERITED_KEYS;

/// The object number of the catalog [`with_catalog`] appends: the highest that lopdf's
/// reconstruction accepts, so that it does not take the place of a real object (which
/// would have to be numbered one million to collide).
const APPENDED_CATALOG: u32 = 1_000_000;

/// A copy of `bytes` with a catalog and a trailer appended, for lopdf's reconstruction
/// to find (it looks for the last `trailer`). The catalog has no `/Pages`: [`graft`]
/// gives it one. An `endstream` comes first: in a file cut off inside a stream, lopdf's
/// scan for objects finds no `endstream` after that stream's data and skips by its
/// `/Length`, which can reach past the cut into the appended bytes and over the
/// catalog's header.
pub(crate) fn with_catalog(bytes: &[u8]) -> Vec<u8> {
    let tail = format!(
        "\nendstream\nendobj\n{APPENDED_CATALOG} 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root {APPENDED_CATALOG} 0 R >>\n%%EOF\n"
    );
    let mut out = Vec::with_capacity(bytes.len() + tail.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(tail.as_bytes());
    out
}

/// What [`graft`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Grafted {
    /// Pages under the new root.
    pub(crate) pages: usize,
    /// Of them, pages found inside subtrees that survived.
    pub(crate) in_subtrees: usize,
}

/// Hangs the page objects of `doc` under a new page tree root, at most `max_pages + 1`
/// of them (one more than the limit, so the walk that follows reports it), descending
/// at most `max_depth` levels into surviving subtrees. Points the catalog at the new
/// root, making a catalog when there is none. `None` (and `doc` unchanged) when the
/// document holds no page object or is encrypted.
pub(crate) fn graft(doc: &mut Document, max_pages: usize, max_depth: usize) -> Option<Grafted> {
    // Still encrypted (a password is needed), or encrypted with the trailer that said so
    // gone. A document lopdf decrypted with the empty user password is plain.
    if doc.trailer.has(b"Encrypt")
        || (doc.encryption_state.is_none() && holds_security_handler(doc))
    {
        return None;
    }
    let limit = max_pages.saturating_add(1);
    // Subtrees that survived: `/Pages` nodes whose parent does not resolve to a node.
    let mut reached: HashSet<ObjectId> = HashSet::new();
    let mut segments: Vec<(ObjectId, Vec<Leaf>)> = Vec::new();
    let mut found = 0usize;
    for (&id, obj) in &doc.objects {
        if found >= limit {
            break;
        }
        let Some(d) = dict_of(obj) else { continue };
        if !is_node(doc, d) || parent_is_node(doc, d) {
            continue;
        }
        let leaves = leaves_under(doc, id, &mut reached, limit - found, max_depth);
        if let Some(first) = leaves.first() {
            found += leaves.len();
            segments.push((first.id, leaves));
        }
    }
    let in_subtrees = found;
    // Pages that no surviving node leads to.
    for (&id, obj) in &doc.objects {
        if found >= limit {
            break;
        }
        let Some(d) = dict_of(obj) else { continue };
        if reached.contains(&id) || !is_page(doc, d) {
            continue;
        }
        segments.push((
            id,
            vec![Leaf {
                id,
                inherited: inherited_above(doc, d, max_depth),
            }],
        ));
        found += 1;
    }
    if found == 0 {
        return None;
    }
    segments.sort_by_key(|(first, _)| *first);
    // A linearized file names its first page (`/O` of the linearization dictionary) and
    // numbers it after the others: it goes first.
    if let Some(first_page) = linearized_first_page(doc) {
        if let Some(i) = segments
            .iter()
            .position(|(_, leaves)| leaves.iter().any(|l| l.id == first_page))
        {
            let seg = segments.remove(i);
            segments.insert(0, seg);
        }
    }
    let root = doc.new_object_id();
    let mut kids = Vec::with_capacity(found);
    for leaf in segments.into_iter().flat_map(|(_, leaves)| leaves) {
        if let Some(Object::Dictionary(page)) = doc.objects.get_mut(&leaf.id) {
            for (key, value) in leaf.inherited {
                if !page.has(&key) {
                    page.set(key, value);
                }
            }
            page.set("Parent", Object::Reference(root));
            kids.push(Object::Reference(leaf.id));
        }
    }
    let pages = kids.len();
    let mut node = Dictionary::new();
    node.set("Type", Object::Name(b"Pages".to_vec()));
    node.set("Count", Object::Integer(pages as i64));
    node.set("Kids", Object::Array(kids));
    doc.objects.insert(root, Object::Dictionary(node));
    point_catalog_at(doc, root);
    Some(Grafted { pages, in_subtrees })
}

/// Inherited attributes, by key.
type Attrs = Vec<(Vec<u8>, Object)>;

/// A page under the new root, with what it must inherit copied onto it.
struct Leaf {
    id: ObjectId,
    inherited: Attrs,
}

fn dict_of(obj: &Object) -> Option<&Dictionary> {
    match obj {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

fn type_is(doc: &Document, d: &Dictionary, name: &[u8]) -> bool {
    matches!(get(doc, d, b"Type"), Some(Object::Name(n)) if n == name)
}

/// A page object: `/Type /Page` (what the specification requires of every page).
fn is_page(doc: &Document, d: &Dictionary) -> bool {
    type_is(doc, d, b"Page")
}

/// An intermediate node: `/Type /Pages` with a `/Kids` array.
fn is_node(doc: &Document, d: &Dictionary) -> bool {
    type_is(doc, d, b"Pages") && matches!(get(doc, d, b"Kids"), Some(Object::Array(_)))
}

fn parent_is_node(doc: &Document, d: &Dictionary) -> bool {
    get(doc, d, b"Parent")
        .and_then(|p| as_dict(doc, p))
        .is_some_and(|p| is_node(doc, p))
}

/// The pages under the node `root`, in order, each with the attributes it inherits from
/// the nodes on its path (the root's included); at most `room` of them. Nodes and pages
/// already in `reached` are not visited again (cycles, shared nodes).
fn leaves_under(
    doc: &Document,
    root: ObjectId,
    reached: &mut HashSet<ObjectId>,
    room: usize,
    max_depth: usize,
) -> Vec<Leaf> {
    let mut out = Vec::new();
    // (node or page, attributes inherited so far, depth)
    let mut stack: Vec<(ObjectId, Attrs, usize)> = vec![(root, Vec::new(), 0)];
    while let Some((id, inherited, depth)) = stack.pop() {
        if out.len() >= room || depth > max_depth || !reached.insert(id) {
            continue;
        }
        let Some(d) = doc.objects.get(&id).and_then(dict_of) else {
            continue;
        };
        if is_page(doc, d) {
            out.push(Leaf { id, inherited });
            continue;
        }
        if !is_node(doc, d) {
            continue;
        }
        let mut here = inherited;
        for key in INHERITED_KEYS {
            if let Ok(v) = d.get(key) {
                here.retain(|(k, _)| k != key);
                here.push((key.to_vec(), v.clone()));
            }
        }
        if let Some(Object::Array(kids)) = get(doc, d, b"Kids") {
            for kid in kids.iter().rev() {
                if let Object::Reference(k) = kid {
                    stack.push((*k, here.clone(), depth + 1));
                }
            }
        }
    }
    out
}

/// What a page that is moved under the new root would stop inheriting: the attributes
/// of the nodes its `/Parent` chain still leads to (nearest first wins), at most
/// `max_depth` of them up.
fn inherited_above(doc: &Document, page: &Dictionary, max_depth: usize) -> Attrs {
    let mut out: Attrs = Vec::new();
    let mut seen: BTreeSet<ObjectId> = BTreeSet::new();
    let mut cur = page.get(b"Parent").ok();
    for _ in 0..max_depth {
        let Some(Object::Reference(id)) = cur else {
            break;
        };
        if !seen.insert(*id) {
            break;
        }
        let Some(node) = doc.objects.get(id).and_then(dict_of) else {
            break;
        };
        for key in INHERITED_KEYS {
            if let Ok(v) = node.get(key) {
                if !out.iter().any(|(k, _)| k == key) {
                    out.push((key.to_vec(), v.clone()));
                }
            }
        }
        cur = node.get(b"Parent").ok();
    }
    out
}

/// The first page a linearization dictionary names (`/Linearized 1 ... /O n`).
fn linearized_first_page(doc: &Document) -> Option<ObjectId> {
    doc.objects.values().filter_map(dict_of).find_map(|d| {
        if !d.has(b"Linearized") {
            return None;
        }
        let n = d.get(b"O").ok()?.as_i64().ok()?;
        Some((u32::try_from(n).ok()?, 0))
    })
}

/// Whether some object is a standard security handler's dictionary (`/Filter
/// /Standard` with `/O` and `/U`): the file is encrypted even if the trailer that said
/// so is gone.
fn holds_security_handler(doc: &Document) -> bool {
    doc.objects.values().filter_map(dict_of).any(|d| {
        matches!(d.get(b"Filter"), Ok(Object::Name(n)) if n == b"Standard")
            && d.has(b"O")
            && d.has(b"U")
    })
}

/// Points the trailer's catalog at `root`, making a catalog when the trailer names none
/// that resolves.
fn point_catalog_at(doc: &mut Document, root: ObjectId) {
    let catalog = doc
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| r.as_reference().ok())
        .filter(|id| matches!(doc.objects.get(id), Some(Object::Dictionary(_))));
    match catalog {
        Some(id) => {
            if let Some(Object::Dictionary(c)) = doc.objects.get_mut(&id) {
                c.set("Pages", Object::Reference(root));
            }
        }
        None => {
            let mut c = Dictionary::new();
            c.set("Type", Object::Name(b"Catalog".to_vec()));
            c.set("Pages", Object::Reference(root));
            let id = doc.add_object(Object::Dictionary(c));
            doc.trailer.set("Root", Object::Reference(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    fn page(parent: u32) -> Object {
        Object::Dictionary(dictionary! { "Type" => "Page", "Parent" => (parent, 0) })
    }

    fn kids(doc: &Document) -> Vec<ObjectId> {
        let cat = doc.catalog().unwrap();
        let root = cat.get(b"Pages").unwrap().as_reference().unwrap();
        let node = doc.get_dictionary(root).unwrap();
        node.get(b"Kids")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_reference().unwrap())
            .collect()
    }

    /// The root (object 99) is gone; node 10 survived with pages 6 and 7 and a media
    /// box they inherit; pages 3 and 4 hang from the lost root, page 8 from node 10
    /// which does not list it.
    fn lost_root() -> Document {
        let mut doc = Document::with_version("1.7");
        for id in [4, 3] {
            doc.objects.insert((id, 0), page(99));
        }
        doc.objects.insert((6, 0), page(10));
        doc.objects.insert((7, 0), page(10));
        doc.objects.insert((8, 0), page(10));
        doc.objects.insert(
            (10, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Parent" => (99, 0), "Count" => 2,
                "Kids" => vec![Object::Reference((7, 0)), Object::Reference((6, 0))],
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        doc.objects.insert(
            (1, 0),
            Object::Dictionary(dictionary! { "Type" => "Catalog", "Pages" => (99, 0) }),
        );
        doc.trailer.set("Root", Object::Reference((1, 0)));
        doc.max_id = 99;
        doc
    }

    #[test]
    fn pages_are_hung_in_number_order_with_surviving_subtrees_kept_whole() {
        let mut doc = lost_root();
        let g = graft(&mut doc, 100, 32).unwrap();
        assert_eq!(
            g,
            Grafted {
                pages: 5,
                in_subtrees: 2
            }
        );
        // Node 10's subtree keeps its own order (7 before 6) and sits where its first
        // page's number puts it; page 8 comes after it.
        assert_eq!(kids(&doc), vec![(3, 0), (4, 0), (7, 0), (6, 0), (8, 0)]);
        let walked = crate::pages::pages(&doc, 100, 32);
        assert_eq!(walked.pages.len(), 5);
        // Pages 6, 7 and 8 keep the media box of node 10; 3 and 4 get the default.
        let media: Vec<f32> = walked.pages.iter().map(|p| p.media[2]).collect();
        assert_eq!(media, vec![612.0, 612.0, 595.0, 595.0, 595.0]);
        // The catalog that was there now leads to the new root.
        assert_eq!(
            doc.trailer.get(b"Root").unwrap().as_reference().unwrap(),
            (1, 0)
        );
    }

    #[test]
    fn a_missing_catalog_is_made() {
        let mut doc = lost_root();
        doc.objects.remove(&(1, 0));
        assert_eq!(graft(&mut doc, 100, 32).unwrap().pages, 5);
        let cat = doc.catalog().unwrap();
        assert!(cat.has_type(b"Catalog"));
        assert_eq!(kids(&doc).len(), 5);
    }

    #[test]
    fn the_page_limit_stops_the_collection_one_past_it() {
        let mut doc = lost_root();
        assert_eq!(graft(&mut doc, 2, 32).unwrap().pages, 3);
        let walked = crate::pages::pages(&doc, 2, 32);
        assert!(walked.too_many);
    }

    #[test]
    fn nodes_in_a_cycle_give_their_pages_one_at_a_time() {
        let mut doc = Document::with_version("1.7");
        // 20 and 21 are each other's parent and kid: neither is a root.
        doc.objects.insert(
            (20, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Parent" => (21, 0),
                "Kids" => vec![Object::Reference((21, 0)), Object::Reference((5, 0))],
            }),
        );
        doc.objects.insert(
            (21, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Parent" => (20, 0),
                "Kids" => vec![Object::Reference((20, 0))],
                "Rotate" => 90,
            }),
        );
        doc.objects.insert((5, 0), page(20));
        doc.max_id = 21;
        assert_eq!(graft(&mut doc, 100, 32).unwrap().pages, 1);
        let walked = crate::pages::pages(&doc, 100, 32);
        assert_eq!(walked.pages.len(), 1);
        // The rotation of the node above its parent is still inherited.
        assert_eq!(walked.pages[0].rotate, 90);
    }

    #[test]
    fn no_pages_or_an_encrypted_file_are_left_alone() {
        let mut empty = Document::with_version("1.7");
        empty.objects.insert((1, 0), Object::Integer(3));
        assert_eq!(graft(&mut empty, 100, 32), None);

        let mut doc = lost_root();
        doc.objects.insert(
            (50, 0),
            Object::Dictionary(dictionary! {
                "Filter" => "Standard", "V" => 2, "R" => 3,
                "O" => Object::string_literal("o"), "U" => Object::string_literal("u"),
            }),
        );
        let before = doc.objects.len();
        assert_eq!(graft(&mut doc, 100, 32), None);
        assert_eq!(doc.objects.len(), before);
    }

    #[test]
    fn the_appended_catalog_comes_last() {
        let out = with_catalog(b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n");
        let tail = String::from_utf8_lossy(&out[29..]).into_owned();
        assert!(tail.contains("1000000 0 obj"), "{tail}");
        assert!(tail.trim_end().ends_with("%%EOF"), "{tail}");
        assert!(out.starts_with(b"%PDF-1.4\n1 0 obj"));
    }
}
