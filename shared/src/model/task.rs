use serde::{Deserialize, Serialize};

use super::{schema_version, DocKind, Page, Priority, Requirements, ResultDocument, Source};

/// A pipeline stage, in pipeline order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Type, size, emptiness and encoding checks (quality agent).
    Validation,
    /// Text, pages, tables and metadata (pdf, image, web or structured agent).
    Extraction,
    /// Language, chunks, embeddings (neural agent).
    TextProcessing,
    /// Classification and entities (neural agent).
    Analysis,
    /// Stage outputs merged into the result document (coordinator, no task).
    Synthesis,
    /// Final completeness and consistency checks (quality agent).
    Qa,
}

impl Stage {
    /// Name used in task ids, logs and the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Validation => "validation",
            Stage::Extraction => "extraction",
            Stage::TextProcessing => "text_processing",
            Stage::Analysis => "analysis",
            Stage::Synthesis => "synthesis",
            Stage::Qa => "qa",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A type of specialist worker. Each has its own task subjects and consumers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// PDF text, layout and tables.
    Pdf,
    /// Images and OCR.
    Image,
    /// HTML and URLs.
    Web,
    /// JSON, XML, CSV and plain text.
    Structured,
    /// Embeddings, classification, entities, language.
    Neural,
    /// Validation and final QA.
    Quality,
}

impl AgentKind {
    /// Every agent type.
    pub const ALL: [AgentKind; 6] = [
        AgentKind::Pdf,
        AgentKind::Image,
        AgentKind::Web,
        AgentKind::Structured,
        AgentKind::Neural,
        AgentKind::Quality,
    ];

    /// Name used in subjects, consumer names and Redis keys.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Pdf => "pdf",
            AgentKind::Image => "image",
            AgentKind::Web => "web",
            AgentKind::Structured => "structured",
            AgentKind::Neural => "neural",
            AgentKind::Quality => "quality",
        }
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AgentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AgentKind::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown agent type {s:?}"))
    }
}

/// One part of a document split across several tasks of a stage.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Part {
    /// Zero-based index of this part.
    pub index: u32,
    /// How many parts the stage has.
    pub count: u32,
    /// First page (1-based, inclusive) when the split is by pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_page: Option<u32>,
    /// Last page (1-based, inclusive) when the split is by pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_page: Option<u32>,
}

/// What a task works on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskInput {
    /// The document itself (validation and extraction stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The kind the validation stage sniffed from the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocKind>,
    /// The document as synthesized so far (text processing, analysis and QA stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Box<ResultDocument>>,
    /// The document's `text` was left out because it is exactly its pages' texts joined
    /// by form feeds (a paged document's text, megabytes for a long PDF): a receiver
    /// rebuilds it with [`Page::joined_text`] before reading the document. Absent means
    /// the text is as sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_from_pages: bool,
}

impl TaskInput {
    /// Leave the document's text out when its pages rebuild it exactly (see
    /// [`TaskInput::text_from_pages`]); the task then travels with each character once.
    pub fn omit_paged_text(&mut self) {
        let Some(doc) = self.document.as_deref_mut() else {
            return;
        };
        if !self.text_from_pages
            && !doc.pages.is_empty()
            && Page::is_joined(doc.pages.iter().map(|p| p.text.as_str()), &doc.text)
        {
            doc.text = String::new();
            self.text_from_pages = true;
        }
    }

    /// Put back a text left out by [`TaskInput::omit_paged_text`].
    pub fn restore_paged_text(&mut self) {
        if std::mem::take(&mut self.text_from_pages) {
            if let Some(doc) = self.document.as_deref_mut() {
                doc.text = Page::joined_text(&doc.pages);
            }
        }
    }
}

/// A unit of work for one agent, published on `daa.tasks.<agent>.<priority>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageTask {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// Deterministic id `<job_id>.<stage_index>.<stage>.<part>`; also the `Nats-Msg-Id`.
    pub task_id: String,
    /// The job this task belongs to.
    pub job_id: String,
    /// Position of the stage in this job's pipeline (0 = validation).
    pub stage_index: u32,
    /// Which stage.
    pub stage: Stage,
    /// Which agent type runs it.
    pub agent: AgentKind,
    /// The part of the document, when the stage is split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    /// The job's priority.
    #[serde(default)]
    pub priority: Priority,
    /// The job's requirements.
    #[serde(default)]
    pub requirements: Requirements,
    /// What to work on.
    pub input: TaskInput,
    /// The job's deadline (Unix ms); work past it is wasted.
    pub deadline_at_ms: u64,
}

impl StageTask {
    /// The deterministic id of a task.
    pub fn make_id(job_id: &str, stage_index: u32, stage: Stage, part: u32) -> String {
        format!("{job_id}.{stage_index}.{stage}.{part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Encoding;

    fn page(number: u32, text: &str) -> Page {
        Page {
            number,
            text: text.into(),
            ..Page::default()
        }
    }

    fn input(text: &str, pages: &[&str]) -> TaskInput {
        TaskInput {
            document: Some(Box::new(ResultDocument {
                text: text.into(),
                pages: (1..).zip(pages).map(|(n, t)| page(n, t)).collect(),
                ..ResultDocument::default()
            })),
            ..TaskInput::default()
        }
    }

    #[test]
    fn a_text_is_joined_only_when_the_pages_give_it_byte_for_byte() {
        let pages = ["one\ntwo", "", "thrée"];
        assert!(Page::is_joined(pages, "one\ntwo\x0c\x0cthrée"));
        assert!(!Page::is_joined(pages, "one\ntwo\x0c\x0cthrée "));
        assert!(!Page::is_joined(pages, "one\ntwo\n\x0cthrée"));
        assert!(!Page::is_joined(pages, "one\ntwo\x0cthrée"));
        assert!(!Page::is_joined(pages, "one\ntwo\x0c"));
        assert!(Page::is_joined([], ""));
        assert!(!Page::is_joined([], "x"));
    }

    #[test]
    fn a_paged_text_travels_once_and_comes_back_whole() {
        let mut sent = input("a\x0c\x0cb é", &["a", "", "b é"]);
        let whole = sent.clone();
        sent.omit_paged_text();
        assert!(sent.text_from_pages);
        assert_eq!(sent.document.as_ref().map(|d| d.text.as_str()), Some(""));
        // Over the wire and back, as a worker receives it.
        let bytes = Encoding::MsgPack.encode(&sent).unwrap();
        let mut received: TaskInput = Encoding::MsgPack.decode(&bytes).unwrap();
        assert!(received.text_from_pages);
        received.restore_paged_text();
        assert_eq!(received, whole);
        // Restoring twice changes nothing.
        received.restore_paged_text();
        assert_eq!(received, whole);
    }

    #[test]
    fn a_text_the_pages_do_not_give_is_sent_as_it_is() {
        for (text, pages) in [
            // A later stage rewrote the text.
            ("normalised", &["a", "b"][..]),
            // No pages at all: an empty text must not read as "joined from none".
            ("", &[][..]),
            ("plain", &[][..]),
        ] {
            let mut sent = input(text, pages);
            let whole = sent.clone();
            sent.omit_paged_text();
            assert!(!sent.text_from_pages, "{text:?}");
            assert_eq!(sent, whole);
            let json = serde_json::to_value(&sent).unwrap();
            assert!(json.get("text_from_pages").is_none(), "absent when false");
        }
    }
}
