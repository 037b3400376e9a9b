//! `[agents.neural]`: every setting of the neural agent, with its default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Engine;

/// Environment variable naming the model directory when `model_dir` is not set. (It is
/// not a configuration variable: there is no `[model]` section.)
pub const MODEL_DIR_ENV: &str = "DAA_MODEL_DIR";

/// Where `scripts/fetch-model.sh` puts the model by default, under `$HOME`.
pub const DEFAULT_MODEL_SUBDIR: &str = ".cache/daa/models/all-MiniLM-L6-v2";

/// Settings of the neural agent, read from the `[agents.neural]` section of the
/// configuration (`Config::agent::<NeuralConfig>("neural")`). Unknown keys are errors;
/// missing keys take the defaults documented on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeuralConfig {
    /// Directory of the sentence-embedding model (`model.safetensors`, `config.json`,
    /// `tokenizer.json`, `sentence_bert_config.json`), as `scripts/fetch-model.sh` lays it
    /// out. Default: `$DAA_MODEL_DIR`, else `~/.cache/daa/models/all-MiniLM-L6-v2`.
    pub model_dir: Option<PathBuf>,
    /// Forward-pass implementation: `"fast"` (packed batches, fused kernels; default) or
    /// `"candle"` (candle-transformers' `BertModel`, about 3-4x slower).
    pub engine: Engine,
    /// Inference threads of this process, shared by all its tasks (default 0: one per
    /// available core). With several worker processes on one machine, give each a share.
    pub threads: usize,
    /// Most sequences per forward pass (default 32).
    pub batch_size: usize,
    /// Most tokens per forward pass (default 16 384); bounds memory.
    pub max_batch_tokens: usize,
    /// Tokens per sequence, `[CLS]` and `[SEP]` included (default: the model's
    /// `max_seq_length` from `sentence_bert_config.json`, 256).
    pub max_seq_length: Option<usize>,
    /// Tokens per chunk, without `[CLS]`/`[SEP]` (default: `max_seq_length - 2`, 254).
    pub chunk_tokens: Option<usize>,
    /// Tokens shared by consecutive chunks (default 32).
    pub chunk_overlap: usize,
    /// Most chunks produced for one document; the rest of the text is left out and
    /// reported as a loss, which makes the job `partial` (default 20 000, ~4.5 million
    /// tokens).
    pub max_chunks: usize,
    /// Largest text processed, in bytes; a longer text is cut (at a character boundary)
    /// and the rest reported as a loss when chunks or entities were asked for, a warning
    /// when only the classification was (it reads a sample anyway) (default 32 MiB).
    pub max_text_bytes: usize,
    /// Zero-shot labels with the descriptions their prototypes are embedded from
    /// (default: invoice, contract, scientific paper, resume, news article, manual,
    /// financial report, letter, form, legal, other).
    pub labels: Vec<LabelConfig>,
    /// Softmax temperature turning cosine similarities into label scores (default 0.05).
    /// Lower is more confident.
    pub temperature: f32,
    /// Chunks embedded to classify a document that has no chunk embeddings yet, spread
    /// evenly over the text (default 16).
    pub classify_max_chunks: usize,
    /// Directory of an optional BERT token-classification model (`config.json` with
    /// `id2label`, `model.safetensors`, `tokenizer.json`) whose PER/ORG/LOC/MISC
    /// entities are merged with the pattern recognisers' (default none).
    pub ner_model_dir: Option<PathBuf>,
    /// Lowest mean token probability for a model entity to be kept (default 0.5).
    pub ner_min_score: f32,
    /// Pattern entity kinds to report (default: all of email, url, phone, date, time,
    /// money, percentage, iban, isbn, credit_card, ip_address).
    pub entity_kinds: Option<Vec<String>>,
    /// Lowest whatlang confidence (0..=1) for a language to be reported (default 0.5);
    /// below it `language` stays empty.
    pub language_min_confidence: f64,
}

/// A zero-shot label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelConfig {
    /// The label reported in `classification.label`.
    pub name: String,
    /// Sentences typical of documents of this class; a document's similarity to the
    /// label is its best cosine similarity to one of them (default: the name itself).
    #[serde(default)]
    pub descriptions: Vec<String>,
}

impl LabelConfig {
    fn new(name: &str, descriptions: &[&str]) -> Self {
        Self {
            name: name.into(),
            descriptions: descriptions.iter().map(|d| d.to_string()).collect(),
        }
    }
}

/// The default label set. Each description reads like a piece of such a document (the
/// model compares contents, so descriptions of what a document contains work better than
/// definitions of the word).
pub fn default_labels() -> Vec<LabelConfig> {
    vec![
        LabelConfig::new(
            "invoice",
            &[
                "Invoice number, invoice date, bill to, description, quantity, unit price, \
                 subtotal, VAT, total amount due.",
                "Please pay the amount due by bank transfer within 30 days of the invoice \
                 date, quoting the invoice number.",
                "Bill for goods delivered and services rendered, with prices, tax and the \
                 total payable.",
            ],
        ),
        LabelConfig::new(
            "contract",
            &[
                "This agreement is entered into by and between the parties, who agree to \
                 the following terms and conditions.",
                "Either party may terminate this agreement with written notice; the \
                 contractor shall deliver the services and the client shall pay the fees.",
                "Obligations of the parties, term and termination, confidentiality, \
                 liability, governing law, signatures.",
            ],
        ),
        LabelConfig::new(
            "scientific paper",
            &[
                "Abstract. In this paper we propose a novel method and evaluate it \
                 experimentally; results show significant improvements over baselines.",
                "Introduction, related work, methodology, experiments, results, \
                 discussion, conclusion and references to prior work.",
                "We prove a theorem, derive bounds, and report experiments on benchmark \
                 datasets averaged over random seeds.",
            ],
        ),
        LabelConfig::new(
            "resume",
            &[
                "Curriculum vitae: professional experience, education, skills, languages \
                 and contact details of a job candidate.",
                "Senior software engineer, 2015 - present: led a team and built systems. \
                 Education: MSc, university. Skills: Python, SQL, Java.",
                "Work history, degrees, certifications and references of an applicant \
                 looking for a job.",
            ],
        ),
        LabelConfig::new(
            "news article",
            &[
                "The minister told reporters on Tuesday that the government would announce \
                 new measures, officials said.",
                "Breaking news: police said the incident happened late on Monday; \
                 witnesses described the scene.",
                "The company's shares fell after the announcement, according to a \
                 statement released on Wednesday.",
            ],
        ),
        LabelConfig::new(
            "manual",
            &[
                "Installation instructions: connect the device, press the power button and \
                 follow the steps on the display.",
                "User manual with safety warnings, operating instructions, maintenance, \
                 cleaning and a troubleshooting table.",
                "Step 1: open the settings menu. Step 2: select the option. Note: do not \
                 remove the cover while the unit is on.",
            ],
        ),
        LabelConfig::new(
            "financial report",
            &[
                "Quarterly results: revenue, gross margin, operating income, net profit \
                 and earnings per share compared with last year.",
                "Annual report with balance sheet, income statement, cash flow statement \
                 and outlook for shareholders.",
                "Revenue grew by eight percent and free cash flow improved; we confirm our \
                 guidance for the fiscal year.",
            ],
        ),
        LabelConfig::new(
            "letter",
            &[
                "Dear Mr Smith, thank you for your letter. I am writing to inform you. \
                 Yours sincerely.",
                "Dear Sir or Madam, with reference to your request, please find enclosed. \
                 Kind regards.",
                "Dear Ms Jones, I am sorry to hear about your experience and I would like \
                 to explain what happened. Please do not hesitate to contact me. Best \
                 wishes, John.",
            ],
        ),
        LabelConfig::new(
            "form",
            &[
                "Application form: surname, first name, date of birth, address, phone, \
                 signature; tick the boxes that apply.",
                "Please complete all fields in block capitals. Name: ____ Date: ____ \
                 Signature: ____",
            ],
        ),
        LabelConfig::new(
            "legal",
            &[
                "The court held that the defendant was liable; the appeal is dismissed and \
                 the judgment of the lower court affirmed.",
                "Section 1. Definitions. This regulation applies to; pursuant to article \
                 5 of the act; the provisions of this law.",
                "Terms of service and privacy policy: by using this website you agree to \
                 these terms and to the processing of personal data.",
            ],
        ),
        LabelConfig::new(
            "other",
            &[
                "Once upon a time, she walked into the old house and looked out of the \
                 window at the rain.",
                "Recipe: mix the flour, sugar and eggs, then bake for 30 minutes.",
                "Hey, are we still meeting for lunch tomorrow? Let me know!",
                "My holiday photos and thoughts about the trip, posted on my blog.",
            ],
        ),
    ]
}

impl Default for NeuralConfig {
    fn default() -> Self {
        Self {
            model_dir: None,
            engine: Engine::Fast,
            threads: 0,
            batch_size: 32,
            max_batch_tokens: 16_384,
            max_seq_length: None,
            chunk_tokens: None,
            chunk_overlap: 32,
            max_chunks: 20_000,
            max_text_bytes: 32 * 1024 * 1024,
            labels: default_labels(),
            temperature: 0.05,
            classify_max_chunks: 16,
            ner_model_dir: None,
            ner_min_score: 0.5,
            entity_kinds: None,
            language_min_confidence: 0.5,
        }
    }
}

impl NeuralConfig {
    /// The model directory: `model_dir`, else `$DAA_MODEL_DIR`, else
    /// `~/.cache/daa/models/all-MiniLM-L6-v2`.
    pub fn resolved_model_dir(&self) -> PathBuf {
        if let Some(d) = &self.model_dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(DEFAULT_MODEL_SUBDIR)
    }

    /// Check the values that serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.labels.len() < 2 {
            return Err("[agents.neural] labels: at least two labels are needed".into());
        }
        let mut names: Vec<&str> = self.labels.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("[agents.neural] labels: {:?} appears twice", w[0]));
        }
        if names.iter().any(|n| n.trim().is_empty()) {
            return Err("[agents.neural] labels: a label has an empty name".into());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err("[agents.neural] temperature must be > 0".into());
        }
        if let Some(n) = self.chunk_tokens {
            if n == 0 {
                return Err("[agents.neural] chunk_tokens must be > 0".into());
            }
            if self.chunk_overlap >= n {
                return Err(format!(
                    "[agents.neural] chunk_overlap {} must be smaller than chunk_tokens {n}",
                    self.chunk_overlap
                ));
            }
        }
        if let Some(kinds) = &self.entity_kinds {
            for k in kinds {
                if !crate::entities::PATTERN_KINDS.contains(&k.as_str()) {
                    return Err(format!(
                        "[agents.neural] entity_kinds: unknown kind {k:?} (known: {})",
                        crate::entities::PATTERN_KINDS.join(", ")
                    ));
                }
            }
        }
        if !(0.0..=1.0).contains(&self.ner_min_score) {
            return Err("[agents.neural] ner_min_score must be within 0..=1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let c: NeuralConfig =
            serde_json::from_str(r#"{"threads": 2, "engine": "candle"}"#).unwrap();
        assert_eq!(c.threads, 2);
        assert_eq!(c.engine, Engine::Candle);
        assert_eq!(c.chunk_overlap, 32);
        assert_eq!(c.labels.len(), 11);
        c.validate().unwrap();
        let err = serde_json::from_str::<NeuralConfig>(r#"{"treads": 2}"#).unwrap_err();
        assert!(err.to_string().contains("treads"), "{err}");
    }

    #[test]
    fn labels_can_be_replaced() {
        let c: NeuralConfig = serde_json::from_str(
            r#"{"labels": [{"name": "cat"}, {"name": "dog", "descriptions": ["a dog"]}]}"#,
        )
        .unwrap();
        assert_eq!(c.labels.len(), 2);
        c.validate().unwrap();
        let dup: NeuralConfig =
            serde_json::from_str(r#"{"labels": [{"name": "a"}, {"name": "a"}]}"#).unwrap();
        assert!(dup.validate().is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        let c = NeuralConfig {
            chunk_tokens: Some(16),
            chunk_overlap: 16,
            ..NeuralConfig::default()
        };
        assert!(c.validate().is_err());
        let c = NeuralConfig {
            entity_kinds: Some(vec!["emali".into()]),
            ..NeuralConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("emali"));
    }

    #[test]
    fn model_dir_falls_back_to_the_cache() {
        let c = NeuralConfig {
            model_dir: Some("/m".into()),
            ..NeuralConfig::default()
        };
        assert_eq!(c.resolved_model_dir(), PathBuf::from("/m"));
        let d = NeuralConfig::default().resolved_model_dir();
        assert!(
            std::env::var_os(MODEL_DIR_ENV).is_some() || d.ends_with(DEFAULT_MODEL_SUBDIR),
            "{}",
            d.display()
        );
    }
}
