//! The agent through its `Agent` interface, as the worker runtime calls it.

#![allow(clippy::unwrap_used)] // Test helpers, like the tests themselves, may unwrap.

mod common;

use common::{agent, cos, INVOICE, PAPER};
use daa_neural::NeuralConfig;
use daa_shared::model::{
    AgentKind, FailureKind, Requirements, ResultDocument, Stage, StageTask, TaskInput,
};
use daa_worker::{Agent, TaskContext};

fn task(stage: Stage, text: &str, requirements: Requirements) -> StageTask {
    StageTask {
        v: 1,
        task_id: StageTask::make_id("j1", 2, stage, 0),
        job_id: "j1".into(),
        stage_index: 2,
        stage,
        agent: AgentKind::Neural,
        part: None,
        priority: Default::default(),
        requirements,
        input: TaskInput {
            document: Some(Box::new(ResultDocument {
                text: text.into(),
                ..ResultDocument::default()
            })),
            ..TaskInput::default()
        },
        deadline_at_ms: u64::MAX,
    }
}

fn chars(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

/// A long text with non-ASCII characters everywhere, so byte and character offsets differ.
fn long_text() -> String {
    let mut s = String::new();
    for i in 0..60 {
        s.push_str(&format!(
            "Paragraph {i}: naïve café owners in Zürich — “résumé” writers — met at 9:30 to \
             discuss the ½ price offer and the Ørsted report. "
        ));
    }
    s
}

#[test]
fn text_processing_chunks_with_char_offsets_and_embeddings() {
    let a = agent();
    let text = long_text();
    let req = Requirements {
        embeddings: true,
        ..Requirements::default()
    };
    let out = a
        .execute(
            &task(Stage::TextProcessing, &text, req),
            &TaskContext::default(),
        )
        .unwrap();
    assert_eq!(out.language.as_deref(), Some("en"));
    assert!(out.chunks.len() > 5, "{} chunks", out.chunks.len());
    let total = text.chars().count();
    let mut covered_to = 0;
    for c in &out.chunks {
        assert_eq!(
            chars(&text, c.start, c.end),
            c.text,
            "offsets are character offsets"
        );
        assert!(c.start <= covered_to, "no gap before {}", c.start);
        covered_to = covered_to.max(c.end);
        let e = c.embedding.as_ref().unwrap();
        assert_eq!(e.len(), 384);
        assert!((cos(e, e) - 1.0).abs() < 1e-4);
    }
    assert!(
        covered_to >= total - 2,
        "chunks cover the text ({covered_to}/{total})"
    );
    // Consecutive chunks overlap.
    assert!(out.chunks.windows(2).all(|w| w[1].start < w[0].end));
    // Only text-processing fields.
    assert!(out.classification.is_none() && out.entities.is_empty() && out.text.is_none());
    // The chunk embedding equals embedding the chunk text on its own (same tokens).
    let c = &out.chunks[1];
    let again = &a.embedder().embed(&[&c.text]).unwrap()[0];
    assert!(cos(again, c.embedding.as_ref().unwrap()) > 0.9999);
}

#[test]
fn text_processing_without_embeddings_still_chunks() {
    let out = agent()
        .execute(
            &task(Stage::TextProcessing, PAPER, Requirements::default()),
            &TaskContext::default(),
        )
        .unwrap();
    assert!(!out.chunks.is_empty());
    assert!(out.chunks.iter().all(|c| c.embedding.is_none()));
}

#[test]
fn analysis_classifies_and_finds_entities_only_when_asked() {
    let a = agent();
    let both = Requirements {
        classify_content: true,
        extract_entities: true,
        ..Requirements::default()
    };
    let out = a
        .execute(
            &task(Stage::Analysis, INVOICE, both),
            &TaskContext::default(),
        )
        .unwrap();
    assert_eq!(out.classification.as_ref().unwrap().label, "invoice");
    let kinds: Vec<&str> = out.entities.iter().map(|e| e.kind.as_str()).collect();
    for k in ["date", "money", "percentage", "iban", "email", "phone"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    for e in &out.entities {
        assert_eq!(chars(INVOICE, e.start, e.end), e.text);
    }
    assert!(out.chunks.is_empty() && out.language.is_none());

    let only_entities = Requirements {
        extract_entities: true,
        ..Requirements::default()
    };
    let out = a
        .execute(
            &task(Stage::Analysis, INVOICE, only_entities),
            &TaskContext::default(),
        )
        .unwrap();
    assert!(out.classification.is_none());
    assert!(!out.entities.is_empty());
}

#[test]
fn analysis_reuses_chunk_embeddings_from_text_processing() {
    let a = agent();
    let req = Requirements {
        embeddings: true,
        classify_content: true,
        ..Requirements::default()
    };
    let tp = a
        .execute(
            &task(Stage::TextProcessing, PAPER, req),
            &TaskContext::default(),
        )
        .unwrap();
    let mut t = task(Stage::Analysis, PAPER, req);
    if let Some(doc) = t.input.document.as_mut() {
        doc.chunks = tp.chunks;
    }
    let out = a.execute(&t, &TaskContext::default()).unwrap();
    assert_eq!(out.classification.unwrap().label, "scientific paper");
}

#[test]
fn empty_text_gives_empty_fields_not_invented_ones() {
    let a = agent();
    let req = Requirements {
        embeddings: true,
        classify_content: true,
        extract_entities: true,
        ..Requirements::default()
    };
    let tp = a
        .execute(
            &task(Stage::TextProcessing, "  \n ", req),
            &TaskContext::default(),
        )
        .unwrap();
    assert!(tp.chunks.is_empty() && tp.language.is_none());
    let an = a
        .execute(&task(Stage::Analysis, "", req), &TaskContext::default())
        .unwrap();
    assert!(an.classification.is_none() && an.entities.is_empty());
    assert!(!an.warnings.is_empty());
}

#[test]
fn bad_tasks_fail_permanently_and_cancellation_temporarily() {
    let a = agent();
    let mut t = task(Stage::TextProcessing, "hello", Requirements::default());
    t.input.document = None;
    let e = a.execute(&t, &TaskContext::default()).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    let t = task(Stage::Extraction, "hello", Requirements::default());
    let e = a.execute(&t, &TaskContext::default()).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);

    let ctx = TaskContext::default();
    ctx.cancel.cancel();
    let req = Requirements {
        embeddings: true,
        ..Requirements::default()
    };
    let e = a
        .execute(&task(Stage::TextProcessing, PAPER, req), &ctx)
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Temporary);
}

#[test]
fn capabilities_and_metrics() {
    let a = agent();
    assert_eq!(a.kind(), AgentKind::Neural);
    assert_eq!(
        a.capabilities().stages,
        vec![Stage::TextProcessing, Stage::Analysis]
    );
    a.embedder().embed(&["warm"]).unwrap();
    let m = a.metrics();
    let get = |n: &str| m.iter().find(|(k, _)| k == n).map(|(_, v)| *v).unwrap();
    assert!(get("neural_sequences_total") >= 1.0);
    assert_eq!(get("neural_threads"), 2.0);
}

#[test]
fn chunk_size_and_overlap_are_configurable() {
    let cfg = NeuralConfig {
        model_dir: Some(common::model_dir()),
        chunk_tokens: Some(500),
        ..NeuralConfig::default()
    };
    let err = daa_neural::NeuralAgent::new(cfg).unwrap_err();
    assert!(err.contains("chunk_tokens"), "{err}");
}

#[test]
fn text_past_a_limit_is_a_loss_not_a_warning() {
    let text = long_text();
    let req = Requirements {
        embeddings: true,
        extract_entities: true,
        ..Requirements::default()
    };
    let ctx = TaskContext::default();

    // Cut by max_chunks: the chunks kept end before the text does, and the output says
    // what was not chunked as a loss (the synthesis turns it into a partial job).
    let few_chunks = daa_neural::NeuralAgent::new(NeuralConfig {
        model_dir: Some(common::model_dir()),
        max_chunks: 2,
        ..NeuralConfig::default()
    })
    .unwrap();
    let whole = agent()
        .execute(&task(Stage::TextProcessing, &text, req), &ctx)
        .unwrap();
    assert!(whole.chunks.len() > 2, "{}", whole.chunks.len());
    assert!(whole.losses.is_empty(), "{:?}", whole.losses);
    let out = few_chunks
        .execute(&task(Stage::TextProcessing, &text, req), &ctx)
        .unwrap();
    assert_eq!(out.chunks.len(), 2);
    assert_eq!(out.losses.len(), 1, "{:?}", out.losses);
    assert!(out.losses[0].contains("max_chunks"), "{:?}", out.losses);
    assert!(out.warnings.iter().all(|w| !w.contains("max_chunks")));

    // Cut by max_text_bytes: an e-mail address past the cut is not found, and the analysis
    // says so; without entities (classification samples the text anyway) it is a warning.
    let short = daa_neural::NeuralAgent::new(NeuralConfig {
        model_dir: Some(common::model_dir()),
        max_text_bytes: 200,
        ..NeuralConfig::default()
    })
    .unwrap();
    let mailed = format!("{text} Write to ops@example.org.");
    let out = short
        .execute(&task(Stage::Analysis, &mailed, req), &ctx)
        .unwrap();
    assert!(out.entities.iter().all(|e| e.text != "ops@example.org"));
    assert_eq!(out.losses.len(), 1, "{:?}", out.losses);
    assert!(out.losses[0].contains("max_text_bytes"), "{:?}", out.losses);
    let found = agent()
        .execute(&task(Stage::Analysis, &mailed, req), &ctx)
        .unwrap();
    assert!(found.entities.iter().any(|e| e.text == "ops@example.org"));
    let classify_only = Requirements {
        classify_content: true,
        ..Requirements::default()
    };
    let out = short
        .execute(&task(Stage::Analysis, &mailed, classify_only), &ctx)
        .unwrap();
    assert!(out.losses.is_empty(), "{:?}", out.losses);
    assert!(out.warnings.iter().any(|w| w.contains("max_text_bytes")));
}
