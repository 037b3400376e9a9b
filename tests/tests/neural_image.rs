//! The neural and image specialists through the fleet.

use std::time::Duration;

use daa_shared::model::{JobStatus, Requirements, Stage};
use daa_tests::{Client, Env, Role};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_gets_language_chunks_embeddings_classification_and_entities() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn(Role::Structured);
    let _neural = env.spawn(Role::Neural);
    let client = env.client().await;
    let text = "INVOICE No. 2026-117\nBill to: Acme Corp, 12 Harbour Road, Lyon.\n\
        Item: 40 hours of consulting at EUR 95.00 per hour. Subtotal EUR 3,800.00, VAT 20%, \
        total due EUR 4,560.00 by 31 December 2026.\nPay to IBAN FR76 3000 6000 0112 3456 7890 189.\n\
        Questions: billing@acme.example or +33 4 72 00 00 00.\n";
    let mut job = Client::job("invoice.txt", text.as_bytes().to_vec());
    job.requirements = Requirements {
        embeddings: true,
        classify_content: true,
        extract_entities: true,
        ..Requirements::default()
    };
    job.deadline_ms = Some(120_000);
    let mut job = client.submit(job).await;
    let doc = job.result(Duration::from_secs(120)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    let stages: Vec<Stage> = doc.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        vec![
            Stage::Validation,
            Stage::Extraction,
            Stage::TextProcessing,
            Stage::Analysis,
            Stage::Qa
        ]
    );
    assert_eq!(doc.language.as_deref(), Some("en"));
    assert!(!doc.chunks.is_empty());
    assert!(doc
        .chunks
        .iter()
        .all(|c| c.embedding.as_ref().is_some_and(|e| e.len() == 384)));
    let class = doc.classification.as_ref().expect("classification");
    assert_eq!(class.label, "invoice", "{:?}", class.scores);
    assert!(doc
        .entities
        .iter()
        .any(|e| e.kind == "email" && e.text == "billing@acme.example"));
    // Entity offsets are character offsets into the document text.
    let chars: Vec<char> = doc.text.chars().collect();
    for e in &doc.entities {
        let slice: String = chars[e.start..e.end].iter().collect();
        assert_eq!(slice, e.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_image_comes_back_as_ocr_text_with_confidence() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _image = env.spawn(Role::Image);
    let client = env.client().await;
    let png = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workers/image/tests/fixtures/dmca-p3.png");
    let mut job = Client::job("page.png", std::fs::read(&png).unwrap());
    job.deadline_ms = Some(120_000);
    let mut job = client.submit(job).await;
    let doc = job.result(Duration::from_secs(120)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.kind, "image");
    assert_eq!(doc.pages.len(), 1);
    assert!(doc.pages[0].ocr);
    let conf = doc.pages[0].confidence.expect("confidence");
    assert!(conf > 0.5 && conf <= 1.0, "{conf}");
    assert!(
        doc.text.to_lowercase().contains("copyright"),
        "{:.200}",
        doc.text
    );
}
