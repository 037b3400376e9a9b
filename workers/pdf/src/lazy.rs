//! Loading only what a page range needs.
//!
//! A part of a large PDF (pages `first..=last` of a split document) does not need the
//! whole object graph. Most of a full load goes into parsing the members of object
//! streams (`/Type /ObjStm`): in pdfTeX output, every dictionary of the document. The
//! lazy load (see `load::load_range`) keeps object streams packed while lopdf reads the
//! file and hands them to a [`Stash`]; this module then unpacks, on demand, only the
//! object streams that hold what the range needs:
//!
//! - the page tree down to the pages in range: an intermediate node whose `/Count` puts
//!   all its pages outside the range is skipped unread below it (pdfTeX scatters page
//!   dictionaries over all object streams, so reading them all would unpack nearly
//!   everything). The skipped counts must add up to the root's `/Count`; when they do
//!   not, or the part reports the outline of a document that has one (bookmarks are
//!   numbered over all pages), every node and page dictionary is read. A page outside
//!   the range that the walk must still count (a flat tree holds hundreds of them under
//!   one node) is counted from its bytes when they plainly show a dictionary without
//!   `/Kids` (see [`leaf`]) and loaded as an empty dictionary, which the extraction's
//!   walk counts the same way; when the counts do not hold, those are parsed after all;
//! - everything reachable from the pages in range (contents, resources, fonts, forms,
//!   images), except `/Parent` links and annotations, and stopping at other pages;
//! - the catalog's `/Metadata` (XMP) and the trailer's `/Info`; for the part that
//!   reports the outline (the one that runs to the end, see `pages::reports_outline`),
//!   the outline items and the named destinations they use.
//!
//! The walk follows the same rules as `pages::pages_in` (a node is a page when its
//! `/Type` says so or it has no `/Kids`; the same skips, decided by the same
//! `pages::skippable`), under the same limits (depth, page count, object count), and
//! never loops: every object is visited once. It reads at least what that walk reads, so
//! the result is the same text as after a full load (tested on generated deep trees and
//! every shipped PDF with object streams).

use std::collections::{HashMap, HashSet};

use lopdf::xref::XrefEntry;
use lopdf::{Document, Object, ObjectId, ObjectStream, Stream};

use crate::decode::{self, Budget};
use crate::{leaf, meta, pages, rawfile, Limits};

/// Object streams kept packed during a lazy load, by object number.
#[derive(Default)]
pub(crate) struct Stash {
    packed: HashMap<u32, Stream>,
    /// Object streams decoded so far: their members are parsed one at a time, when
    /// asked for (a page's object stream also holds its neighbours' objects).
    opened: HashMap<u32, Opened>,
    /// Objects unpacked so far (counted against `max_objects`).
    unpacked: usize,
}

/// A decoded object stream: its data and where each member starts.
struct Opened {
    data: Vec<u8>,
    /// Member object number → (start, end) in `data`.
    members: HashMap<u32, (usize, usize)>,
}

impl Opened {
    /// Reads the header of a decoded object stream (`/N` pairs of object number and
    /// offset, relative to `/First`). Each member ends where the next one starts.
    fn new(data: Vec<u8>, first: usize) -> Result<Opened, String> {
        let head = data
            .get(..first)
            .ok_or_else(|| format!("/First {first} lies past the end of the data"))?;
        let text = String::from_utf8_lossy(head);
        let numbers: Vec<usize> = text
            .split(['\r', '\n'])
            .flat_map(|line| {
                line.split('%')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
            })
            .filter_map(|n| n.parse().ok())
            .collect();
        let mut starts: Vec<(u32, usize)> = numbers
            .chunks_exact(2)
            .filter_map(|c| Some((u32::try_from(c[0]).ok()?, first.checked_add(c[1])?)))
            .filter(|(_, at)| *at < data.len())
            .collect();
        let mut sorted: Vec<usize> = starts.iter().map(|(_, at)| *at).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let members = starts
            .drain(..)
            .map(|(id, at)| {
                let next = sorted.partition_point(|&s| s <= at);
                let end = sorted.get(next).copied().unwrap_or(data.len());
                (id, (at, end))
            })
            .collect();
        Ok(Opened { data, members })
    }

    /// The bytes of member `id`, up to where the next member starts.
    fn member(&self, id: u32) -> Option<&[u8]> {
        let (start, end) = *self.members.get(&id)?;
        self.data.get(start..end)
    }

    /// Parses member `id` alone: lopdf parses object streams whole, so the member's
    /// bytes go into a one-member stream of their own.
    fn parse(&self, id: u32, max_stream_bytes: usize) -> Option<Object> {
        let (start, end) = *self.members.get(&id)?;
        let head = format!("{id} 0\n");
        let mut data = Vec::with_capacity(head.len() + end - start);
        data.extend_from_slice(head.as_bytes());
        data.extend_from_slice(&self.data[start..end]);
        let mut dict = lopdf::Dictionary::new();
        dict.set("Type", Object::Name(b"ObjStm".to_vec()));
        dict.set("N", 1);
        dict.set("First", head.len() as i64);
        let one = Stream::new(dict, data);
        let mut parsed = ObjectStream::new_with_limit(&one, Some(max_stream_bytes)).ok()?;
        parsed.objects.remove(&(id, 0))
    }
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
///
/// `raw` is the file (from its header on) when `doc` came from [`rawfile::open`]: its
/// top-level objects are then read from it when needed, as packed ones are unpacked.
pub(crate) fn complete(
    doc: &mut Document,
    stash: &mut Stash,
    first: u32,
    last: u32,
    limits: &Limits,
    raw: Option<&[u8]>,
) -> Result<(), String> {
    let mut c = Completer {
        doc,
        stash,
        raw,
        budget: Budget::new(limits.max_total_decompressed_bytes, limits.max_stream_bytes),
        limits,
        base_objects: 0,
        stubs: Vec::new(),
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
    // Skip what lies outside the range by its /Count, as `pages::pages_in` does; when
    // the counts do not hold, that walk falls back to the whole tree, and so does this.
    let skip = !pages::walks_whole_tree(last, &catalog);
    let (mut tree, mut follow, counts_hold) = c.walk_tree(pages_root.clone(), first, last, skip)?;
    if !counts_hold {
        // The leaves counted from their bytes were counted right, but their page numbers
        // were not: parse them for the whole walk, which may find some in range.
        c.drop_stubs();
        let (all, more, _) = c.walk_tree(pages_root, first, last, false)?;
        tree.extend(all);
        follow.extend(more);
    }
    let outline = pages::reports_outline(last);
    let mut catalog_keys: Vec<&[u8]> = vec![b"Metadata"];
    if outline {
        catalog_keys.push(b"Outlines");
    }
    for k in catalog_keys {
        if let Ok(o) = catalog.get(k) {
            follow.push(o.clone());
        }
    }
    if let Ok(info) = c.doc.trailer.get(b"Info") {
        follow.push(info.clone());
    }
    c.follow(follow, &tree)?;
    if outline {
        // The bookmarks' named destinations: only the ones they use, looked up the way
        // `meta::outline` does (a document may name thousands).
        let names = c.outline_dest_names(&catalog)?;
        let found = c.named_dests(&catalog, names)?;
        c.follow(found, &tree)?;
    }
    Ok(())
}

struct Completer<'a> {
    doc: &'a mut Document,
    stash: &'a mut Stash,
    /// The file, when its top-level objects are read on demand too.
    raw: Option<&'a [u8]>,
    budget: Budget,
    limits: &'a Limits,
    base_objects: usize,
    /// Pages outside the range that a skipping walk counted from their bytes (see
    /// [`leaf`]): loaded as empty dictionaries, which every walk counts as one page and
    /// none reads further.
    stubs: Vec<ObjectId>,
}

/// Page-dictionary keys not followed from a page in range: links up the tree and
/// annotations, which the extraction does not read.
const PAGE_KEYS_NOT_FOLLOWED: [&[u8]; 4] = [b"Parent", b"Annots", b"B", b"Thumb"];

impl Completer<'_> {
    /// Makes sure object `id` is loaded, parsing it out of its object stream if needed.
    fn ensure(&mut self, id: ObjectId) -> Result<(), String> {
        if self.doc.objects.contains_key(&id) {
            return Ok(());
        }
        let container = match (self.doc.reference_table.get(id.0), self.raw) {
            (Some(XrefEntry::Compressed { container, .. }), _) => *container,
            (Some(XrefEntry::Normal { offset, .. }), Some(file)) => {
                let obj = self.read_top_level(file, *offset as usize, id)?;
                return self.insert(id, obj);
            }
            // In the file but not parsed: lopdf could not read it. The full load reads
            // such objects again leniently (`salvage`), so the lazy load hands over.
            (Some(XrefEntry::Normal { .. }), None) => {
                return Err(format!("object {} {} R could not be parsed", id.0, id.1))
            }
            // Free or missing: a dangling reference, which the extraction treats as
            // null, as after a full load.
            _ => return Ok(()),
        };
        self.open(container)?;
        let Some(opened) = self.stash.opened.get(&container) else {
            return Ok(());
        };
        match opened.parse(id.0, self.limits.max_stream_bytes) {
            // Members of an object stream have generation 0; the id asked for is what the
            // cross-reference table names.
            Some(obj) => self.insert(id, obj),
            None => Ok(()),
        }
    }

    /// Adds a loaded object, counted against `max_objects`.
    fn insert(&mut self, id: ObjectId, obj: Object) -> Result<(), String> {
        self.doc.objects.insert(id, obj);
        self.stash.unpacked += 1;
        if self.base_objects + self.stash.unpacked > self.limits.max_objects {
            return Err(format!(
                "the document has more than {} objects (max_objects)",
                self.limits.max_objects
            ));
        }
        Ok(())
    }

    /// Reads top-level object `id` at `offset` of `file`; an indirect `/Length` is read
    /// the same way. A table that does not lead to the object ends the lazy load.
    fn read_top_level(&self, file: &[u8], offset: usize, id: ObjectId) -> Result<Object, String> {
        let table = &self.doc.reference_table;
        let mut length = |r: ObjectId| -> Option<usize> {
            match table.get(r.0) {
                Some(XrefEntry::Normal { offset, .. }) => {
                    let n = rawfile::read(file, *offset as usize, r, &mut |_| None)?;
                    usize::try_from(n.as_i64().ok()?).ok()
                }
                _ => None,
            }
        };
        rawfile::read(file, offset, id, &mut length).ok_or_else(|| {
            format!(
                "object {} {} R is not where the cross-reference table says",
                id.0, id.1
            )
        })
    }

    /// Decodes object stream `container` once (bounded like every stream) and reads its
    /// header; its members are parsed when asked for.
    fn open(&mut self, container: u32) -> Result<(), String> {
        let Some(mut stream) = self.stash.packed.remove(&container) else {
            return Ok(());
        };
        if stream.dict.has(b"Filter") {
            let (data, damaged) = decode::decode(&Document::new(), &stream, &mut self.budget)
                .map_err(|e| format!("object stream {container} 0 R: {e}"))?;
            if damaged {
                // The full load reads what survives and says what was lost.
                return Err(format!("object stream {container} 0 R is damaged"));
            }
            stream.set_content(data);
        }
        let first = match stream.dict.get(b"First") {
            Ok(Object::Integer(n)) => usize::try_from(*n).ok(),
            _ => None,
        }
        .ok_or_else(|| format!("object stream {container} 0 R has no valid /First"))?;
        let opened = Opened::new(stream.content, first)
            .map_err(|e| format!("object stream {container} 0 R: {e}"))?;
        self.stash.opened.insert(container, opened);
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

    /// Walks the page tree as `pages::pages_in` does (skipping subtrees outside the range
    /// when `skip`) or as `pages::pages` does, loading every node and page it reads.
    /// Returns the ids of the tree's objects (where following stops), the values to
    /// follow (everything of the pages in range, inherited attributes of the nodes above
    /// them) and whether the `/Count` values a skipping walk trusted hold (always true
    /// without skips).
    fn walk_tree(
        &mut self,
        root: Object,
        first: u32,
        last: u32,
        skip: bool,
    ) -> Result<(HashSet<ObjectId>, Vec<Object>, bool), String> {
        let max_pages = self.limits.max_pages;
        let mut tree: HashSet<ObjectId> = HashSet::new();
        let mut follow: Vec<Object> = Vec::new();
        let root_count = match self.resolve(&root)? {
            Object::Dictionary(d) => self.count(&d)?,
            Object::Stream(s) => self.count(&s.dict)?,
            _ => None,
        };
        let mut stack: Vec<(Object, usize)> = vec![(root, 0)];
        let mut page_no: u32 = 0;
        let (mut skipped, mut repeated) = (false, false);
        while let Some((node, depth)) = stack.pop() {
            if let Object::Reference(id) = node {
                if !tree.insert(id) {
                    repeated = true;
                    continue;
                }
            }
            if depth > self.limits.max_depth {
                continue;
            }
            if let Object::Reference(id) = node {
                let out_of_range = !(first..=last).contains(&page_no.saturating_add(1));
                if skip && depth > 0 && out_of_range && self.surely_leaf(id)? {
                    // What the leaf branch below does with a page outside the range.
                    if page_no as usize >= max_pages {
                        break;
                    }
                    self.insert(id, Object::Dictionary(lopdf::Dictionary::new()))?;
                    self.stubs.push(id);
                    page_no += 1;
                    continue;
                }
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
            let leaf = is_page || kids.is_none();
            if skip && !leaf && depth > 0 {
                let count = self.count(&dict)?;
                if let Some(c) = pages::skippable(count, page_no, (first, last), max_pages) {
                    page_no += c;
                    skipped = true;
                    continue;
                }
            }
            if leaf {
                if page_no as usize >= max_pages {
                    // The extraction reports the limit; nothing more to load.
                    break;
                }
                page_no += 1;
                if (first..=last).contains(&page_no) {
                    for (k, v) in dict.iter() {
                        if !PAGE_KEYS_NOT_FOLLOWED.contains(&k.as_slice()) {
                            follow.push(v.clone());
                        }
                    }
                }
                continue;
            }
            // An intermediate node: what its pages inherit, then its kids in order.
            for k in pages::INHERITED_KEYS {
                if let Ok(v) = dict.get(k) {
                    follow.push(v.clone());
                }
            }
            if let Some(kids) = kids {
                for k in kids.into_iter().rev() {
                    stack.push((k, depth + 1));
                }
            }
            if stack.len() > 4 * max_pages + 1024 {
                break;
            }
        }
        let holds = !skipped || (!repeated && pages::counts_hold(root_count, page_no));
        Ok((tree, follow, holds))
    }

    /// Whether object `id`, not loaded yet, is a page-tree leaf by its bytes: a plainly
    /// written dictionary without `/Kids` (see [`leaf`]), exactly what parsing it would
    /// count as a page. `false` means "parse it and see".
    fn surely_leaf(&mut self, id: ObjectId) -> Result<bool, String> {
        if self.doc.objects.contains_key(&id) {
            return Ok(false);
        }
        match (self.doc.reference_table.get(id.0), self.raw) {
            (Some(XrefEntry::Compressed { container, .. }), _) => {
                let container = *container;
                // Opened (or failed) here just as `ensure` would open it.
                self.open(container)?;
                let Some(opened) = self.stash.opened.get(&container) else {
                    return Ok(false);
                };
                Ok(opened
                    .member(id.0)
                    .is_some_and(|bytes| leaf::dict_without_kids(bytes).is_some()))
            }
            (Some(XrefEntry::Normal { offset, .. }), Some(file)) => {
                let Some(start) = rawfile::value_start(file, *offset as usize, id) else {
                    return Ok(false);
                };
                Ok(file.get(start..).is_some_and(|rest| {
                    leaf::dict_without_kids(rest)
                        .is_some_and(|end| !rawfile::stream_follows(file, start + end))
                }))
            }
            _ => Ok(false),
        }
    }

    /// Unloads the stubs, so that the next walk parses those objects.
    fn drop_stubs(&mut self) {
        for id in self.stubs.drain(..) {
            if self.doc.objects.remove(&id).is_some() {
                self.stash.unpacked = self.stash.unpacked.saturating_sub(1);
            }
        }
    }

    /// A node's `/Count`, loaded if it is a reference.
    fn count(&mut self, dict: &lopdf::Dictionary) -> Result<Option<f32>, String> {
        Ok(match dict.get(b"Count") {
            Ok(o) => match self.resolve(o)? {
                Object::Integer(i) => Some(i as f32),
                Object::Real(r) => r.is_finite().then_some(r),
                _ => None,
            },
            Err(_) => None,
        })
    }

    /// The destination names the outline items use (`/Dest`, or `/D` of a `/GoTo`
    /// action), in the order met. The items are loaded already (followed from
    /// `/Outlines`); the walk is bounded like `meta::outline`'s.
    fn outline_dest_names(&mut self, catalog: &lopdf::Dictionary) -> Result<Vec<Object>, String> {
        let mut names = Vec::new();
        let Ok(root) = catalog.get(b"Outlines") else {
            return Ok(names);
        };
        let Object::Dictionary(root) = self.resolve(root)? else {
            return Ok(names);
        };
        let max = self.limits.max_outline_items;
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut stack: Vec<(Object, usize)> = root
            .get(b"First")
            .map(|f| vec![(f.clone(), 1)])
            .unwrap_or_default();
        let mut steps = 0usize;
        while let Some((item, level)) = stack.pop() {
            steps += 1;
            if steps > 4 * max + 100 {
                break;
            }
            if let Object::Reference(id) = item {
                if !seen.insert(id) {
                    continue;
                }
            }
            let Object::Dictionary(d) = self.resolve(&item)? else {
                continue;
            };
            let dest = match d.get(b"Dest") {
                Ok(o) => Some(self.resolve(o)?),
                Err(_) => match d.get(b"A").map(|a| self.resolve(a)) {
                    Ok(Ok(Object::Dictionary(a))) => match a.get(b"D") {
                        Ok(o) => Some(self.resolve(o)?),
                        Err(_) => None,
                    },
                    _ => None,
                },
            };
            if let Some(n @ (Object::String(..) | Object::Name(_))) = dest {
                names.push(n);
            }
            if let Ok(next) = d.get(b"Next") {
                stack.push((next.clone(), level));
            }
            if level < self.limits.max_depth {
                if let Ok(first) = d.get(b"First") {
                    stack.push((first.clone(), level + 1));
                }
            }
        }
        Ok(names)
    }

    /// The values of named destinations: a name in the catalog's `/Dests` dictionary, a
    /// string in the `/Names` → `/Dests` name tree (descended by `/Limits`, loading only
    /// the nodes on the way, with `meta::name_tree_lookup`).
    fn named_dests(
        &mut self,
        catalog: &lopdf::Dictionary,
        names: Vec<Object>,
    ) -> Result<Vec<Object>, String> {
        let mut out = Vec::new();
        let dests = match catalog.get(b"Dests").map(|d| self.resolve(d)) {
            Ok(Ok(Object::Dictionary(d))) => Some(d),
            _ => None,
        };
        let tree = match catalog.get(b"Names").map(|n| self.resolve(n)) {
            Ok(Ok(Object::Dictionary(n))) => match n.get(b"Dests").map(|t| self.resolve(t)) {
                Ok(Ok(Object::Dictionary(t))) => Some(t),
                _ => None,
            },
            _ => None,
        };
        for name in names {
            match (&name, &dests, &tree) {
                (Object::Name(n), Some(d), _) => {
                    if let Ok(v) = d.get(n) {
                        out.push(v.clone());
                    }
                }
                (Object::String(key, _), _, Some(t)) => {
                    if let Some(v) = self.name_tree_value(Object::Dictionary(t.clone()), key)? {
                        out.push(v);
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The value under `key` in the name tree `root`. The lookup reads the loaded objects
    /// in place (a leaf's `/Names` array can hold hundreds of entries) and loads what it
    /// meets still packed, then looks again.
    fn name_tree_value(&mut self, root: Object, key: &[u8]) -> Result<Option<Object>, String> {
        let mut asked: HashSet<ObjectId> = HashSet::new();
        loop {
            let Object::Dictionary(root) = &root else {
                return Ok(None);
            };
            match meta::name_tree_lookup(self.doc, root, key) {
                Ok(v) => return Ok(v.cloned()),
                Err(id) => {
                    if !asked.insert(id) {
                        return Ok(None);
                    }
                    self.ensure(id)?;
                }
            }
        }
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
