//! The neural agent: the `TextProcessing` and `Analysis` stages.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use daa_shared::model::{
    AgentKind, Chunk, Classification, ResultDocument, Stage, StageOutput, StageTask, TaskError,
};
use daa_worker::{Agent, CancelFlag, Capabilities, TaskContext};
use serde_json::{json, Map, Value};

use crate::chunk;
use crate::classify::{mean_embedding, ZeroShot};
use crate::config::NeuralConfig;
use crate::embed::{Embedder, EmbedderOptions};
use crate::entities::{EntityRecognizer, NerModel};
use crate::error::Error;
use crate::language;
use crate::text::cut;
use crate::tokenize::Tokens;

/// Windows embedded between two checks of the cancellation flag.
const WINDOWS_PER_STEP: usize = 64;

/// The neural agent. Build it once per process: it loads the model, embeds the label
/// descriptions and compiles the entity patterns.
#[derive(Debug)]
pub struct NeuralAgent {
    cfg: NeuralConfig,
    embedder: Embedder,
    zero_shot: ZeroShot,
    entities: EntityRecognizer,
    chunk_tokens: usize,
    text_processing_tasks: AtomicU64,
    analysis_tasks: AtomicU64,
}

fn task_error(e: Error) -> TaskError {
    match e {
        Error::Inference(_) => TaskError::temporary(e.to_string()),
        Error::Input(_) | Error::Model(_) | Error::MissingFile { .. } => {
            TaskError::permanent(e.to_string())
        }
    }
}

fn check_cancel(cancel: &CancelFlag) -> Result<(), TaskError> {
    if cancel.is_cancelled() {
        Err(TaskError::temporary(
            "neural task cancelled by the worker runtime (deadline passed or worker draining)",
        ))
    } else {
        Ok(())
    }
}

/// A chunked document: its tokens, the token windows and the chunks (without embeddings).
struct Chunked {
    tokens: Tokens,
    windows: Vec<Range<usize>>,
    chunks: Vec<Chunk>,
}

impl NeuralAgent {
    /// Load everything `cfg` asks for. Fails with a message naming the problem (and
    /// `scripts/fetch-model.sh` when the model is missing).
    pub fn new(cfg: NeuralConfig) -> Result<Self, String> {
        cfg.validate()?;
        let dir = cfg.resolved_model_dir();
        let opts = EmbedderOptions {
            engine: cfg.engine,
            threads: cfg.threads,
            batch_size: cfg.batch_size,
            max_batch_tokens: cfg.max_batch_tokens,
            max_seq_length: cfg.max_seq_length,
            ..EmbedderOptions::new(&dir)
        };
        let embedder = Embedder::load(&opts).map_err(|e| {
            format!(
                "neural agent: cannot load the embedding model from {}: {e}",
                dir.display()
            )
        })?;
        let max_chunk = embedder.max_seq_length() - 2;
        let chunk_tokens = cfg.chunk_tokens.unwrap_or(max_chunk);
        if chunk_tokens > max_chunk {
            return Err(format!(
                "[agents.neural] chunk_tokens {chunk_tokens} is more than the model's \
                 max_seq_length {} minus [CLS] and [SEP]",
                embedder.max_seq_length()
            ));
        }
        if cfg.chunk_overlap >= chunk_tokens {
            return Err(format!(
                "[agents.neural] chunk_overlap {} must be smaller than chunk_tokens {chunk_tokens}",
                cfg.chunk_overlap
            ));
        }
        let zero_shot = ZeroShot::new(&embedder, &cfg.labels, cfg.temperature)
            .map_err(|e| format!("neural agent: cannot embed the labels: {e}"))?;
        let ner = match &cfg.ner_model_dir {
            Some(d) => Some(NerModel::load(d).map_err(|e| {
                format!(
                    "neural agent: cannot load the entity model from {}: {e}",
                    d.display()
                )
            })?),
            None => None,
        };
        let entities = EntityRecognizer::new(cfg.entity_kinds.as_deref(), ner, cfg.ner_min_score);
        tracing::info!(
            model_dir = %dir.display(),
            engine = ?embedder.engine(),
            threads = embedder.threads(),
            simd = crate::model::kernels::simd_level(),
            dim = embedder.dim(),
            max_seq_length = embedder.max_seq_length(),
            labels = cfg.labels.len(),
            ner_model = entities.has_model(),
            "neural agent ready"
        );
        Ok(Self {
            cfg,
            embedder,
            zero_shot,
            entities,
            chunk_tokens,
            text_processing_tasks: AtomicU64::new(0),
            analysis_tasks: AtomicU64::new(0),
        })
    }

    /// The agent for the `[agents.neural]` section of `cfg`.
    pub fn from_config(cfg: &daa_shared::config::Config) -> Result<Self, String> {
        let c = cfg
            .agent::<NeuralConfig>("neural")
            .map_err(|e| e.to_string())?;
        Self::new(c)
    }

    /// The embedding model.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// The settings in force.
    pub fn config(&self) -> &NeuralConfig {
        &self.cfg
    }

    /// The zero-shot classifier.
    pub fn zero_shot(&self) -> &ZeroShot {
        &self.zero_shot
    }

    /// The text's token windows and chunks, at most `max_chunks` of them; what the limit
    /// cut off is said in `cut`.
    fn chunked(&self, text: &str, cut: &mut Vec<String>) -> Result<Chunked, TaskError> {
        let tokens = self.embedder.tokenize(text).map_err(task_error)?;
        let mut windows = chunk::windows(&tokens, self.chunk_tokens, self.cfg.chunk_overlap);
        if windows.len() > self.cfg.max_chunks {
            cut.push(format!(
                "the text makes {} chunks; only the first {} (max_chunks) are kept",
                windows.len(),
                self.cfg.max_chunks
            ));
            windows.truncate(self.cfg.max_chunks);
        }
        let chunks = chunk::chunks(text, &tokens, &windows);
        Ok(Chunked {
            tokens,
            windows,
            chunks,
        })
    }

    fn embed_windows(
        &self,
        tokens: &Tokens,
        windows: &[Range<usize>],
        cancel: &CancelFlag,
    ) -> Result<Vec<Vec<f32>>, TaskError> {
        let mut out = Vec::with_capacity(windows.len());
        for step in windows.chunks(WINDOWS_PER_STEP) {
            check_cancel(cancel)?;
            let ids: Vec<&[u32]> = step.iter().map(|w| &tokens.ids[w.clone()]).collect();
            out.extend(self.embedder.embed_windows(&ids).map_err(task_error)?);
        }
        Ok(out)
    }

    /// The `TextProcessing` stage on `text`: language, chunks, and each chunk's embedding
    /// when `embeddings` is set.
    pub fn text_processing(
        &self,
        text: &str,
        embeddings: bool,
        cancel: &CancelFlag,
    ) -> Result<StageOutput, TaskError> {
        let mut warnings = Vec::new();
        // Text past a limit gets no chunks and no embeddings: a loss, and the job partial.
        let mut losses = Vec::new();
        let text = self.limit(text, &mut losses);
        let detected = language::detect(text, self.cfg.language_min_confidence);
        let Chunked {
            tokens,
            windows,
            mut chunks,
        } = self.chunked(text, &mut losses)?;
        if chunks.is_empty() {
            warnings.push("the document has no text to chunk".into());
        }
        if embeddings {
            let embs = self.embed_windows(&tokens, &windows, cancel)?;
            for (c, e) in chunks.iter_mut().zip(embs) {
                c.embedding = Some(e);
            }
        }
        let mut metadata = Map::new();
        metadata.insert(
            "text_processing".into(),
            json!({
                "tokens": tokens.len(),
                "chunks": chunks.len(),
                "chunk_tokens": self.chunk_tokens,
                "chunk_overlap": self.cfg.chunk_overlap,
                "embedding_dim": if embeddings { Value::from(self.embedder.dim()) } else { Value::Null },
                "language_confidence": detected.as_ref().map(|d| d.confidence),
            }),
        );
        Ok(StageOutput {
            language: detected.map(|d| d.code),
            chunks,
            metadata,
            warnings,
            losses,
            ..StageOutput::default()
        })
    }

    /// The `Analysis` stage on a document: classification when `classify` is set,
    /// entities when `entities` is set.
    pub fn analysis(
        &self,
        doc: &ResultDocument,
        classify: bool,
        entities: bool,
        cancel: &CancelFlag,
    ) -> Result<StageOutput, TaskError> {
        let mut warnings = Vec::new();
        let mut cut = Vec::new();
        let text = self.limit(&doc.text, &mut cut);
        let mut out = StageOutput::default();
        if entities {
            // Entities past the cut are not found: a loss. Classification reads a sample
            // of the text anyway, so for it alone the cut is a warning.
            out.losses = cut;
        } else {
            warnings.extend(cut);
        }
        if classify {
            out.classification = self.classify(text, &doc.chunks, cancel, &mut warnings)?;
        }
        if entities {
            check_cancel(cancel)?;
            out.entities = self
                .embedder
                .install(|| self.entities.recognise(text))
                .map_err(task_error)?;
        }
        out.warnings = warnings;
        Ok(out)
    }

    /// Classify a document from its chunk embeddings when it has them (from the text
    /// processing stage), else from up to `classify_max_chunks` chunks spread over the
    /// text. `None` for a document without text.
    fn classify(
        &self,
        text: &str,
        chunks: &[Chunk],
        cancel: &CancelFlag,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Classification>, TaskError> {
        let dim = self.embedder.dim();
        let have: Vec<&[f32]> = chunks
            .iter()
            .filter_map(|c| c.embedding.as_deref())
            .filter(|e| e.len() == dim)
            .collect();
        let doc = if !have.is_empty() && have.len() == chunks.len() {
            mean_embedding(have)
        } else {
            let c = self.chunked(text, warnings)?;
            let n = c.windows.len();
            let k = self.cfg.classify_max_chunks.max(1).min(n);
            let picked: Vec<Range<usize>> = (0..k).map(|i| c.windows[i * n / k].clone()).collect();
            let embs = self.embed_windows(&c.tokens, &picked, cancel)?;
            mean_embedding(embs.iter().map(Vec::as_slice))
        };
        match doc {
            Some(d) => Ok(Some(self.zero_shot.classify(&d))),
            None => {
                warnings.push("the document has no text to classify".into());
                Ok(None)
            }
        }
    }

    /// Classify a text (its chunks' mean embedding against the labels).
    pub fn classify_text(&self, text: &str) -> Result<Option<Classification>, TaskError> {
        let mut warnings = Vec::new();
        self.classify(text, &[], &CancelFlag::default(), &mut warnings)
    }

    /// `text` up to `max_text_bytes`; what the limit cut off is said in `cuts`.
    fn limit<'a>(&self, text: &'a str, cuts: &mut Vec<String>) -> &'a str {
        let t = cut(text, self.cfg.max_text_bytes);
        if t.len() < text.len() {
            cuts.push(format!(
                "the text is {} bytes; only the first {} (max_text_bytes) were processed",
                text.len(),
                t.len()
            ));
        }
        t
    }
}

impl Agent for NeuralAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Neural
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::TextProcessing, Stage::Analysis],
            kinds: Vec::new(),
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let doc = task.input.document.as_deref().ok_or_else(|| {
            TaskError::permanent(format!(
                "task {}: the neural agent needs the document so far (input.document)",
                task.task_id
            ))
        })?;
        let r = task.requirements;
        let out = match task.stage {
            Stage::TextProcessing => {
                self.text_processing_tasks.fetch_add(1, Ordering::Relaxed);
                self.text_processing(&doc.text, r.embeddings, &ctx.cancel)?
            }
            Stage::Analysis => {
                self.analysis_tasks.fetch_add(1, Ordering::Relaxed);
                self.analysis(doc, r.classify_content, r.extract_entities, &ctx.cancel)?
            }
            other => {
                return Err(TaskError::permanent(format!(
                    "the neural agent runs the text_processing and analysis stages, not {other}"
                )))
            }
        };
        tracing::debug!(
            task_id = %task.task_id,
            stage = %task.stage,
            chunks = out.chunks.len(),
            entities = out.entities.len(),
            label = out.classification.as_ref().map(|c| c.label.as_str()),
            "neural task done"
        );
        Ok(out)
    }

    fn metrics(&self) -> Vec<(String, f64)> {
        let s = self.embedder.stats();
        vec![
            ("neural_sequences_total".into(), s.sequences as f64),
            ("neural_tokens_total".into(), s.tokens as f64),
            ("neural_batches_total".into(), s.batches as f64),
            ("neural_inference_seconds_total".into(), s.busy_seconds),
            ("neural_threads".into(), self.embedder.threads() as f64),
            (
                "neural_text_processing_tasks_total".into(),
                self.text_processing_tasks.load(Ordering::Relaxed) as f64,
            ),
            (
                "neural_analysis_tasks_total".into(),
                self.analysis_tasks.load(Ordering::Relaxed) as f64,
            ),
        ]
    }
}
