//! Text similarity as the project measures extraction quality: `1 − CER` after
//! whitespace normalisation, where CER is the character-level Levenshtein distance
//! divided by the reference's length, clamped to 0..=1; page by page, averaged.
//!
//! Levenshtein distance uses the bit-parallel algorithm of Myers (1999) in Hyyrö's
//! block form: O(⌈m/64⌉·n) word operations, a few milliseconds for a dense page.

use std::collections::HashMap;

/// `s` with every run of whitespace turned into one space, trimmed.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Levenshtein distance between two character sequences.
pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    // Pattern: the shorter one.
    let (p, t) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let m = p.len();
    if m == 0 {
        return t.len();
    }
    let words = m.div_ceil(64);
    let last = (m - 1) % 64;
    let mut peq: HashMap<char, Vec<u64>> = HashMap::new();
    for (i, &c) in p.iter().enumerate() {
        peq.entry(c).or_insert_with(|| vec![0; words])[i / 64] |= 1u64 << (i % 64);
    }
    let mut pv = vec![!0u64; words];
    let mut mv = vec![0u64; words];
    let mut score = m as i64;
    let zeros = vec![0u64; words];
    for c in t {
        let eqv = peq.get(c).unwrap_or(&zeros);
        let mut hin: i64 = 1;
        for w in 0..words {
            let eq0 = eqv[w];
            let (pvw, mvw) = (pv[w], mv[w]);
            let hneg = u64::from(hin < 0);
            let hpos = u64::from(hin > 0);
            let xv = eq0 | mvw;
            let eq = eq0 | hneg;
            let xh = ((eq & pvw).wrapping_add(pvw) ^ pvw) | eq;
            let mut ph = mvw | !(xh | pvw);
            let mut mh = pvw & xh;
            let bit = if w + 1 == words { last } else { 63 };
            hin = if (ph >> bit) & 1 == 1 {
                1
            } else if (mh >> bit) & 1 == 1 {
                -1
            } else {
                0
            };
            ph = (ph << 1) | hpos;
            mh = (mh << 1) | hneg;
            pv[w] = mh | !(xv | ph);
            mv[w] = ph & xv;
        }
        score += hin;
    }
    score.max(0) as usize
}

/// `1 − CER` of `ours` against the reference `truth`, after whitespace normalisation,
/// in 0..=1 (1 when both are empty).
pub fn similarity(ours: &str, truth: &str) -> f64 {
    let a: Vec<char> = normalize(ours).chars().collect();
    let b: Vec<char> = normalize(truth).chars().collect();
    if b.is_empty() {
        return if a.is_empty() { 1.0 } else { 0.0 };
    }
    let d = levenshtein(&a, &b);
    (1.0 - d as f64 / b.len() as f64).max(0.0)
}

/// Splits pdftotext output into pages (`\f` after every page).
pub fn split_pages(text: &str) -> Vec<String> {
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.len() > 1 && pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Page-by-page similarity, averaged over the pages of the longer list (a missing page
/// counts as empty).
pub fn page_similarity<S: AsRef<str>, T: AsRef<str>>(ours: &[S], truth: &[T]) -> f64 {
    let n = ours.len().max(truth.len());
    if n == 0 {
        return 1.0;
    }
    let total: f64 = (0..n)
        .map(|i| {
            similarity(
                ours.get(i).map_or("", |s| s.as_ref()),
                truth.get(i).map_or("", |s| s.as_ref()),
            )
        })
        .sum();
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[char], b: &[char]) -> usize {
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                cur[j + 1] = (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }

    #[test]
    fn bit_parallel_matches_the_textbook_algorithm() {
        let mut seed: u64 = 42;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for _ in 0..300 {
            let la = rnd() % 200;
            let lb = rnd() % 200;
            let alpha = 2 + rnd() % 5;
            let a: Vec<char> = (0..la)
                .map(|_| (b'a' + (rnd() % alpha) as u8) as char)
                .collect();
            let b: Vec<char> = (0..lb)
                .map(|_| (b'a' + (rnd() % alpha) as u8) as char)
                .collect();
            assert_eq!(levenshtein(&a, &b), naive(&a, &b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn similarity_normalises_whitespace() {
        assert_eq!(similarity("a  b\n\nc", "a b c"), 1.0);
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("x", ""), 0.0);
        assert!((similarity("abcd", "abce") - 0.75).abs() < 1e-9);
        assert_eq!(similarity("completely different and longer", "ab"), 0.0);
    }

    #[test]
    fn pages() {
        let p = split_pages("one\u{c}two\u{c}");
        assert_eq!(p, vec!["one", "two"]);
        assert_eq!(page_similarity(&["one", "two"], &p), 1.0);
        assert_eq!(page_similarity(&["one"], &p), 0.5);
    }
}
