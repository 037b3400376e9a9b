//! The token-classification path with a tiny BERT the test writes itself (random weights,
//! or a classifier head forced to one tag). It proves loading and decoding, not accuracy.

#![allow(clippy::unwrap_used)] // Test helpers, like the tests themselves, may unwrap.

mod common;

use std::collections::HashMap;
use std::path::Path;

use daa_neural::entities::{EntityRecognizer, NerModel};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::json;

const LABELS: [&str; 9] = [
    "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC",
];
const WORDS: [&str; 14] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "john", "smith", "works", "at", "acme", "in", "paris", ".",
    "@", "##s",
];
const H: usize = 8;
const I: usize = 16;
const POS: usize = 64;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// Write config.json, tokenizer.json and model.safetensors of a 2-layer BERT with a
/// token-classification head. `head_bias`: `Some(tag)` zeroes the head's weights and
/// gives `tag` a large bias, so every token gets that tag.
fn write_tiny_model(dir: &Path, head_bias: Option<usize>) {
    let vocab: serde_json::Map<String, serde_json::Value> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
    let special = |id: usize, content: &str| {
        json!({"id": id, "special": true, "content": content, "single_word": false,
               "lstrip": false, "rstrip": false, "normalized": false})
    };
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let id2label: serde_json::Map<String, serde_json::Value> = LABELS
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect();
    let config = json!({
        "architectures": ["BertForTokenClassification"], "model_type": "bert",
        "vocab_size": WORDS.len(), "hidden_size": H, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": I, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": POS, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "id2label": id2label
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();

    let mut rng = Lcg(42);
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let mut add = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
        tensors.push((name.to_string(), shape, data));
    };
    let e = "bert.embeddings";
    add(
        &format!("{e}.word_embeddings.weight"),
        vec![WORDS.len(), H],
        rng.vec(WORDS.len() * H),
    );
    add(
        &format!("{e}.position_embeddings.weight"),
        vec![POS, H],
        rng.vec(POS * H),
    );
    add(
        &format!("{e}.token_type_embeddings.weight"),
        vec![2, H],
        rng.vec(2 * H),
    );
    add(&format!("{e}.LayerNorm.weight"), vec![H], vec![1.0; H]);
    add(&format!("{e}.LayerNorm.bias"), vec![H], vec![0.0; H]);
    for l in 0..2 {
        let p = format!("bert.encoder.layer.{l}");
        for (name, out, inp) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", I, H),
            ("output.dense", H, I),
        ] {
            add(
                &format!("{p}.{name}.weight"),
                vec![out, inp],
                rng.vec(out * inp),
            );
            add(&format!("{p}.{name}.bias"), vec![out], rng.vec(out));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(&format!("{p}.{name}.weight"), vec![H], vec![1.0; H]);
            add(&format!("{p}.{name}.bias"), vec![H], vec![0.0; H]);
        }
    }
    let n = LABELS.len();
    match head_bias {
        None => {
            add("classifier.weight", vec![n, H], rng.vec(n * H));
            add("classifier.bias", vec![n], rng.vec(n));
        }
        Some(tag) => {
            add("classifier.weight", vec![n, H], vec![0.0; n * H]);
            let mut b = vec![0.0; n];
            b[tag] = 8.0;
            add("classifier.bias", vec![n], b);
        }
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, d)| (n, s, d.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(
        views,
        None::<HashMap<String, String>>,
        &dir.join("model.safetensors"),
    )
    .unwrap();
}

const TEXT: &str = "John Smith works at Acme in Paris.";

#[test]
fn random_tiny_model_loads_and_decodes_consistently() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), None);
    let model = NerModel::load(dir.path()).unwrap();
    assert_eq!(model.labels(), LABELS);
    let r = EntityRecognizer::new(None, Some(model), 0.0);
    let a = r.recognise(TEXT).unwrap();
    let b = r.recognise(TEXT).unwrap();
    assert_eq!(a, b, "deterministic");
    let chars: Vec<char> = TEXT.chars().collect();
    for e in &a {
        assert!(
            ["PER", "ORG", "LOC", "MISC"].contains(&e.kind.as_str()),
            "{e:?}"
        );
        assert_eq!(chars[e.start..e.end].iter().collect::<String>(), e.text);
    }
    for w in a.windows(2) {
        assert!(w[0].end <= w[1].start);
    }
}

#[test]
fn forced_tags_merge_or_split_words() {
    // Every token I-PER: one entity over the whole sentence.
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), Some(2));
    let r = EntityRecognizer::new(None, Some(NerModel::load(dir.path()).unwrap()), 0.5);
    let e = r.recognise(TEXT).unwrap();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].kind.as_str(), e[0].text.as_str()), ("PER", TEXT));
    assert_eq!((e[0].start, e[0].end), (0, TEXT.chars().count()));

    // Every token B-LOC: one entity per word (unknown words included).
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), Some(5));
    let r = EntityRecognizer::new(None, Some(NerModel::load(dir.path()).unwrap()), 0.5);
    let e = r.recognise("john  smiths, Zürich").unwrap();
    let words: Vec<(&str, &str)> = e
        .iter()
        .map(|x| (x.kind.as_str(), x.text.as_str()))
        .collect();
    assert_eq!(
        words,
        [
            ("LOC", "john"),
            ("LOC", "smiths"),
            ("LOC", ","),
            ("LOC", "Zürich")
        ]
    );
    assert_eq!((e[3].start, e[3].end), (14, 20));

    // Too unsure: nothing.
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), None);
    let r = EntityRecognizer::new(None, Some(NerModel::load(dir.path()).unwrap()), 1.0);
    assert!(r.recognise(TEXT).unwrap().is_empty());
}

#[test]
fn pattern_entities_win_over_model_entities() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), Some(1)); // every word B-PER
    let r = EntityRecognizer::new(None, Some(NerModel::load(dir.path()).unwrap()), 0.5);
    let e = r.recognise("mail john@acme.io in paris").unwrap();
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|x| (x.kind.as_str(), x.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("PER", "mail"),
            ("email", "john@acme.io"),
            ("PER", "in"),
            ("PER", "paris")
        ]
    );
}

#[test]
fn long_text_is_windowed() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), Some(1)); // every word B-PER
    let r = EntityRecognizer::new(None, Some(NerModel::load(dir.path()).unwrap()), 0.5);
    // 200 words > 62 tokens per window of the tiny model.
    let text = "john smith ".repeat(100);
    let e = r.recognise(&text).unwrap();
    assert_eq!(e.len(), 200);
    assert_eq!(e[199].text, "smith");
}

#[test]
fn the_agent_merges_model_entities() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), Some(3)); // every word B-ORG
    let agent = daa_neural::NeuralAgent::new(daa_neural::NeuralConfig {
        model_dir: Some(common::model_dir()),
        ner_model_dir: Some(dir.path().to_path_buf()),
        threads: 1,
        ..daa_neural::NeuralConfig::default()
    })
    .unwrap();
    let req = daa_shared::model::Requirements {
        extract_entities: true,
        ..Default::default()
    };
    let doc = daa_shared::model::ResultDocument {
        text: "acme at 14:35".into(),
        ..Default::default()
    };
    let out = agent
        .analysis(
            &doc,
            req.classify_content,
            req.extract_entities,
            &Default::default(),
        )
        .unwrap();
    let got: Vec<(&str, &str)> = out
        .entities
        .iter()
        .map(|x| (x.kind.as_str(), x.text.as_str()))
        .collect();
    assert_eq!(got, [("ORG", "acme"), ("ORG", "at"), ("time", "14:35")]);

    let bad = daa_neural::NeuralAgent::new(daa_neural::NeuralConfig {
        model_dir: Some(common::model_dir()),
        ner_model_dir: Some(dir.path().join("missing")),
        ..daa_neural::NeuralConfig::default()
    })
    .unwrap_err();
    assert!(bad.contains("entity model"), "{bad}");
}
