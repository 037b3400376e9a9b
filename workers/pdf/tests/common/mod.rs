//! Small PDFs generated with lopdf's writer for the tests.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::io::Write;

use daa_pdf::{Limits, PdfAgent};
use daa_shared::model::{
    AgentKind, Part, Requirements, Stage, StageOutput, StageTask, TaskError, TaskInput,
};
use daa_worker::{Document as TaskDocument, TaskContext};
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

/// A document under construction.
pub struct Pdf {
    pub doc: Document,
    pub pages_id: ObjectId,
    pub kids: Vec<Object>,
    pub fonts: Dictionary,
    pub xobjects: Dictionary,
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

impl Pdf {
    pub fn new() -> Self {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        Pdf {
            doc,
            pages_id,
            kids: Vec::new(),
            fonts: Dictionary::new(),
            xobjects: Dictionary::new(),
        }
    }

    /// /F1: Helvetica, WinAnsiEncoding, standard widths (no /Widths: core metrics).
    pub fn helvetica(&mut self) -> &mut Self {
        let f = self.doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
            "Encoding" => "WinAnsiEncoding",
        });
        self.fonts.set("F1", f);
        self
    }

    pub fn font(&mut self, name: &str, dict: Dictionary) -> &mut Self {
        let f = self.doc.add_object(dict);
        self.fonts.set(name, f);
        self
    }

    pub fn stream(&mut self, dict: Dictionary, data: Vec<u8>) -> ObjectId {
        self.doc.add_object(Stream::new(dict, data))
    }

    /// A page with `content`, all fonts and XObjects as resources, and `extra` entries.
    pub fn page_with(&mut self, content: &[u8], extra: Dictionary) -> ObjectId {
        let c = self
            .doc
            .add_object(Stream::new(Dictionary::new(), content.to_vec()));
        let mut d = dictionary! {
            "Type" => "Page",
            "Parent" => self.pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Contents" => c,
            "Resources" => dictionary! {
                "Font" => self.fonts.clone(),
                "XObject" => self.xobjects.clone(),
            },
        };
        for (k, v) in extra.into_iter() {
            d.set(k, v);
        }
        let id = self.doc.add_object(d);
        self.kids.push(id.into());
        id
    }

    pub fn page(&mut self, content: &str) -> ObjectId {
        self.page_with(content.as_bytes(), Dictionary::new())
    }

    pub fn finish(&mut self) -> ObjectId {
        let pages = dictionary! {
            "Type" => "Pages",
            "Kids" => self.kids.clone(),
            "Count" => self.kids.len() as i64,
        };
        self.doc
            .objects
            .insert(self.pages_id, Object::Dictionary(pages));
        let cat = self
            .doc
            .add_object(dictionary! { "Type" => "Catalog", "Pages" => self.pages_id });
        self.doc.trailer.set("Root", cat);
        cat
    }

    /// After [`Pdf::finish`]: regroups the root's kids into a balanced tree of
    /// intermediate nodes holding at most `fanout` kids each, as pdfTeX builds it (its
    /// fan-out is 6), with `/Parent` links and `/Count` values. Returns the nodes' ids,
    /// bottom level first.
    pub fn balance_tree(&mut self, fanout: usize) -> Vec<ObjectId> {
        let mut level: Vec<(ObjectId, i64)> = self
            .kids
            .iter()
            .filter_map(|k| k.as_reference().ok())
            .map(|id| (id, 1))
            .collect();
        let mut nodes = Vec::new();
        while level.len() > fanout {
            let mut up = Vec::new();
            for group in level.chunks(fanout) {
                let id = self.doc.new_object_id();
                let count: i64 = group.iter().map(|(_, c)| c).sum();
                for (kid, _) in group {
                    if let Ok(Object::Dictionary(d)) = self.doc.get_object_mut(*kid) {
                        d.set("Parent", id);
                    }
                }
                let kids: Vec<Object> = group.iter().map(|(k, _)| Object::Reference(*k)).collect();
                self.doc.objects.insert(
                    id,
                    Object::Dictionary(dictionary! {
                        "Type" => "Pages", "Parent" => self.pages_id, "Kids" => kids, "Count" => count,
                    }),
                );
                nodes.push(id);
                up.push((id, count));
            }
            level = up;
        }
        for (kid, _) in &level {
            if let Ok(Object::Dictionary(d)) = self.doc.get_object_mut(*kid) {
                d.set("Parent", self.pages_id);
            }
        }
        if let Ok(Object::Dictionary(d)) = self.doc.get_object_mut(self.pages_id) {
            let kids: Vec<Object> = level.iter().map(|(k, _)| Object::Reference(*k)).collect();
            d.set("Kids", kids);
        }
        nodes
    }

    pub fn bytes(mut self) -> Vec<u8> {
        if !self.doc.trailer.has(b"Root") {
            self.finish();
        }
        let mut out = Vec::new();
        self.doc.save_to(&mut out).unwrap();
        out
    }
}

pub fn extract(bytes: &[u8]) -> Result<StageOutput, TaskError> {
    PdfAgent::new(Limits::default()).extract(bytes, None, true, &|| false)
}

pub fn extract_with(bytes: &[u8], limits: Limits) -> Result<StageOutput, TaskError> {
    PdfAgent::new(limits).extract(bytes, None, true, &|| false)
}

/// Text of the single page, whitespace normalised.
pub fn text1(bytes: &[u8]) -> String {
    let out = extract(bytes).unwrap();
    daa_pdf::similarity::normalize(&out.pages[0].text)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// An extraction task for the pdf agent, optionally a part of a split.
pub fn task(part: Option<Part>) -> StageTask {
    StageTask {
        v: 1,
        task_id: "j.1.extraction.0".into(),
        job_id: "j".into(),
        stage_index: 1,
        stage: Stage::Extraction,
        agent: AgentKind::Pdf,
        part,
        priority: Default::default(),
        requirements: Requirements::default(),
        input: TaskInput::default(),
        deadline_at_ms: 0,
    }
}

/// A task context carrying `bytes` as the document.
pub fn ctx(bytes: Vec<u8>) -> TaskContext {
    TaskContext {
        document: Some(TaskDocument::new("x.pdf", bytes)),
        ..TaskContext::default()
    }
}
