//! The QA stage through the `Agent` trait.

mod common;

use std::collections::BTreeMap;

use common::{qa_task, task};
use daa_quality::qa;
use daa_quality::QualityAgent;
use daa_shared::model::{
    AgentKind, Chunk, Classification, Entity, ErrorReport, FailureKind, Page, Quality,
    Requirements, ResultDocument, Stage, Table, TaskInput,
};
use daa_worker::{Agent, TaskContext};

fn everything() -> Requirements {
    Requirements {
        extract_text: true,
        extract_tables: true,
        classify_content: true,
        extract_entities: true,
        embeddings: true,
    }
}

/// A document where every check applies and passes; non-ASCII text so that character
/// and byte offsets differ.
fn good_document() -> ResultDocument {
    let page1 = "Zoë Müller paid €40 to ACME.";
    let page2 = "Contact: zoe@example.org";
    let text = format!("{page1}\n\n{page2}");
    let chars: Vec<char> = text.chars().collect();
    let span = |s: usize, e: usize| chars[s..e].iter().collect::<String>();
    let email_start = text.chars().count() - "zoe@example.org".chars().count();
    let email_end = text.chars().count();
    ResultDocument {
        job_id: "job-1".into(),
        kind: "pdf".into(),
        pages: vec![
            Page {
                number: 1,
                text: page1.into(),
                ocr: false,
                confidence: None,
            },
            Page {
                number: 2,
                text: page2.into(),
                ocr: true,
                confidence: Some(0.93),
            },
        ],
        tables: vec![Table {
            page: Some(1),
            rows: vec![
                vec!["name".into(), "amount".into()],
                vec!["Zoë".into(), "40".into()],
            ],
            name: None,
        }],
        classification: Some(Classification {
            label: "invoice".into(),
            score: 0.7,
            scores: BTreeMap::from([
                ("invoice".into(), 0.7),
                ("letter".into(), 0.2),
                ("other".into(), 0.1),
            ]),
        }),
        entities: vec![
            Entity {
                kind: "PER".into(),
                text: span(0, 10),
                start: 0,
                end: 10,
            },
            Entity {
                kind: "email".into(),
                text: span(email_start, email_end),
                start: email_start,
                end: email_end,
            },
        ],
        chunks: vec![
            Chunk {
                text: span(0, 28),
                start: 0,
                end: 28,
                embedding: Some(vec![0.1, 0.2, 0.3]),
            },
            Chunk {
                text: span(30, email_end),
                start: 30,
                end: email_end,
                embedding: Some(vec![0.3, 0.2, 0.1]),
            },
        ],
        text,
        ..ResultDocument::default()
    }
}

fn run(doc: ResultDocument, req: Requirements) -> Quality {
    let out = QualityAgent::default()
        .execute(&qa_task(doc, req), &TaskContext::default())
        .expect("qa succeeds");
    assert!(out.kind.is_none() && out.source.is_none() && out.metadata.is_empty());
    out.quality.expect("qa output carries a quality report")
}

fn failed(q: &Quality) -> Vec<&str> {
    q.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn good_document_scores_one() {
    let q = run(good_document(), everything());
    assert_eq!(failed(&q), Vec::<&str>::new(), "{:#?}", q.checks);
    assert_eq!(q.score, 1.0);
    let names: Vec<&str> = q.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            qa::TEXT_PRESENT,
            qa::PAGES_CONSISTENT,
            qa::LOW_CONFIDENCE_PAGES,
            qa::TABLES_RECTANGULAR,
            qa::ENCODING_CLEAN,
            qa::CLASSIFICATION_SCORES,
            qa::ENTITIES_OFFSETS,
            qa::CHUNKS_OFFSETS,
            qa::REQUIRED_OUTPUTS,
            qa::NO_ERRORS,
        ]
    );
}

#[test]
fn checks_that_do_not_apply_are_left_out() {
    let doc = ResultDocument {
        text: "plain".into(),
        ..ResultDocument::default()
    };
    let q = run(
        doc,
        Requirements {
            extract_tables: false,
            ..Requirements::default()
        },
    );
    let names: Vec<&str> = q.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [qa::TEXT_PRESENT, qa::ENCODING_CLEAN, qa::NO_ERRORS]);
    assert_eq!(q.score, 1.0);
}

#[test]
fn ragged_tables_fail_only_that_check() {
    let mut doc = good_document();
    doc.tables.push(Table {
        page: Some(2),
        rows: vec![vec!["a".into(), "b".into()], vec!["c".into()]],
        name: Some("/items".into()),
    });
    let q = run(doc, everything());
    assert_eq!(failed(&q), [qa::TABLES_RECTANGULAR]);
    let c = &q.checks.iter().find(|c| !c.passed).unwrap();
    assert!(c.detail.contains("table 1 (/items, page 2"), "{}", c.detail);
    assert!(q.score < 1.0 && q.score > 0.0);
}

#[test]
fn byte_offsets_fail_only_entities_offsets() {
    let mut doc = good_document();
    // "Müller" by byte offsets: "Zoë " is 5 bytes but 4 characters.
    doc.entities[0] = Entity {
        kind: "PER".into(),
        text: "Müller".into(),
        start: 5,
        end: 12,
    };
    let q = run(doc, everything());
    assert_eq!(failed(&q), [qa::ENTITIES_OFFSETS]);
    assert!(q.score < 1.0);
}

#[test]
fn scores_not_summing_to_one_fail_only_classification() {
    let mut doc = good_document();
    let c = doc.classification.as_mut().unwrap();
    c.scores.insert("other".into(), 0.5);
    let q = run(doc, everything());
    assert_eq!(failed(&q), [qa::CLASSIFICATION_SCORES]);
    let detail = &q.checks.iter().find(|c| !c.passed).unwrap().detail;
    assert!(detail.contains("sum to 1.4"), "{detail}");
    assert!(q.score < 1.0);
}

#[test]
fn label_must_be_the_argmax() {
    let mut doc = good_document();
    doc.classification.as_mut().unwrap().label = "letter".into();
    doc.classification.as_mut().unwrap().score = 0.2;
    let q = run(doc, everything());
    assert_eq!(failed(&q), [qa::CLASSIFICATION_SCORES]);
}

#[test]
fn several_failures_add_up() {
    let mut doc = good_document();
    doc.classification = None;
    doc.pages[1].confidence = Some(0.2);
    doc.errors.push(ErrorReport {
        stage: Stage::Analysis,
        agent: Some(AgentKind::Neural),
        kind: FailureKind::Permanent,
        message: "model missing".into(),
    });
    let q = run(doc, everything());
    assert_eq!(
        failed(&q),
        [
            qa::LOW_CONFIDENCE_PAGES,
            qa::REQUIRED_OUTPUTS,
            qa::NO_ERRORS
        ]
    );
    // Weights: 3+2+1+1+1+2+2+3+2 = 17 in all; 1+3+2 = 6 failed.
    assert!((q.score - 11.0 / 17.0).abs() < 1e-6, "{}", q.score);
}

#[test]
fn missing_embeddings_and_empty_tables() {
    let mut doc = good_document();
    doc.tables.clear();
    doc.entities.clear();
    for c in &mut doc.chunks {
        c.embedding = None;
    }
    let q = run(doc, everything());
    assert_eq!(failed(&q), [qa::REQUIRED_OUTPUTS]);
    let detail = &q
        .checks
        .iter()
        .find(|c| c.name == qa::REQUIRED_OUTPUTS)
        .unwrap()
        .detail;
    assert!(
        detail.contains("embeddings (0 of 2 chunks embedded)"),
        "{detail}"
    );
    assert!(
        detail.contains("tables (0)") && detail.contains("entities (0)"),
        "{detail}"
    );
}

#[test]
fn empty_text_fails_text_present() {
    let q = run(ResultDocument::default(), Requirements::default());
    assert_eq!(failed(&q), [qa::TEXT_PRESENT]);
    assert!(q.score > 0.0 && q.score < 1.0);
}

#[test]
fn qa_without_document_is_permanent() {
    let t = task(Stage::Qa, TaskInput::default(), Requirements::default());
    let e = QualityAgent::default()
        .execute(&t, &TaskContext::default())
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
}
