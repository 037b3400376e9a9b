//! The model's tokenizer (`tokenizer.json`, read by the `tokenizers` crate), with its
//! shipped truncation and padding switched off: windows and truncation are done here, at
//! the model's `max_seq_length`.

use std::path::Path;

use crate::error::{Error, Result};

/// A document or sentence as tokens, without special tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tokens {
    /// Token ids.
    pub(crate) ids: Vec<u32>,
    /// Byte range of each token in the input text.
    pub(crate) offsets: Vec<(usize, usize)>,
    /// Whether each token starts a word (is not a `##` continuation of the one before).
    pub(crate) word_start: Vec<bool>,
}

impl Tokens {
    /// How many tokens.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A WordPiece (BERT) tokenizer.
pub(crate) struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .finish_non_exhaustive()
    }
}

impl TextTokenizer {
    /// Read `tokenizer.json`.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::MissingFile {
                path: path.to_path_buf(),
                fetch_hint: false,
            });
        }
        let mut inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        inner
            .with_truncation(None)
            .map_err(|e| Error::Model(format!("{}: {e}", path.display())))?;
        inner.with_padding(None);
        let id = |t: &str| {
            inner.token_to_id(t).ok_or_else(|| {
                Error::Model(format!(
                    "{}: no {t} token in the vocabulary",
                    path.display()
                ))
            })
        };
        let cls = id("[CLS]")?;
        let sep = id("[SEP]")?;
        Ok(Self { inner, cls, sep })
    }

    /// Tokenize `text` without special tokens and without truncation.
    pub(crate) fn encode(&self, text: &str) -> Result<Tokens> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Input(format!("tokenizer: {e}")))?;
        let words = enc.get_word_ids();
        let word_start = (0..words.len())
            .map(|i| i == 0 || words[i].is_none() || words[i] != words[i - 1])
            .collect();
        Ok(Tokens {
            ids: enc.get_ids().to_vec(),
            offsets: enc.get_offsets().to_vec(),
            word_start,
        })
    }

    /// `[CLS] ids [SEP]`.
    pub(crate) fn wrap(&self, ids: &[u32]) -> Vec<u32> {
        let mut v = Vec::with_capacity(ids.len() + 2);
        v.push(self.cls);
        v.extend_from_slice(ids);
        v.push(self.sep);
        v
    }
}
