//! The daa pdf agent: text, pages, tables and metadata of PDF documents.
//!
//! [`PdfAgent`] implements [`daa_worker::Agent`] for the extraction stage of PDF
//! documents. lopdf parses the file (cross-reference tables and streams, object streams,
//! decryption, reconstruction of damaged files); everything after parsing is this
//! crate's own:
//!
//! - `content`: the content-stream interpreter (graphics and text state, form
//!   XObjects), recording positioned glyphs, ruling lines and image placements;
//! - `font`: encodings and widths (ToUnicode CMaps, standard encodings with
//!   `/Differences`, built-in encodings of embedded Type 1 and CFF programs, Type0/CID
//!   fonts with Identity or embedded CMaps and Adobe's CJK collections, Type 3);
//! - `layout`: words from glyph positions, blocks and lines, reading order across
//!   columns;
//! - `tables`: tables from column alignment and ruling lines;
//! - `meta`: Info dictionary, XMP, outline, page sizes;
//! - `decode`, `load`, `pages`: bounded decoding, loading under limits, the page tree;
//! - `salvage`, `orphans`: objects with broken syntax read leniently, a new page tree
//!   for pages whose own tree is lost;
//! - `lazy`, `rawfile`, `leaf`: loading only what a page range needs.
//!
//! # Output
//!
//! - `pages`: one [`Page`](daa_shared::model::Page) per extracted page, with its
//!   absolute number, `ocr: false`, no confidence. A page whose text layer is empty
//!   still appears (with empty text), so that pages are numbered without gaps.
//! - `text`: the pages' texts joined with a form feed (`\f`), as pdftotext separates
//!   pages; within a page, lines end with `\n` and blocks (paragraphs, columns, cells)
//!   are separated by a blank line. Hyphenation is left as it is printed. Like
//!   pdftotext, the page frame is the media box: text in the margins outside the crop
//!   box (printer's marks) is kept. [`PdfAgent::extract`] returns it; the stage output
//!   the worker publishes leaves it out, since the synthesis joins the pages itself.
//! - `tables` (when the job asks for them): `{page, rows}`.
//! - `metadata`: `page_count` (of the whole document, also for a part), `pdf_version`,
//!   `encrypted` (and `encryption` when it was decrypted with the empty user password),
//!   `info` (Info dictionary), `xmp` (`fields`, `packet`), `page_sizes` (runs of equal
//!   pages, of the pages extracted), `outline` (bookmarks with levels and pages;
//!   whole-document runs and the part that runs to the end only), `ocr_pending`
//!   (`[{page, reason}]`: pages without text but with a page-filling image — scanned
//!   pages, for the OCR agent), `xref_rebuilt`, `pages_regrafted` (pages found without
//!   a page tree, see below), `truncated_pages` (pages cut short by a
//!   limit), `pages_extracted` (for a part).
//! - `warnings`: everything recovered from (rebuilt xref, bad fonts, scanned pages).
//! - `losses`: what is known to be missing, which makes the job `partial`: pages cut
//!   short by a limit, text past `max_text_bytes`, pages the page tree lists but the
//!   file lacks, a page tree that was lost (pages
//!   found without it may be missing or out of order), a page that could not be read.
//!
//! # Parts
//!
//! When the task carries a [`Part`](daa_shared::model::Part) with `first_page` and
//! `last_page`, only those pages are extracted; numbers stay absolute. Only what those
//! pages need is loaded (see `lazy`), and the last part runs to the real end of the
//! document, whatever `last_page` says. A whole run loads the same way, as the part
//! "pages 1 to the end": the objects no extraction reads (annotations, structure trees,
//! thumbnails) stay unparsed.
//!
//! # Failures
//!
//! Input that cannot be read (not a PDF, truncated beyond repair, encrypted with a user
//! password, more pages or objects than the [`Limits`], an object stream that is a
//! decompression bomb, a panic inside the parser) is a permanent [`TaskError`] whose
//! message says why. Limits met while reading a page (a content stream bomb, too many
//! operators) cut that page short with a loss instead. Damaged compressed data (a
//! wrong checksum, a stream cut short, a bad block) keep what inflated before the damage,
//! with a warning naming the stream; only a stream that yields nothing is lost. An
//! object whose syntax lopdf rejects is read again leniently, without the entries that
//! do not parse (`salvage`). A document whose page tree is lost (cut off before its
//! trailer, catalog or tree root damaged) gives the page objects it still holds, in the
//! order of their object numbers, with a warning that pages may be missing or out of
//! order (`orphans`, a loss); only a file without any page object fails.
//! `cargo run --release -p daa-pdf --example mutate -- DIR` damages files at random and
//! checks that every outcome is a result (with `MUTATE_COMPARE=1`, beside pdftotext's).

use daa_shared::model::{AgentKind, DocKind, Stage, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, Capabilities, TaskContext};

pub mod bench_support;
mod content;
mod decode;
mod extract;
mod font;
mod layout;
mod lazy;
mod leaf;
mod limits;
mod load;
mod meta;
mod objects;
mod orphans;
mod page_image;
mod pages;
mod rawfile;
mod salvage;
pub mod similarity;
mod tables;
#[cfg(test)]
mod xorshift;

pub use limits::Limits;
pub use page_image::{page_image, PageImage};

/// Count the pages of a PDF without extracting anything. The validation stage uses it
/// so the planner can split large documents.
///
/// The count comes from the page tree's root `/Count`, read lazily (the cross-reference
/// data, the catalog and the root node; lopdf bounds any object stream it unpacks for
/// them to 256 MiB). When that gives nothing (damaged file, no `/Count`), the document is
/// loaded under `limits` and its page tree walked. A `/Count` that lies only skews how a
/// document is split: the last part extends to the real end, and parts past it come back
/// empty with a warning.
pub fn page_count(bytes: &[u8], limits: &Limits) -> Result<u32, TaskError> {
    if bytes.len() > limits.max_bytes {
        return Err(TaskError::permanent(format!(
            "document is {} bytes, more than the pdf agent's limit of {} bytes (max_bytes)",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let quick = std::panic::catch_unwind(|| lopdf::Document::load_metadata_mem(bytes));
    if let Ok(Ok(m)) = quick {
        if m.page_count > 0 && !m.encrypted && (m.page_count as usize) <= limits.max_pages {
            return Ok(m.page_count);
        }
    }
    let loaded = load::load(bytes, limits)?;
    let list = pages::pages(&loaded.doc, limits.max_pages, limits.max_depth);
    Ok(list.total)
}

/// The pdf agent.
#[derive(Debug, Clone, Default)]
pub struct PdfAgent {
    limits: Limits,
}

impl PdfAgent {
    /// An agent enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits this agent enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Extracts `bytes` directly (what [`Agent::execute`] does for a task): `pages`
    /// restricts the extraction to a 1-based inclusive range, `tables` asks for tables,
    /// `cancelled` is polled between pages.
    pub fn extract(
        &self,
        bytes: &[u8],
        pages: Option<(u32, u32)>,
        tables: bool,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<StageOutput, TaskError> {
        let req = extract::Request {
            limits: &self.limits,
            range: pages,
            tables,
            cancelled,
            past_end_is_empty: false,
            eager: false,
        };
        Ok(Self::output(extract::run(bytes, &req)?, true))
    }

    /// The stage output of an extraction. `text` (the pages' texts joined by form
    /// feeds) is left out of what goes on the wire: the synthesis joins the pages itself,
    /// and a result need not carry every character twice.
    pub(crate) fn output(x: extract::Extraction, with_text: bool) -> StageOutput {
        let text = with_text.then(|| daa_shared::model::Page::joined_text(&x.pages));
        StageOutput {
            text,
            pages: x.pages,
            tables: x.tables,
            metadata: x.metadata,
            warnings: x.warnings,
            losses: x.losses,
            ..StageOutput::default()
        }
    }
}

impl Agent for PdfAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Pdf
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::Extraction],
            kinds: vec![DocKind::Pdf],
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let doc = ctx.document.as_ref().ok_or_else(|| {
            TaskError::permanent(format!(
                "task {}: no document bytes were given to the pdf agent \
                 (the task's source could not be resolved to bytes)",
                task.task_id
            ))
        })?;
        // The last part of a split runs to the real end of the document (the page count
        // the split was planned from may be short).
        let range = task.part.and_then(|p| {
            let last_part = p.count > 1 && p.index + 1 == p.count;
            match (p.first_page, p.last_page) {
                (Some(f), _) if last_part => Some((f, u32::MAX)),
                (Some(f), Some(l)) => Some((f, l)),
                (Some(f), None) => Some((f, u32::MAX)),
                (None, Some(l)) => Some((1, l)),
                (None, None) => None,
            }
        });
        let split = task.part.is_some_and(|p| p.count > 1);
        let cancel = ctx.cancel.clone();
        let req = extract::Request {
            limits: &self.limits,
            range,
            tables: task.requirements.extract_tables,
            cancelled: &move || cancel.is_cancelled(),
            past_end_is_empty: split,
            eager: false,
        };
        let out = Self::output(extract::run(&doc.bytes, &req)?, false);
        tracing::debug!(
            task_id = %task.task_id,
            pages = out.pages.len(),
            tables = out.tables.len(),
            warnings = out.warnings.len(),
            "pdf extraction done"
        );
        Ok(out)
    }
}
