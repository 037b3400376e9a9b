//! Loading only what a page range needs.
//!
//! A part of a large PDF (pages `first..=last` of a split document) does not need the
//! whole object graph. Most of a full load goes into parsing the members of object
//! streams (`/Type /ObjStm`): in pdfTeX output, every dictionary of the document. The
//! lazy load (see `load::load_range`) keeps object streams packed while lopdf reads the
//! file and hands them to a [`Stash`]; this module then unpacks, on demand, only the
//! object streams that hold what the range needs:
//!
//! - the page tree: every node and every page dictionary (pages are numbered by walking
//!   the whole tree), with the attributes pages inherit;
//! - everything reachable from the pages in range (contents, resources, fonts, forms,
//!   images), except `/Parent` links and annotations, and stopping at other pages;
//! - the catalog's `/Metadata` (XMP) and the trailer's `/Info`; for the part that
//!   starts at page 1, also `/Outlines`, `/Names` and `/Dests` (the outline is reported
//!   by the first part only).
//!
//! The walk follows the same rules as `pages::pages` (a node is a page when its `/Type`
//! says so or it has no `/Kids`), under the same limits (depth, page count, object
//! count), and never loops: every object is visited once. What it leaves packed is never
//! read by the extraction of the range, so the result is the same text as after a full
//! load (tested on every shipped PDF with object streams).

use std::collections::{HashMap, HashSet};

use lopdf::xref::XrefEntry;
use lopdf::{Document, Object, ObjectId, ObjectStream, Stream};

use crate::decode::{self, Budget};
use crate::Limits;

/// Object streams kept packed during a lazy load, by object number.
#[derive(Default)]
pub(crate) struct Stash {
    packed: HashMap<u32, Stream>,
    /// Objects unpacked so far (counted against `max_objects`).
    unpacked: usize,
}

impl Stash {
    /// Keeps the object stream `id` packed.
    pub(crate) fn keep(&mut self, id: u32, stream: Stream) {
        self.packed.insert(id, stream);
    }

    /// How many object streams are kept.
    pub(crate) fn len(&self) -> usize {
        self.packed.len()
    }
}

/// Unpacks object streams of `doc` until everything pages `first..=last` need is loaded.
/// `Err` says why the document cannot be completed this way (the caller falls back to a
/// full load, which has its own recovery and error reporting).
pub(crate) fn complete(
    doc: &mut Document,
    stash: &mut Stash,
    first: u32,
    last: u32,
    limits: &Limits,
) -> Result<(), String> {
    let mut c = Completer {
        doc,
        stash,
        budget: Budget::new(limits.max_total_decompressed_bytes, limits.max_stream_bytes),
        limits,
        base_objects: 0,
    };
    c.base_objects = c.doc.objects.len();
    let root = match c.doc.trailer.get(b"Root") {
        Ok(Object::Reference(id)) => *id,
        _ => return Err("the trailer has no /Root reference".into()),
    };
    c.ensure(root)?;
    let catalog = match c.doc.objects.get(&root) {
        Some(Object::Dictionary(d)) => d.clone(),
        _ => return Err("the catalog is not a dictionary".into()),
    };
    let pages_root = catalog
        .get(b"Pages")
        .map_err(|_| "the catalog has no /Pages".to_string())?
        .clone();
    let (tree, mut follow) = c.walk_tree(pages_root, first, last)?;
    let mut catalog_keys: Vec<&[u8]> = vec![b"Metadata"];
    if first == 1 {
        catalog_keys.extend_from_slice(&[b"Outlines", b"Names", b"Dests"]);
    }
    for k in catalog_keys {
        if let Ok(o) = catalog.get(k) {
            follow.push(o.clone());
        }
    }
    if let Ok(info) = c.doc.trailer.get(b"Info") {
        follow.push(info.clone());
    }
    c.follow(follow, &tree)
}

struct Completer<'a> {
    doc: &'a mut Document,
    stash: &'a mut Stash,
    budget: Budget,
    limits: &'a Limits,
    base_objects: usize,
}

/// Page-dictionary keys not followed from a page in range: links up the tree and
/// annotations, which the extraction does not read.
const PAGE_KEYS_NOT_FOLLOWED: [&[u8]; 4] = [b"Parent", b"Annots", b"B", b"Thumb"];
/// Keys of a page out of range that the extraction still reads (page sizes).
const PAGE_KEYS_ALWAYS: [&[u8]; 3] = [b"MediaBox", b"CropBox", b"Rotate"];

impl Completer<'_> {
    /// Makes sure object `id` is loaded, unpacking its object stream if needed.
    fn ensure(&mut self, id: ObjectId) -> Result<(), String> {
        if self.doc.objects.contains_key(&id) {
            return Ok(());
        }
        let container = match self.doc.reference_table.get(id.0) {
            Some(XrefEntry::Compressed { container, .. }) => *container,
            // Free, missing or at an offset lopdf could not read: a dangling reference,
            // which the extraction treats as null, as after a full load.
            _ => return Ok(()),
        };
        self.unpack(container)
    }

    fn unpack(&mut self, container: u32) -> Result<(), String> {
        let Some(mut stream) = self.stash.packed.remove(&container) else {
            return Ok(());
        };
        if stream.dict.has(b"Filter") {
            let (data, _) = decode::decode(&Document::new(), &stream, &mut self.budget)
                .map_err(|e| format!("object stream {container} 0 R: {e}"))?;
            stream.dict.remove(b"Filter");
            stream.dict.remove(b"DecodeParms");
            stream.set_content(data);
        }
        let unpacked = ObjectStream::new_with_limit(&stream, Some(self.limits.max_stream_bytes))
            .map_err(|e| format!("object stream {container} 0 R: {e}"))?;
        for (id, obj) in unpacked.objects {
            // Only the copy the cross-reference table points at (a stale copy in an
            // older object stream must not win), and never over a top-level object.
            let ours = matches!(
                self.doc.reference_table.get(id.0),
                Some(XrefEntry::Compressed { container: c, .. }) if *c == container
            );
            if ours && !self.doc.objects.contains_key(&id) {
                self.doc.objects.insert(id, obj);
                self.stash.unpacked += 1;
            }
        }
        if self.base_objects + self.stash.unpacked > self.limits.max_objects {
            return Err(format!(
                "the document has more than {} objects (max_objects)",
                self.limits.max_objects
            ));
        }
        Ok(())
    }

    /// `o` with one level of reference resolved (loading it), cloned.
    fn resolve(&mut self, o: &Object) -> Result<Object, String> {
        let mut cur = o.clone();
        for _ in 0..32 {
            match cur {
                Object::Reference(id) => {
                    self.ensure(id)?;
                    cur = self.doc.objects.get(&id).cloned().unwrap_or(Object::Null);
                }
                other => return Ok(other),
            }
        }
        Ok(Object::Null)
    }

    /// Walks the page tree as `pages::pages` does, loading every node and page. Returns
    /// the ids of the tree's objects (where following stops) and the values to follow:
    /// everything of the pages in range, inherited attributes of the nodes above them.
    fn walk_tree(
        &mut self,
        root: Object,
        first: u32,
        last: u32,
    ) -> Result<(HashSet<ObjectId>, Vec<Object>), String> {
        let mut tree: HashSet<ObjectId> = HashSet::new();
        let mut follow: Vec<Object> = Vec::new();
        let mut stack: Vec<(Object, usize)> = vec![(root, 0)];
        let mut page_no: u32 = 0;
        while let Some((node, depth)) = stack.pop() {
            if let Object::Reference(id) = node {
                if !tree.insert(id) {
                    continue;
                }
            }
            if depth > self.limits.max_depth {
                continue;
            }
            let dict = match self.resolve(&node)? {
                Object::Dictionary(d) => d,
                Object::Stream(s) => s.dict,
                _ => continue,
            };
            let kids = match dict.get(b"Kids") {
                Ok(k) => match self.resolve(k)? {
                    Object::Array(a) => Some(a),
                    _ => None,
                },
                Err(_) => None,
            };
            let is_page = match dict.get(b"Type") {
                Ok(t) => match self.resolve(t)? {
                    Object::Name(n) => n == b"Page",
                    _ => kids.is_none(),
                },
                Err(_) => kids.is_none(),
            };
            if is_page || kids.is_none() {
                page_no = page_no.saturating_add(1);
                if page_no as usize > self.limits.max_pages {
                    // The extraction reports the limit; nothing more to load.
                    break;
                }
                let in_range = (first..=last).contains(&page_no);
                for (k, v) in dict.iter() {
                    let wanted = if in_range {
                        !PAGE_KEYS_NOT_FOLLOWED.contains(&k.as_slice())
                    } else {
                        PAGE_KEYS_ALWAYS.contains(&k.as_slice())
                    };
                    if wanted {
                        follow.push(v.clone());
                    }
                }
                continue;
            }
            // An intermediate node: what its pages inherit, then its kids in order.
            for k in [b"Resources".as_slice(), b"MediaBox", b"CropBox", b"Rotate"] {
                if let Ok(v) = dict.get(k) {
                    follow.push(v.clone());
                }
            }
            if let Some(kids) = kids {
                for k in kids.into_iter().rev() {
                    stack.push((k, depth + 1));
                }
            }
            if stack.len() > 4 * self.limits.max_pages + 1024 {
                break;
            }
        }
        Ok((tree, follow))
    }

    /// Loads everything reachable from `roots`, skipping `/Parent` links and stopping at
    /// the page tree's objects (already loaded; their contents are followed only for the
    /// pages in range).
    fn follow(&mut self, roots: Vec<Object>, tree: &HashSet<ObjectId>) -> Result<(), String> {
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut ids: Vec<ObjectId> = Vec::new();
        for r in &roots {
            refs_in(r, &mut ids, 0, self.limits.max_depth);
        }
        while let Some(id) = ids.pop() {
            if tree.contains(&id) || !seen.insert(id) {
                continue;
            }
            self.ensure(id)?;
            if let Some(o) = self.doc.objects.get(&id) {
                refs_in(o, &mut ids, 0, self.limits.max_depth);
            }
        }
        Ok(())
    }
}

/// Pushes the references inside `o` (direct nesting only), except `/Parent` values.
fn refs_in(o: &Object, out: &mut Vec<ObjectId>, depth: usize, max_depth: usize) {
    if depth > max_depth {
        return;
    }
    match o {
        Object::Reference(id) => out.push(*id),
        Object::Array(a) => a.iter().for_each(|x| refs_in(x, out, depth + 1, max_depth)),
        Object::Dictionary(d) => {
            for (k, v) in d.iter() {
                if k.as_slice() != b"Parent" {
                    refs_in(v, out, depth + 1, max_depth);
                }
            }
        }
        Object::Stream(s) => {
            for (k, v) in s.dict.iter() {
                if k.as_slice() != b"Parent" {
                    refs_in(v, out, depth + 1, max_depth);
                }
            }
        }
        _ => {}
    }
}
