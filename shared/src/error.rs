//! One error type per operation, in the style of `async-nats`: an [`Error<K>`] carries a
//! kind enum `K` that callers (and tests) match on with [`Error::kind`], plus the source.

use std::fmt;

/// An error of kind `K`, with an optional underlying cause.
pub struct Error<K> {
    kind: K,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl<K: Copy> Error<K> {
    /// A new error of `kind` with no underlying cause.
    pub fn new(kind: K) -> Self {
        Self { kind, source: None }
    }

    /// A new error of `kind` caused by `source`.
    pub fn with_source<E>(kind: K, source: E) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What went wrong, for matching.
    pub fn kind(&self) -> K {
        self.kind
    }
}

impl<K: fmt::Display> fmt::Display for Error<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {}", self.kind, source),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for Error<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl<K: fmt::Display + fmt::Debug> std::error::Error for Error<K> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}
