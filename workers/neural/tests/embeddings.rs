//! Embeddings against an independent reference, semantic sanity and zero-shot
//! classification, with the real all-MiniLM-L6-v2 (fetched by scripts/fetch-model.sh).
//!
//! The reference vectors in `tests/fixtures/reference_embeddings.json` were computed by
//! `scripts/make_reference.py`: a float64 numpy BERT forward pass reading
//! model.safetensors by hand, a pure-Python BERT tokenizer over vocab.txt (its ids checked
//! against the `tokenizers` Python package), mean pooling and L2 normalisation — no
//! candle, no Rust.

#![allow(clippy::unwrap_used)] // Test helpers, like the tests themselves, may unwrap.

mod common;

use common::{agent, cos, model_dir, INVOICE, PAPER, RESUME};
use daa_neural::{Embedder, EmbedderOptions, Engine, NeuralAgent, NeuralConfig};

struct Reference {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> (usize, Vec<Reference>) {
    let raw = include_str!("fixtures/reference_embeddings.json");
    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
    let items = v["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Reference {
            text: s["text"].as_str().unwrap().to_string(),
            ids: s["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect(),
            embedding: s["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect();
    (v["max_seq_length"].as_u64().unwrap() as usize, items)
}

fn check_against_reference(e: &Embedder, what: &str) {
    let (max_len, refs) = reference();
    assert_eq!(e.max_seq_length(), max_len);
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    for r in &refs {
        assert_eq!(
            e.sentence_ids(&r.text).unwrap(),
            r.ids,
            "token ids of {:?}",
            r.text
        );
    }
    // All at once (one padded/packed batch of mixed lengths) and one by one.
    let together = e.embed(&texts).unwrap();
    for (r, got) in refs.iter().zip(&together) {
        assert_eq!(got.len(), 384);
        let c = cos(got, &r.embedding);
        assert!(c >= 0.9999, "{what}: cosine {c} for {:?}", r.text);
        let norm = cos(got, got).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length, got {norm}");
    }
    for (r, t) in refs.iter().zip(&texts) {
        let alone = &e.embed(&[t]).unwrap()[0];
        let c = cos(alone, &r.embedding);
        assert!(c >= 0.9999, "{what} alone: cosine {c} for {:?}", r.text);
    }
}

#[test]
fn fast_engine_matches_the_independent_reference() {
    check_against_reference(agent().embedder(), "fast");
}

#[test]
fn candle_transformers_engine_matches_the_independent_reference() {
    let opts = EmbedderOptions {
        engine: Engine::Candle,
        threads: 2,
        ..EmbedderOptions::new(model_dir())
    };
    let e = Embedder::load(&opts).unwrap();
    check_against_reference(&e, "candle");
}

#[test]
fn batching_does_not_change_embeddings() {
    let e = agent().embedder();
    let set = daa_neural::bench_support::mixed_set();
    let all = e.embed(&set).unwrap();
    for (i, s) in set.iter().enumerate().step_by(5) {
        let alone = &e.embed(&[s]).unwrap()[0];
        let c = cos(alone, &all[i]);
        assert!(c > 0.99999, "sentence {i}: {c}");
    }
}

#[test]
fn similar_sentences_score_higher_than_unrelated_ones() {
    let e = agent().embedder();
    let triples = [
        (
            "A man is playing a guitar on the street.",
            "Someone plays an instrument outside.",
            "The invoice is due at the end of the month.",
        ),
        (
            "The cat sleeps on the sofa.",
            "A kitten is napping on the couch.",
            "Interest rates rose by half a point.",
        ),
        (
            "How do I reset my password?",
            "I forgot my login credentials and need to change them.",
            "The volcano erupted twice last year.",
        ),
        (
            "The central bank raised interest rates.",
            "Borrowing costs went up after the monetary policy decision.",
            "She planted tomatoes in her garden.",
        ),
    ];
    for (a, b, c) in triples {
        let v = e.embed(&[a, b, c]).unwrap();
        let near = cos(&v[0], &v[1]);
        let far = cos(&v[0], &v[2]);
        assert!(near > far + 0.2, "{a:?}: similar {near}, unrelated {far}");
    }
}

#[test]
fn classifier_recognises_invoice_paper_and_resume() {
    let a = agent();
    for (text, want) in [
        (INVOICE, "invoice"),
        (PAPER, "scientific paper"),
        (RESUME, "resume"),
    ] {
        let c = a.classify_text(text).unwrap().unwrap();
        let sum: f32 = c.scores.values().sum();
        assert!((sum - 1.0).abs() < 1e-4, "scores sum to {sum}");
        assert_eq!(c.scores.len(), 11);
        assert_eq!(c.label, want, "scores: {:?}", c.scores);
        assert_eq!(c.score, c.scores[want]);
    }
}

#[test]
fn classifier_labels_the_benchmark_passages() {
    let a = agent();
    let set = daa_neural::bench_support::mixed_set();
    let long: Vec<&str> = set.into_iter().filter(|s| s.len() > 1000).collect();
    let want = [
        "financial report",
        "scientific paper",
        "resume",
        "manual",
        "news article",
        "contract",
        "letter",
    ];
    for (text, want) in long.iter().zip(want) {
        let c = a.classify_text(text).unwrap().unwrap();
        assert_eq!(c.label, want, "{:.40}: {:?}", text, c.scores);
    }
}

#[test]
fn bad_sequences_are_input_errors() {
    let e = agent().embedder();
    let too_long = vec![101u32; 600];
    let err = e.embed_sequences(&[too_long]).unwrap_err();
    assert!(matches!(err, daa_neural::Error::Input(_)), "{err}");
    let out_of_vocab = vec![101u32, 999_999, 102];
    assert!(e.embed_sequences(&[out_of_vocab]).is_err());
    assert!(e.embed_sequences(&[vec![]]).is_err());
    assert!(e.embed_sequences(&[]).unwrap().is_empty());
}

#[test]
fn missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = NeuralAgent::new(NeuralConfig {
        model_dir: Some(dir.path().join("nowhere")),
        ..NeuralConfig::default()
    })
    .unwrap_err();
    assert!(err.contains("fetch-model.sh"), "{err}");
    assert!(err.contains("model.safetensors"), "{err}");
}
