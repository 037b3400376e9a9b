//! The page tree, walked by hand: inherited attributes (`Resources`, `MediaBox`,
//! `CropBox`, `Rotate`), cycles and excessive depth detected, at most `max_pages` pages.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::objects::{as_dict, deref, get, get_num, rect, ref_id};

/// One page and its effective attributes.
#[derive(Debug, Clone)]
pub(crate) struct PageRef<'a> {
    /// The page object's id, when it has one.
    pub(crate) id: Option<ObjectId>,
    /// The page dictionary.
    pub(crate) dict: &'a Dictionary,
    /// Effective resources.
    pub(crate) resources: Option<&'a Dictionary>,
    /// Media box: the frame of the text positions, as pdftotext uses it (text in
    /// the margins outside the crop box is still text of the page).
    pub(crate) media: [f32; 4],
    /// Crop box (clipped to the media box).
    pub(crate) crop: [f32; 4],
    /// Rotation in degrees (a multiple of 90).
    pub(crate) rotate: i64,
}

/// The pages and what went wrong walking to them.
pub(crate) struct PageList<'a> {
    /// Pages in order: all of them, or those of the range asked for.
    pub(crate) pages: Vec<PageRef<'a>>,
    /// The number of `pages[0]` (1 for a whole walk).
    pub(crate) first: u32,
    /// Pages in the document (counted, or taken from `/Count` for skipped subtrees).
    pub(crate) total: u32,
    /// Recovered problems (cycles, bad nodes).
    pub(crate) warnings: Vec<String>,
    /// Pages the tree lists that the file does not hold.
    pub(crate) losses: Vec<String>,
    /// Set when the tree held more than `max_pages` pages (the walk stopped).
    pub(crate) too_many: bool,
}

impl PageList<'_> {
    /// Page `n` (1-based, absolute), if the walk collected it.
    pub(crate) fn get(&self, n: u32) -> Option<&PageRef<'_>> {
        let i = n.checked_sub(self.first)?;
        self.pages.get(i as usize)
    }
}

#[derive(Clone, Copy)]
struct Inherited<'a> {
    resources: Option<&'a Dictionary>,
    media: Option<[f32; 4]>,
    crop: Option<[f32; 4]>,
    rotate: Option<i64>,
}

const LETTER: [f32; 4] = [0.0, 0.0, 612.0, 792.0];

/// The attributes a page inherits from the nodes above it (PDF 32000-1, 7.7.3.4).
pub(crate) const INHERITED_KEYS: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

/// Walks the whole page tree of `doc`.
pub(crate) fn pages(doc: &Document, max_pages: usize, max_depth: usize) -> PageList<'_> {
    walk(doc, None, false, max_pages, max_depth).0
}

/// The pages `first..=last` of `doc`. Subtrees wholly outside the range are skipped by
/// their `/Count` (see [`skippable`]); when the counts do not add up to the root's, the
/// whole tree is walked instead, so a lying `/Count` costs time, never a page.
pub(crate) fn pages_in(
    doc: &Document,
    first: u32,
    last: u32,
    max_pages: usize,
    max_depth: usize,
) -> PageList<'_> {
    let range = Some((first, last));
    let (list, counts_held) = walk(doc, range, true, max_pages, max_depth);
    if counts_held {
        return list;
    }
    let (mut all, _) = walk(doc, range, false, max_pages, max_depth);
    all.warnings
        .push("the page tree's /Count values do not add up; all of it was walked".into());
    all
}

/// Whether a range reports the outline: a whole run, or the part that runs to the end
/// of the document (`last == u32::MAX`, the last part of a split). Not the first part:
/// it already holds the front matter (title, contents), often the densest pages, and
/// the bookmarks cost the part that reports them a read of every page dictionary and of
/// the destinations, which lie all over the file.
pub(crate) fn reports_outline(last: u32) -> bool {
    last == u32::MAX
}

/// Whether the range ending at `last` needs the whole tree walked: the part that
/// reports the outline maps bookmarks to page numbers over all pages.
pub(crate) fn walks_whole_tree(last: u32, catalog: &Dictionary) -> bool {
    reports_outline(last) && catalog.has(b"Outlines")
}

/// Whether an intermediate node holding `count` pages, the first of them numbered
/// `before + 1`, can be skipped by a walk that wants pages `first..=last`: the count is
/// plausible (1 to `max_pages`) and the pages it claims lie wholly outside the range.
/// Shared with the lazy load, which must load exactly what this walk reads.
pub(crate) fn skippable(
    count: Option<f32>,
    before: u32,
    range: (u32, u32),
    max_pages: usize,
) -> Option<u32> {
    let c = count?;
    if c.fract() != 0.0 || c < 1.0 || c > max_pages as f32 {
        return None;
    }
    let c = c as u32;
    let (first, last) = range;
    let end = before.saturating_add(c);
    (end < first || before >= last).then_some(c)
}

/// Whether the counts a skipping walk trusted hold: the root's `/Count` equals the
/// pages walked plus the pages skipped.
pub(crate) fn counts_hold(root_count: Option<f32>, total: u32) -> bool {
    root_count.is_some_and(|c| c == total as f32)
}

/// The walk. With a range, collects only its pages, and with `skip` skips what
/// [`skippable`] allows; also says whether the counts it skipped by hold (true when it
/// skipped nothing).
fn walk(
    doc: &Document,
    range: Option<(u32, u32)>,
    skip: bool,
    max_pages: usize,
    max_depth: usize,
) -> (PageList<'_>, bool) {
    let mut list = PageList {
        pages: Vec::new(),
        first: range.map_or(1, |(f, _)| f.max(1)),
        total: 0,
        warnings: Vec::new(),
        losses: Vec::new(),
        too_many: false,
    };
    let Ok(cat) = doc.catalog() else {
        list.warnings.push("no document catalog".into());
        return (list, true);
    };
    let Ok(root) = cat.get(b"Pages") else {
        list.warnings.push("the catalog has no /Pages".into());
        return (list, true);
    };
    let root_count = as_dict(doc, root).and_then(|d| get_num(doc, d, b"Count"));
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let inh = Inherited {
        resources: None,
        media: None,
        crop: None,
        rotate: None,
    };
    // Iterative walk: (node, inherited, depth).
    let mut stack: Vec<(&Object, Inherited<'_>, usize)> = vec![(root, inh, 0)];
    let mut reported_cycle = false;
    let mut skipped = false;
    let mut page_no: u32 = 0;
    // Entries of `/Kids` that lead nowhere (objects the file does not hold), and the
    // first of them in page order.
    let mut missing = 0usize;
    let mut first_missing: Option<ObjectId> = None;
    while let Some((node, inh, depth)) = stack.pop() {
        if let Some(id) = ref_id(node) {
            if !seen.insert(id) {
                if !reported_cycle {
                    reported_cycle = true;
                    list.warnings.push(format!(
                        "the page tree refers to object {} {} R more than once (a cycle or a shared node); repeats are skipped",
                        id.0, id.1
                    ));
                }
                continue;
            }
        }
        if depth > max_depth {
            list.warnings.push(format!(
                "the page tree nests deeper than {max_depth} levels (max_depth); deeper nodes are skipped"
            ));
            continue;
        }
        let Some(d) = as_dict(doc, node) else {
            continue;
        };
        let kids = match get(doc, d, b"Kids") {
            Some(Object::Array(k)) => Some(k),
            _ => None,
        };
        let is_page = match get(doc, d, b"Type") {
            Some(Object::Name(n)) => n == b"Page",
            _ => kids.is_none(),
        };
        let leaf = is_page || kids.is_none();
        if let (Some(r), true, false, true) = (range, skip, leaf, depth > 0) {
            if let Some(c) = skippable(get_num(doc, d, b"Count"), page_no, r, max_pages) {
                page_no += c;
                skipped = true;
                continue;
            }
        }
        let inh = Inherited {
            resources: get(doc, d, b"Resources")
                .and_then(|o| as_dict(doc, o))
                .or(inh.resources),
            media: d
                .get(b"MediaBox")
                .ok()
                .and_then(|o| rect(doc, o))
                .or(inh.media),
            crop: d
                .get(b"CropBox")
                .ok()
                .and_then(|o| rect(doc, o))
                .or(inh.crop),
            rotate: get_num(doc, d, b"Rotate").map(|r| r as i64).or(inh.rotate),
        };
        if leaf {
            if page_no as usize >= max_pages {
                list.too_many = true;
                break;
            }
            page_no += 1;
            if range.is_some_and(|(f, l)| !(f..=l).contains(&page_no)) {
                continue;
            }
            list.pages.push(page_ref(node, d, inh));
            continue;
        }
        if let Some(kids) = kids {
            // Kids go on the stack last first; the last missing one seen here is this
            // node's first in page order, and nodes are visited in page order.
            let mut first_here = None;
            for k in kids.iter().rev() {
                if matches!(deref(doc, k), Object::Null) {
                    missing += 1;
                    first_here = ref_id(k).or(first_here);
                    continue;
                }
                stack.push((k, inh, depth + 1));
            }
            first_missing = first_missing.or(first_here);
        }
        if stack.len() > 4 * max_pages + 1024 {
            list.warnings
                .push("the page tree is too large; the rest is skipped".into());
            list.too_many = true;
            break;
        }
    }
    if missing > 0 {
        let which = match first_missing {
            Some(id) => format!("; the first is {} {} R", id.0, id.1),
            None => String::new(),
        };
        list.losses.push(format!(
            "the page tree lists {missing} object(s) the file does not hold (cut off or damaged{which}): those pages are lost, and the pages after them are numbered without them"
        ));
    }
    list.total = page_no;
    if page_no as usize > max_pages {
        // Skipped subtrees can claim more pages than the limit a whole walk enforces.
        list.too_many = true;
    }
    let held = !skipped || (!reported_cycle && counts_hold(root_count, page_no));
    (list, held)
}

fn page_ref<'a>(node: &'a Object, d: &'a Dictionary, inh: Inherited<'a>) -> PageRef<'a> {
    let media = inh.media.unwrap_or(LETTER);
    let crop = inh
        .crop
        .map(|c| {
            [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ]
        })
        .filter(|c| c[2] > c[0] && c[3] > c[1])
        .unwrap_or(media);
    let rotate = inh.rotate.unwrap_or(0).rem_euclid(360) / 90 * 90;
    PageRef {
        id: ref_id(node),
        dict: d,
        resources: inh.resources,
        media,
        crop,
        rotate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    #[test]
    fn loops_and_inheritance() {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let loop_id = doc.new_object_id();
        let p1 = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id });
        doc.objects.insert(
            loop_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![Object::Reference(pages_id)], "Count" => 1 }),
        );
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => vec![Object::Reference(p1), Object::Reference(loop_id), Object::Reference(p1)],
                "Count" => 2,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Rotate" => 90,
            }),
        );
        let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", cat);
        let l = pages(&doc, 100, 32);
        assert_eq!(l.pages.len(), 1);
        assert_eq!(l.pages[0].crop, [0.0, 0.0, 595.0, 842.0]);
        assert_eq!(l.pages[0].rotate, 90);
        assert!(!l.warnings.is_empty());
    }
}
