//! Loading a document with lopdf, under the agent's limits.
//!
//! lopdf parses every object eagerly and decodes object streams while loading. Its
//! object filter hook (a plain `fn`, so the counters live in a thread-local for the
//! duration of one load) lets the agent count objects against
//! [`Limits::max_objects`] and decode object streams itself, bounded per stream and in
//! total, before lopdf sees them. lopdf also rebuilds a damaged or missing
//! cross-reference table by scanning for objects; when the page tree still does not
//! load, the agent asks for that rebuild explicitly. A panic inside lopdf becomes a
//! permanent error.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use daa_shared::model::TaskError;
use lopdf::{Document, LoadOptions, Object};

use crate::decode::{self, Budget};
use crate::lazy::{self, Stash};
use crate::orphans;
use crate::rawfile;
use crate::salvage;
use crate::Limits;

/// A loaded document and what loading it found.
pub(crate) struct Loaded {
    /// The document (decrypted when it was encrypted with an empty user password).
    pub(crate) doc: Document,
    /// Whether the file was encrypted.
    pub(crate) encrypted: bool,
    /// Whether the cross-reference table had to be rebuilt.
    pub(crate) xref_rebuilt: bool,
    /// Pages hung under a new page tree because the document's own was lost (see
    /// [`orphans`]).
    pub(crate) pages_regrafted: Option<usize>,
    /// Problems that were recovered from.
    pub(crate) warnings: Vec<String>,
    /// What the damage took (see `StageOutput::losses`): pages that may be missing
    /// with a lost page tree.
    pub(crate) losses: Vec<String>,
}

#[derive(Default)]
struct LoadState {
    objects: usize,
    max_objects: usize,
    too_many: bool,
    budget: Option<Budget>,
    objstm_error: Option<String>,
    /// Object streams whose data were damaged (kept up to the damage).
    objstm_damaged: Vec<(u32, u16)>,
    /// Set for a lazy load: object streams are kept packed here instead of decoded.
    stash: Option<Stash>,
}

thread_local! {
    static STATE: RefCell<LoadState> = RefCell::new(LoadState::default());
}

fn filter(id: (u32, u16), obj: &mut Object) -> Option<((u32, u16), Object)> {
    STATE.with(|st| {
        let mut st = st.borrow_mut();
        st.objects += 1;
        if st.objects > st.max_objects {
            st.too_many = true;
            return None;
        }
        let is_objstm = matches!(obj, Object::Stream(s)
            if matches!(s.dict.get(b"Type"), Ok(Object::Name(n)) if n == b"ObjStm"));
        // A lazy load keeps object streams packed (lopdf skips what the filter drops).
        if is_objstm && st.stash.is_some() {
            if let (Object::Stream(s), Some(stash)) =
                (std::mem::replace(obj, Object::Null), st.stash.as_mut())
            {
                stash.keep(id.0, s);
            }
            return None;
        }
        if let Object::Stream(s) = obj {
            if is_objstm && s.dict.has(b"Filter") {
                let doc = Document::new();
                let budget = st.budget.as_mut()?;
                match decode::decode(&doc, s, budget) {
                    Ok((data, damaged)) => {
                        if damaged {
                            st.objstm_damaged.push(id);
                        }
                        s.dict.remove(b"Filter");
                        s.dict.remove(b"DecodeParms");
                        s.set_content(data);
                    }
                    Err(e) => {
                        if st.objstm_error.is_none() {
                            st.objstm_error =
                                Some(format!("object stream {} {} R: {e}", id.0, id.1));
                        }
                        return None;
                    }
                }
            }
        }
        // lopdf keeps `obj` (mutated in place) for top-level objects and uses the
        // returned copy for object-stream members. Streams are never members, so they
        // need no copy.
        match obj {
            Object::Stream(_) => Some((id, Object::Null)),
            other => Some((id, other.clone())),
        }
    })
}

fn page_tree_loaded(doc: &Document) -> bool {
    let Ok(cat) = doc.catalog() else { return false };
    let Some(pages) = cat
        .get(b"Pages")
        .ok()
        .and_then(|o| crate::objects::as_dict(doc, o))
    else {
        return false;
    };
    pages.has(b"Kids") || matches!(pages.get(b"Type"), Ok(Object::Name(n)) if n == b"Page")
}

/// A document as one parse left it, with the object streams it found damaged and the
/// number of objects read again leniently ([`salvage`]).
struct Attempt {
    doc: Document,
    damaged: Vec<(u32, u16)>,
    salvaged: usize,
}

/// Why one parse gave no document.
struct Failed {
    /// What to tell the user.
    reason: String,
    /// Whether what failed was the file's structure (cross-reference data, trailer, an
    /// object the parser could not read past), so that the rest of the file may still
    /// hold pages; not a limit, encryption, a panic or a missing header.
    structure: bool,
}

impl Failed {
    fn other(reason: String) -> Self {
        Self {
            reason,
            structure: false,
        }
    }
}

fn attempt(bytes: &[u8], limits: &Limits, force_reconstruct: bool) -> Result<Attempt, Failed> {
    attempt_with(bytes, limits, force_reconstruct, None).map(|(a, _)| a)
}

fn attempt_with(
    bytes: &[u8],
    limits: &Limits,
    force_reconstruct: bool,
    stash: Option<Stash>,
) -> Result<(Attempt, Option<Stash>), Failed> {
    STATE.with(|st| {
        *st.borrow_mut() = LoadState {
            max_objects: limits.max_objects,
            budget: Some(Budget::new(
                limits.max_total_decompressed_bytes,
                limits.max_stream_bytes,
            )),
            stash,
            ..LoadState::default()
        };
    });
    let opts = LoadOptions {
        filter: Some(filter),
        max_decompressed_size: Some(limits.max_stream_bytes),
        force_reconstruct,
        ..LoadOptions::default()
    };
    let res = catch_unwind(AssertUnwindSafe(|| {
        Document::load_mem_with_options(bytes, opts)
    }));
    let (too_many, objstm_error, stash, damaged) = STATE.with(|st| {
        let mut st = st.borrow_mut();
        (
            st.too_many,
            st.objstm_error.clone(),
            st.stash.take(),
            std::mem::take(&mut st.objstm_damaged),
        )
    });
    if too_many {
        return Err(Failed::other(format!(
            "the document has more than {} objects (max_objects)",
            limits.max_objects
        )));
    }
    match res {
        Err(_) => Err(Failed::other(
            "the PDF parser panicked on this file (malformed structure)".to_string(),
        )),
        Ok(Err(e)) => Err(Failed {
            structure: objstm_error.is_none()
                && matches!(e, lopdf::Error::Xref(_) | lopdf::Error::Parse(_))
                && !matches!(e, lopdf::Error::Parse(lopdf::ParseError::InvalidFileHeader)),
            reason: match objstm_error {
                Some(o) => format!("{o}; {}", describe(&e)),
                None => describe(&e),
            },
        }),
        Ok(Ok(doc)) => {
            if let Some(o) = objstm_error {
                if !page_tree_loaded(&doc) {
                    return Err(Failed::other(o));
                }
            }
            let mut doc = doc;
            // A full load (no stash) gives the objects lopdf could not parse a second
            // chance; a lazy load leaves object streams out on purpose.
            let salvaged = match (&stash, rawfile::body(bytes)) {
                (None, Some(file)) => salvage::missing_objects(&mut doc, file, limits.max_depth),
                _ => 0,
            };
            Ok((
                Attempt {
                    doc,
                    damaged,
                    salvaged,
                },
                stash,
            ))
        }
    }
}

fn describe(e: &lopdf::Error) -> String {
    use lopdf::Error as E;
    match e {
        E::Parse(lopdf::ParseError::InvalidFileHeader) => {
            "not a PDF: no %PDF- header".to_string()
        }
        E::Xref(_) => format!(
            "the cross-reference table and trailer could not be read or rebuilt ({e}); the file is damaged or truncated"
        ),
        E::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => format!(
            "a stream decodes beyond the limit (max_stream_bytes): decompression bomb? ({e})"
        ),
        E::Decryption(_) | E::InvalidPassword => format!(
            "the document is encrypted and cannot be opened without a password ({e})"
        ),
        _ => format!("the PDF could not be parsed: {e}"),
    }
}

/// Loads `bytes` as a PDF within `limits`.
pub(crate) fn load(bytes: &[u8], limits: &Limits) -> Result<Loaded, TaskError> {
    if bytes.is_empty() {
        return Err(TaskError::permanent("the document is empty (0 bytes)"));
    }
    if bytes.len() > limits.max_bytes {
        return Err(TaskError::permanent(format!(
            "document is {} bytes, more than the pdf agent's limit of {} bytes (max_bytes)",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(TaskError::permanent(
            "not a PDF: no %PDF- header in the first 1024 bytes",
        ));
    }
    let mut warnings = Vec::new();
    let mut losses = Vec::new();
    let mut pages_regrafted = None;
    let Attempt {
        doc,
        damaged,
        salvaged,
    } = match attempt(bytes, limits, false) {
        Ok(a) if page_tree_loaded(&a.doc) => a,
        first => match fall_back(bytes, limits, first)? {
            Recovered::Rebuilt(a) => {
                warnings.push(REBUILT.to_string());
                a
            }
            Recovered::Grafted(a, grafted, reason) => {
                losses.push(format!(
                    "{reason}: {} page object(s) found in the file were put in the order of \
                     their object numbers under a new page tree ({} of them inside parts of \
                     the old tree that survived); pages may be missing or out of order",
                    grafted.pages, grafted.in_subtrees
                ));
                pages_regrafted = Some(grafted.pages);
                a
            }
        },
    };
    if salvaged > 0 {
        warnings.push(format!(
            "{salvaged} object(s) with broken syntax were read leniently (entries that do not parse dropped)"
        ));
    }
    // A damaged object stream may have lost nothing (a wrong checksum after all its
    // data): a warning. What its loss costs shows where it is felt, as pages the tree
    // lists but the file lacks (a loss) or fonts that are gone (warnings).
    for (num, gen) in &damaged {
        warnings.push(format!(
            "object stream {num} {gen} R is damaged (its data end early or fail their checksum); objects after the damage are missing"
        ));
    }
    let encrypted = doc.encryption_state.is_some() || doc.trailer.has(b"Encrypt");
    if doc.trailer.has(b"Encrypt") && doc.encryption_state.is_none() {
        return Err(TaskError::permanent(
            "the document is encrypted with a user password; it cannot be opened without it",
        ));
    }
    let xref_rebuilt = doc.xref_recovery.is_some();
    if xref_rebuilt && warnings.is_empty() && losses.is_empty() {
        warnings.push(format!(
            "the cross-reference table was damaged or missing and was rebuilt ({:?})",
            doc.xref_recovery
        ));
    }
    Ok(Loaded {
        doc,
        encrypted,
        xref_rebuilt,
        pages_regrafted,
        warnings,
        losses,
    })
}

/// The warning of a document whose page tree only the rebuilt table led to.
const REBUILT: &str = "the cross-reference data did not lead to the page tree; it was rebuilt by scanning the file for objects";

/// How [`fall_back`] got a document with pages.
enum Recovered {
    /// The cross-reference table rebuilt by scanning the file led to the page tree.
    Rebuilt(Attempt),
    /// The page objects were hung under a new tree; with why the tree was lost.
    Grafted(Attempt, orphans::Grafted, String),
}

/// What [`load`] does when its first parse (`first`) found no page tree: a parse with
/// the cross-reference table rebuilt, then [`regraft`]. The error says why neither
/// worked.
fn fall_back(
    bytes: &[u8],
    limits: &Limits,
    first: Result<Attempt, Failed>,
) -> Result<Recovered, TaskError> {
    let second = match attempt(bytes, limits, true) {
        Ok(a) if page_tree_loaded(&a.doc) => return Ok(Recovered::Rebuilt(a)),
        second => second,
    };
    let reason = match (&first, &second) {
        (Err(e), _) | (Ok(_), Err(e)) => e.reason.clone(),
        (Ok(a), Ok(_)) if a.doc.trailer.has(b"Encrypt") && a.doc.encryption_state.is_none() => {
            return Err(TaskError::permanent(
                "the document is encrypted with a user password; it cannot be opened without it",
            ));
        }
        (Ok(_), Ok(_)) => {
            "the document has no readable page tree (catalog /Pages missing or damaged)".to_string()
        }
    };
    match regraft(bytes, limits, first, second) {
        Some((a, grafted)) => Ok(Recovered::Grafted(a, grafted, reason)),
        None => Err(TaskError::permanent(reason)),
    }
}

/// The last resort of [`load`] when no parse found a page tree: the page objects the
/// file still holds, under a new tree ([`orphans::graft`]). Takes the document of the
/// rebuilt parse, else of the first. When neither holds a page object, or both failed
/// on the file's structure (a file cut off before its trailer, or whose catalog is
/// gone), parses the file again with a catalog appended for the reconstruction to
/// start from. Failures of any other kind (limits, encryption, a panic) stay failures.
fn regraft(
    bytes: &[u8],
    limits: &Limits,
    first: Result<Attempt, Failed>,
    second: Result<Attempt, Failed>,
) -> Option<(Attempt, orphans::Grafted)> {
    let structural = match (&first, &second) {
        (Err(f), Err(s)) => f.structure || s.structure,
        _ => true,
    };
    if let (Ok(mut a), _) | (Err(_), Ok(mut a)) = (second, first) {
        // Decrypted with the empty user password (lopdf then drops `/Encrypt`): its
        // objects are plain. Still encrypted: nothing in it can be read.
        if a.doc.trailer.has(b"Encrypt") && a.doc.encryption_state.is_none() {
            return None;
        }
        if let Some(grafted) = orphans::graft(&mut a.doc, limits.max_pages, limits.max_depth) {
            return Some((a, grafted));
        }
    }
    if !structural {
        return None;
    }
    // The appended trailer names no encryption: an encrypted file's objects stay
    // encrypted, and `graft` refuses them when it finds their security handler.
    let mut a = attempt(&orphans::with_catalog(bytes), limits, true).ok()?;
    let grafted = orphans::graft(&mut a.doc, limits.max_pages, limits.max_depth)?;
    Some((a, grafted))
}

/// Loads what pages `first..=last` need (see [`lazy`]): object streams stay packed
/// unless the range needs one of their objects (a file without object streams comes out
/// fully loaded by the same single parse). Falls back to a full [`load`] whenever the
/// lazy path does not apply or does not come out clean (encrypted, damaged or rebuilt
/// cross-reference data), so recovery and error reporting are the full load's.
pub(crate) fn load_range(
    bytes: &[u8],
    limits: &Limits,
    first: u32,
    last: u32,
) -> Result<Loaded, TaskError> {
    match load_lazy(bytes, limits, first, last) {
        Some(doc) => Ok(Loaded {
            doc,
            encrypted: false,
            xref_rebuilt: false,
            pages_regrafted: None,
            warnings: Vec::new(),
            losses: Vec::new(),
        }),
        None => load(bytes, limits),
    }
}

/// The lazy load alone: `None` when it does not apply. A file whose cross-reference data
/// are plain tables has its objects read one at a time (see [`rawfile`]); any other has
/// them parsed by lopdf with its object streams kept packed.
pub(crate) fn load_lazy(bytes: &[u8], limits: &Limits, first: u32, last: u32) -> Option<Document> {
    if bytes.is_empty() || bytes.len() > limits.max_bytes {
        return None;
    }
    if let (Some(mut doc), Some(file)) = (
        rawfile::open(bytes, limits.max_objects),
        rawfile::body(bytes),
    ) {
        let mut stash = Stash::default();
        let done = catch_unwind(AssertUnwindSafe(|| {
            lazy::complete(&mut doc, &mut stash, first, last, limits, Some(file))
        }));
        if matches!(done, Ok(Ok(()))) && page_tree_loaded(&doc) {
            return Some(doc);
        }
    }
    lazy_with(bytes, limits, |doc, stash| {
        lazy::complete(doc, stash, first, last, limits, None)
    })
}

/// Loads `bytes` with object streams kept packed, then lets `complete` unpack what it
/// needs. `None` when that does not apply or does not come out clean.
fn lazy_with(
    bytes: &[u8],
    limits: &Limits,
    complete: impl FnOnce(&mut Document, &mut Stash) -> Result<(), String>,
) -> Option<Document> {
    let (Attempt { mut doc, .. }, stash) =
        attempt_with(bytes, limits, false, Some(Stash::default())).ok()?;
    let mut stash = stash?;
    // Encrypted documents (even ones lopdf opened with the empty password) take the full
    // load, which reports the encryption state.
    if doc.xref_recovery.is_some() || doc.trailer.has(b"Encrypt") || doc.encryption_state.is_some()
    {
        return None;
    }
    if stash.len() == 0 {
        // No object streams: the attempt parsed everything, exactly as the full load's
        // first attempt would have; loading again would only double the cost. Unless
        // lopdf could not parse some object: the full load reads those again.
        return (page_tree_loaded(&doc) && !salvage::any_unparsed(&doc)).then_some(doc);
    }
    let done = catch_unwind(AssertUnwindSafe(|| complete(&mut doc, &mut stash)));
    match done {
        Ok(Ok(())) if page_tree_loaded(&doc) => Some(doc),
        _ => None,
    }
}
