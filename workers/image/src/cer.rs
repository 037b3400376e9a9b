//! Character error rate against ground truth, after whitespace normalisation.

/// `s` with every run of whitespace made one space, trimmed.
pub fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance between two character sequences.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Character error rate of `hypothesis` against `reference`: edit distance over the
/// reference's length, both whitespace-normalised (1.0 for an empty reference with a
/// non-empty hypothesis, 0.0 when both are empty).
pub fn cer(hypothesis: &str, reference: &str) -> f64 {
    let h: Vec<char> = normalise(hypothesis).chars().collect();
    let r: Vec<char> = normalise(reference).chars().collect();
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    edit_distance(&h, &r) as f64 / r.len() as f64
}

/// The lowest CER against any of `references` (the corpus gives two reading orders).
pub fn best_cer<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> f64 {
    references
        .iter()
        .map(|r| cer(hypothesis, r.as_ref()))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cer_normalises_whitespace() {
        assert_eq!(cer("a  b\n c", "a b c"), 0.0);
        assert!((cer("kitten", "sitting") - 3.0 / 7.0).abs() < 1e-12);
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("x", ""), 1.0);
        assert_eq!(best_cer("abc", &["abd", "abc"]), 0.0);
    }
}
