//! Text helpers: byte ↔ character offsets, cutting at character boundaries.

/// Replace each byte offset in `offsets` (ascending or not) with the number of characters
/// of `text` before it. Offsets inside a character count that character as before them;
/// offsets past the end give the character count.
pub(crate) fn bytes_to_chars(text: &str, offsets: &mut [usize]) {
    if offsets.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_unstable_by_key(|&i| offsets[i]);
    let mut chars = text.char_indices().map(|(b, _)| b).enumerate().peekable();
    let mut count = 0usize;
    for i in order {
        let target = offsets[i];
        while let Some(&(n, b)) = chars.peek() {
            if b < target {
                count = n + 1;
                chars.next();
            } else {
                break;
            }
        }
        offsets[i] = count;
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends at a character
/// boundary.
pub(crate) fn cut(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_char_offsets() {
        let text = "aé€😀b";
        // bytes: a=0, é=1..3, €=3..6, 😀=6..10, b=10..11
        let mut offs = [11, 0, 3, 6, 1, 10, 99];
        bytes_to_chars(text, &mut offs);
        assert_eq!(offs, [5, 0, 2, 3, 1, 4, 5]);
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("aé", 3), "aé");
        assert_eq!(cut("abc", 10), "abc");
    }
}
