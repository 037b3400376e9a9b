//! Chunking: token windows with overlap over a whole document, their boundaries moved
//! to word starts so no word is cut in two, each with its character offsets in the text.

use std::ops::Range;

use daa_shared::model::Chunk;

use crate::text::bytes_to_chars;
use crate::tokenize::Tokens;

/// Token ranges of windows of at most `size` tokens, consecutive windows sharing about
/// `overlap` tokens. Window ends (and starts) are moved back to the start of a word when
/// that keeps at least half a window, so words are not split between windows.
pub(crate) fn windows(tokens: &Tokens, size: usize, overlap: usize) -> Vec<Range<usize>> {
    let n = tokens.len();
    let size = size.max(1);
    let overlap = overlap.min(size - 1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = (start + size).min(n);
        if end < n {
            let mut e = end;
            while e > start + 1 && !tokens.word_start[e] {
                e -= 1;
            }
            if e - start >= size.div_ceil(2) {
                end = e;
            }
        }
        out.push(start..end);
        if end >= n {
            break;
        }
        let mut next = end.saturating_sub(overlap).max(start + 1);
        while next > start + 1 && !tokens.word_start[next] {
            next -= 1;
        }
        start = next;
    }
    out
}

/// Chunks (text and character offsets, no embedding yet) for token windows of `text`.
pub(crate) fn chunks(text: &str, tokens: &Tokens, windows: &[Range<usize>]) -> Vec<Chunk> {
    let mut bytes: Vec<usize> = Vec::with_capacity(windows.len() * 2);
    for w in windows {
        bytes.push(tokens.offsets[w.start].0);
        bytes.push(tokens.offsets[w.end - 1].1);
    }
    let mut chars = bytes.clone();
    bytes_to_chars(text, &mut chars);
    windows
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let (b0, b1) = (bytes[2 * i], bytes[2 * i + 1]);
            Chunk {
                text: text.get(b0..b1).unwrap_or_default().to_string(),
                start: chars[2 * i],
                end: chars[2 * i + 1],
                embedding: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(words: &[&[&str]]) -> Tokens {
        // Each inner slice is one word made of sub-word pieces; pieces are one byte apart.
        let mut t = Tokens::default();
        let mut pos = 0;
        for w in words {
            for (i, _) in w.iter().enumerate() {
                t.ids.push(t.ids.len() as u32);
                t.offsets.push((pos, pos + 1));
                t.word_start.push(i == 0);
                pos += 1;
            }
            pos += 1;
        }
        t
    }

    #[test]
    fn windows_cover_everything_with_overlap() {
        let t = toks(&[&["a"][..]; 100]);
        let w = windows(&t, 30, 5);
        assert_eq!(w[0], 0..30);
        assert_eq!(w[1], 25..55);
        assert_eq!(w.last().map(|r| r.end), Some(100));
        for pair in w.windows(2) {
            assert!(pair[1].start < pair[0].end, "overlap");
            assert!(pair[1].start > pair[0].start, "progress");
        }
    }

    #[test]
    fn windows_do_not_split_words() {
        // Words of 3 pieces: a window of 10 must end at a word start (9).
        let t = toks(&[&["x", "##y", "##z"][..]; 20]);
        let w = windows(&t, 10, 2);
        for r in &w {
            assert!(t.word_start[r.start], "{r:?} starts mid-word");
            assert!(
                r.end == t.len() || t.word_start[r.end],
                "{r:?} ends mid-word"
            );
        }
    }

    #[test]
    fn one_giant_word_is_still_windowed() {
        let mut pieces = vec!["a"];
        pieces.extend(std::iter::repeat_n("##a", 49));
        let t = toks(&[&pieces]);
        let w = windows(&t, 10, 3);
        assert_eq!(w[0], 0..10);
        assert_eq!(w.last().map(|r| r.end), Some(50));
    }

    #[test]
    fn empty_input_has_no_window() {
        assert!(windows(&Tokens::default(), 10, 2).is_empty());
    }
}
