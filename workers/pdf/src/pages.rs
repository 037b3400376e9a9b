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
    /// Pages in order.
    pub(crate) pages: Vec<PageRef<'a>>,
    /// Recovered problems (cycles, bad nodes).
    pub(crate) warnings: Vec<String>,
    /// Set when the tree held more than `max_pages` pages (the walk stopped).
    pub(crate) too_many: bool,
}

#[derive(Clone, Copy)]
struct Inherited<'a> {
    resources: Option<&'a Dictionary>,
    media: Option<[f32; 4]>,
    crop: Option<[f32; 4]>,
    rotate: Option<i64>,
}

const LETTER: [f32; 4] = [0.0, 0.0, 612.0, 792.0];

/// Walks the page tree of `doc`.
pub(crate) fn pages(doc: &Document, max_pages: usize, max_depth: usize) -> PageList<'_> {
    let mut list = PageList {
        pages: Vec::new(),
        warnings: Vec::new(),
        too_many: false,
    };
    let Ok(cat) = doc.catalog() else {
        list.warnings.push("no document catalog".into());
        return list;
    };
    let Ok(root) = cat.get(b"Pages") else {
        list.warnings.push("the catalog has no /Pages".into());
        return list;
    };
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
        let kids = match get(doc, d, b"Kids") {
            Some(Object::Array(k)) => Some(k),
            _ => None,
        };
        let is_page = match get(doc, d, b"Type") {
            Some(Object::Name(n)) => n == b"Page",
            _ => kids.is_none(),
        };
        if is_page || kids.is_none() {
            if list.pages.len() >= max_pages {
                list.too_many = true;
                break;
            }
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
            list.pages.push(PageRef {
                id: ref_id(node),
                dict: d,
                resources: inh.resources,
                media,
                crop,
                rotate,
            });
            continue;
        }
        if let Some(kids) = kids {
            for k in kids.iter().rev() {
                if matches!(deref(doc, k), Object::Null) {
                    continue;
                }
                stack.push((k, inh, depth + 1));
            }
        }
        if stack.len() > 4 * max_pages + 1024 {
            list.warnings
                .push("the page tree is too large; the rest is skipped".into());
            list.too_many = true;
            break;
        }
    }
    list
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
