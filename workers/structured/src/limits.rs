//! Input limits of the structured agent.

use serde::{Deserialize, Serialize};

/// What the structured agent accepts and produces at most (DESIGN §7: inputs have
/// limits). Unknown keys are errors; missing keys take the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest document accepted, in bytes; larger ones fail permanently
    /// (default 64 MiB).
    pub max_bytes: usize,
    /// Deepest nesting of JSON arrays/objects or XML elements; deeper documents fail
    /// permanently (default 128). For JSON, serde_json's own recursion limit of 128
    /// also applies, so values above 128 act as 128.
    pub max_depth: usize,
    /// Most rows kept per table, a CSV header row included; the rest is dropped and
    /// reported as a loss, which makes the job `partial` (default 1 000 000).
    pub max_rows: usize,
    /// Most table cells kept over all tables of a document; the rest is dropped and
    /// reported as a loss (default 20 000 000).
    pub max_cells: usize,
    /// Longest text produced, in bytes; longer text is truncated (at a character
    /// boundary) and reported as a loss (default 32 MiB).
    pub max_text_bytes: usize,
    /// Most bytes that references to entities declared in an XML document's DTD may
    /// expand to, over the whole document; more (a "billion laughs" bomb) fails
    /// permanently before parsing (default 4 MiB).
    pub max_entity_expansion: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 128,
            max_rows: 1_000_000,
            max_cells: 20_000_000,
            max_text_bytes: 32 * 1024 * 1024,
            max_entity_expansion: 4 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let l: Limits = serde_json::from_str(r#"{"max_depth": 16}"#).unwrap();
        assert_eq!(l.max_depth, 16);
        assert_eq!(l.max_bytes, 64 * 1024 * 1024);
        assert_eq!(l.max_rows, 1_000_000);
        let err = serde_json::from_str::<Limits>(r#"{"max_dpeth": 16}"#).unwrap_err();
        assert!(err.to_string().contains("max_dpeth"), "{err}");
    }
}
