//! Text layout: glyphs → words → blocks of lines → reading order → page text.
//!
//! 1. **Words** are runs of glyphs in content-stream order that sit on the same
//!    baseline, at the same size and direction, with gaps under a tenth of the font
//!    size. Space glyphs only end words: spacing comes from positions, never from the
//!    operators that produced it.
//! 2. **Blocks** grow from a seed word (the leftmost of the topmost lines): lines
//!    directly above or below that overlap the block horizontally and share its font
//!    size, words on the block's lines within a small column gap, and a few outlying
//!    words at its sides. A wide gutter (multi-column text, table columns) therefore
//!    separates blocks.
//! 3. **Lines** of a block are its words grouped by baseline (superscripts and
//!    subscripts join their line) and sorted along the writing direction; a space
//!    separates two words when the gap between them is wider than a few hundredths of
//!    the font size (for letter-spaced lines: than the line's narrowest gap).
//! 4. **Reading order** is a topological sort of the blocks (Breuel's rules): a block
//!    comes before another it overlaps horizontally and that is below it; a block
//!    comes before one entirely to its right unless some block lies between them
//!    vertically and spans both.
//!
//! The page text is the blocks in that order, one line of text per line, blocks
//! separated by a blank line.

use crate::content::{Glyph, PageContent};

/// Gap (fraction of the font size) above which two glyphs belong to different words.
const WORD_BREAK: f32 = 0.1;
/// Overlap (fraction of the font size) beyond which a glyph starts a new word.
const DUP_BREAK_OVERLAP: f32 = 0.2;
/// Baseline distance (fraction of the font size) within one line of a block.
const INTRA_LINE: f32 = 0.5;
/// Largest distance between baselines of consecutive lines of a block.
const LINE_SPACING: f32 = 1.5;
/// Horizontal slack when adding words on the block's own lines.
const COL_SPACING1: f32 = 0.7;
/// How far outlying words may be from the block's side.
const COL_SPACING2: f32 = 1.0;
/// Font size tolerance for lines above/below.
const BLOCK_SIZE_DELTA1: f32 = 0.05;
/// Font size tolerance for words on the block's lines.
const BLOCK_SIZE_DELTA2: f32 = 0.6;
/// Font size tolerance for outlying words.
const BLOCK_SIZE_DELTA3: f32 = 0.2;
/// Gap (fraction of the font size) that makes a space between words of a line.
const MIN_SPACE: f32 = 0.03;
/// Closest a word may come back over the previous one and still join its line.
const MIN_CHAR_SPACING: f32 = -0.5;
/// Widest gap between words of one line; wider gaps start another line of the block.
const MAX_WORD_SPACING: f32 = 1.5;
/// Baseline window (points) in which a block's or line's seed word is the leftmost.
const SEED_WINDOW: f32 = 16.0;
/// For letter-spaced lines: a space is wider than this many times the narrowest gap...
const WIDE_SPACE_MUL: f32 = 1.3;
/// ...but at most this fraction of the font size.
const WIDE_SPACE_MAX: f32 = 0.4;

/// A word, in the line frame of its writing direction.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    /// Start along the writing direction.
    pub(crate) u0: f32,
    /// End along the writing direction.
    pub(crate) u1: f32,
    /// Top (line frame).
    pub(crate) top: f32,
    /// Bottom (line frame).
    pub(crate) bottom: f32,
    /// Baseline.
    pub(crate) base: f32,
    /// Font size.
    pub(crate) size: f32,
    /// Writing direction.
    pub(crate) rot: u8,
    font: u32,
    /// Its text.
    pub(crate) text: String,
    nchars: u32,
}

/// A line of a block.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Words, in writing order, with whether a space follows each.
    pub(crate) words: Vec<(Word, bool)>,
}

impl Line {
    /// The line's text.
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for (w, space) in &self.words {
            s.push_str(&w.text);
            if *space {
                s.push(' ');
            }
        }
        let t = s.trim_end().len();
        s.truncate(t);
        s
    }
}

/// A block of lines.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Writing direction.
    pub(crate) rot: u8,
    /// Lines, top to bottom.
    pub(crate) lines: Vec<Line>,
    /// Page-space box `[x0, y0, x1, y1]`.
    pub(crate) bbox: [f32; 4],
    /// Font size of its seed word.
    pub(crate) size: f32,
}

/// A laid-out page.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Blocks in reading order.
    pub(crate) blocks: Vec<Block>,
}

impl Layout {
    /// The page text: lines separated by `\n`, blocks by a blank line.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            for l in &b.lines {
                let t = l.text();
                if t.is_empty() {
                    continue;
                }
                out.push_str(&t);
                out.push('\n');
            }
            out.push('\n');
        }
        let t = out.trim_end().len();
        out.truncate(t);
        out
    }
}

/// Builds words from glyphs in content-stream order.
pub(crate) fn words(page: &PageContent) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut cur: Option<Word> = None;
    let mut last_glyph: Option<Glyph> = None;
    for g in &page.glyphs {
        if g.space {
            if let Some(w) = cur.take() {
                words.push(w);
            }
            last_glyph = None;
            continue;
        }
        let text = &page.chars[g.start as usize..g.start as usize + g.len as usize];
        if let Some(w) = cur.as_mut() {
            let sp = g.u0 - w.u1;
            let same_line = (g.base - w.base).abs() <= 0.5_f32.max(0.05 * w.size);
            let dup = last_glyph.is_some_and(|lg| {
                (g.u0 - lg.u0).abs() < 0.1 * w.size && (g.base - lg.base).abs() < 0.2 * w.size
            });
            if g.rot != w.rot
                || !same_line
                || (g.size - w.size).abs() > 0.05 * w.size
                || sp > WORD_BREAK * w.size
                || sp < -DUP_BREAK_OVERLAP * w.size
                || dup
            {
                if dup {
                    // Overprinted glyph (fake bold, shadow): drop it.
                    let same = last_glyph.is_some_and(|lg| {
                        page.chars[lg.start as usize..lg.start as usize + lg.len as usize] == *text
                    });
                    if same {
                        continue;
                    }
                }
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
        }
        match cur.as_mut() {
            Some(w) => {
                w.text.extend(text.iter());
                w.u1 = w.u1.max(g.u1);
                w.u0 = w.u0.min(g.u0);
                w.top = w.top.min(g.top);
                w.bottom = w.bottom.max(g.bottom);
                w.nchars += 1;
                if w.font != g.font {
                    w.font = g.font;
                }
            }
            None => {
                cur = Some(Word {
                    u0: g.u0,
                    u1: g.u1,
                    top: g.top,
                    bottom: g.bottom,
                    base: g.base,
                    size: g.size,
                    rot: g.rot,
                    font: g.font,
                    text: text.iter().collect(),
                    nchars: 1,
                });
            }
        }
        last_glyph = Some(*g);
    }
    if let Some(w) = cur.take() {
        words.push(w);
    }
    words.retain(|w| !w.text.trim().is_empty());
    dedup_words(&mut words);
    words
}

/// Removes words printed twice at (nearly) the same place.
fn dedup_words(words: &mut Vec<Word>) {
    if words.len() < 2 {
        return;
    }
    let mut idx: Vec<usize> = (0..words.len()).collect();
    idx.sort_by(|&a, &b| words[a].base.total_cmp(&words[b].base));
    let mut dead = vec![false; words.len()];
    for i in 0..idx.len() {
        let a = idx[i];
        if dead[a] {
            continue;
        }
        for &b in &idx[i + 1..] {
            let (wa, wb) = (&words[a], &words[b]);
            if wb.base - wa.base > 0.2 * wa.size {
                break;
            }
            if !dead[b]
                && wa.rot == wb.rot
                && (wa.u0 - wb.u0).abs() < 0.1 * wa.size
                && (wa.u1 - wb.u1).abs() < 0.1 * wa.size
                && wa.text == wb.text
            {
                dead[b] = true;
            }
        }
    }
    let mut i = 0;
    words.retain(|_| {
        i += 1;
        !dead[i - 1]
    });
}

/// Lays out a page.
pub(crate) fn layout(page: &PageContent) -> Layout {
    let words = words(page);
    let mut blocks: Vec<Block> = Vec::new();
    for rot in 0..4u8 {
        let ws: Vec<Word> = words.iter().filter(|w| w.rot == rot).cloned().collect();
        if !ws.is_empty() {
            build_blocks(ws, rot, &mut blocks);
        }
    }
    // Reading order in the frame of the page's main writing direction.
    let mut per_rot = [0usize; 4];
    for w in &words {
        per_rot[usize::from(w.rot & 3)] += w.nchars as usize;
    }
    let primary = (0..4u8)
        .max_by_key(|&r| (per_rot[usize::from(r)], 4 - r))
        .unwrap_or(0);
    let boxes: Vec<[f32; 4]> = blocks
        .iter()
        .map(|b| {
            let (a0, a1) = crate::content::frame(primary, b.bbox[0], b.bbox[1]);
            let (b0, b1) = crate::content::frame(primary, b.bbox[2], b.bbox[3]);
            [a0.min(b0), a1.min(b1), a0.max(b0), a1.max(b1)]
        })
        .collect();
    let sizes: Vec<f32> = blocks.iter().map(|b| b.size).collect();
    let order = reading_order(&boxes, &sizes);
    let mut sorted: Vec<Block> = Vec::with_capacity(blocks.len());
    let mut slots: Vec<Option<Block>> = blocks.into_iter().map(Some).collect();
    for i in order {
        if let Some(b) = slots[i].take() {
            sorted.push(b);
        }
    }
    Layout { blocks: sorted }
}

struct Pool {
    /// Words sorted by baseline.
    words: Vec<Word>,
    /// The words' baselines, apart: range lookups binary-search this small array
    /// instead of striding through the words.
    bases: Vec<f32>,
    used: Vec<bool>,
    left: usize,
    /// `next[i]` leads to the first unused word at or after `i` (a disjoint-set forest
    /// with path compression): scans over a baseline range skip the words already taken
    /// instead of rereading them each time a block grows by a line, which made tall
    /// blocks of many small words (dot leaders of a table of contents) quadratic.
    next: Vec<usize>,
}

impl Pool {
    fn new(words: Vec<Word>) -> Pool {
        let n = words.len();
        Pool {
            bases: words.iter().map(|w| w.base).collect(),
            words,
            used: vec![false; n],
            left: n,
            next: (0..=n).collect(),
        }
    }

    /// Index range of words with base in [lo, hi].
    fn range(&self, lo: f32, hi: f32) -> std::ops::Range<usize> {
        let a = self.bases.partition_point(|&b| b < lo);
        let b = self.bases.partition_point(|&b| b <= hi);
        a..b.max(a)
    }

    /// The first unused word at or after `i` (`words.len()` when there is none).
    fn unused_from(&mut self, i: usize) -> usize {
        let mut root = i.min(self.words.len());
        while self.next[root] != root {
            root = self.next[root];
        }
        let mut at = i.min(self.words.len());
        while self.next[at] != root {
            let up = self.next[at];
            self.next[at] = root;
            at = up;
        }
        root
    }

    /// The unused words with base in [lo, hi], in index order.
    fn unused_in(&mut self, lo: f32, hi: f32) -> Vec<usize> {
        let r = self.range(lo, hi);
        let mut out = Vec::new();
        let mut i = self.unused_from(r.start);
        while i < r.end {
            out.push(i);
            i = self.unused_from(i + 1);
        }
        out
    }

    /// Marks word `i` used.
    fn take(&mut self, i: usize) {
        if !self.used[i] {
            self.used[i] = true;
            self.left -= 1;
            self.next[i] = i + 1;
        }
    }
}

struct Growing {
    words: Vec<Word>,
    u0: f32,
    u1: f32,
    min_base: f32,
    max_base: f32,
}

impl Growing {
    fn add(&mut self, w: Word) {
        self.u0 = self.u0.min(w.u0);
        self.u1 = self.u1.max(w.u1);
        self.min_base = self.min_base.min(w.base);
        self.max_base = self.max_base.max(w.base);
        self.words.push(w);
    }
}

fn build_blocks(mut ws: Vec<Word>, rot: u8, out: &mut Vec<Block>) {
    ws.sort_by(|a, b| a.base.total_cmp(&b.base).then(a.u0.total_cmp(&b.u0)));
    let mut pool = Pool::new(ws);
    while pool.left > 0 {
        let first = pool.unused_from(0);
        if first >= pool.words.len() {
            break;
        }
        // Seed: the leftmost word among the top lines (avoids starting on a superscript).
        let top_base = pool.words[first].base;
        let mut seed = first;
        let window = SEED_WINDOW;
        for i in pool.unused_in(top_base, top_base + window) {
            if pool.words[i].u0 < pool.words[seed].u0 {
                seed = i;
            }
        }
        pool.take(seed);
        let w0 = pool.words[seed].clone();
        let fs = w0.size;
        let col1 = COL_SPACING1 * fs;
        let col2 = COL_SPACING2 * fs;
        let line_sp = LINE_SPACING * fs;
        let intra = INTRA_LINE * fs;
        let mut g = Growing {
            u0: w0.u0,
            u1: w0.u1,
            min_base: w0.base,
            max_base: w0.base,
            words: vec![w0],
        };
        loop {
            let mut found = false;
            // One pass over the unused words from a line spacing above the block to one
            // below it (the widest of the bands) takes the words of the lines just above
            // and just below that overlap it, and those on its own lines near it. A word
            // taken widens the block at once for the words after it: whether a word
            // belongs only grows with the block, so the block that comes out is the
            // same as when every pass tests against the block it started with, in far
            // fewer passes (a line of dot leaders joins in one pass, not one per dot).
            for i in pool.unused_in(g.min_base - line_sp, g.max_base + line_sp) {
                let w = &pool.words[i];
                let overlaps = w.u0 < g.u1 && w.u1 > g.u0;
                let above_or_below = (w.base < g.min_base || w.base > g.max_base)
                    && overlaps
                    && (w.size - fs).abs() < BLOCK_SIZE_DELTA1 * fs;
                let near = w.base >= g.min_base - intra
                    && w.base <= g.max_base + intra
                    && w.u0 < g.u1 + col1
                    && w.u1 > g.u0 - col1
                    && (w.size - fs).abs() < BLOCK_SIZE_DELTA2 * fs;
                if above_or_below || near {
                    let w = w.clone();
                    pool.take(i);
                    g.add(w);
                    found = true;
                }
            }
            if !found {
                // Outlying words at the sides: at most three per side.
                for side in 0..2 {
                    let mut cand: Vec<usize> = Vec::new();
                    for i in pool.unused_in(g.min_base - intra, g.max_base + intra) {
                        let w = &pool.words[i];
                        let near = if side == 0 {
                            w.u1 <= g.u0 && w.u1 > g.u0 - col2
                        } else {
                            w.u0 >= g.u1 && w.u0 < g.u1 + col2
                        };
                        if near && (w.size - fs).abs() < BLOCK_SIZE_DELTA3 * fs {
                            cand.push(i);
                        }
                    }
                    if !cand.is_empty() && cand.len() <= 3 {
                        for i in cand {
                            pool.take(i);
                            let w = pool.words[i].clone();
                            g.add(w);
                        }
                        found = true;
                    }
                }
            }
            if !found {
                break;
            }
        }
        out.push(finish_block(g, rot, fs));
    }
}

fn finish_block(g: Growing, rot: u8, fs: f32) -> Block {
    let mut words = g.words;
    words.sort_by(|a, b| a.base.total_cmp(&b.base).then(a.u0.total_cmp(&b.u0)));
    let mut used = vec![false; words.len()];
    let mut left = words.len();
    let mut lines: Vec<Vec<Word>> = Vec::new();
    let mut first = 0usize;
    while left > 0 {
        while first < words.len() && used[first] {
            first += 1;
        }
        if first >= words.len() {
            break;
        }
        // Seed: the leftmost word of the topmost lines (not a superscript).
        let top = words[first].base;
        let mut seed = first;
        for i in first..words.len() {
            if words[i].base >= top + SEED_WINDOW {
                break;
            }
            if !used[i] && words[i].u0 < words[seed].u0 {
                seed = i;
            }
        }
        used[seed] = true;
        left -= 1;
        let lfs = words[seed].size;
        let (lo, hi) = (
            words[seed].base - INTRA_LINE * lfs,
            words[seed].base + INTRA_LINE * lfs,
        );
        let mut line = vec![words[seed].clone()];
        // Chain words to the right while the gap stays under a word space: each step
        // takes the leftmost unused word of the seed's baseline band, so the band's
        // words are visited once, sorted by position (ties in index order).
        let a = words.partition_point(|w| w.base < lo);
        let b = a + words[a..].partition_point(|w| w.base <= hi);
        let mut band: Vec<usize> = (a..b).filter(|&i| !used[i]).collect();
        band.sort_by(|&x, &y| words[x].u0.total_cmp(&words[y].u0).then(x.cmp(&y)));
        for i in band {
            let last_u1 = line.last().map_or(0.0, |w| w.u1);
            let delta = words[i].u0 - last_u1;
            if delta < MIN_CHAR_SPACING * lfs || delta >= MAX_WORD_SPACING * lfs {
                break;
            }
            used[i] = true;
            left -= 1;
            line.push(words[i].clone());
        }
        lines.push(line);
    }
    // Lines top to bottom, then left to right.
    lines.sort_by(|a, b| {
        a[0].base
            .total_cmp(&b[0].base)
            .then(a[0].u0.total_cmp(&b[0].u0))
    });
    let mut out_lines: Vec<Line> = Vec::with_capacity(lines.len());
    let (mut top, mut bottom, mut u0, mut u1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for l in lines {
        let lfs = l[0].size;
        // Space threshold.
        let all_single = l.iter().all(|w| w.nchars <= 1);
        let mut space = MIN_SPACE * lfs;
        if all_single && l.len() > 1 {
            let min_gap = l
                .windows(2)
                .map(|p| p[1].u0 - p[0].u1)
                .fold(f32::MAX, f32::min);
            if min_gap > 0.0 {
                space = (WIDE_SPACE_MUL * min_gap).min(WIDE_SPACE_MAX * lfs);
            }
        }
        let n = l.len();
        let mut ws: Vec<(Word, bool)> = Vec::with_capacity(n);
        for i in 0..n {
            let gap = if i + 1 < n {
                l[i + 1].u0 - l[i].u1
            } else {
                0.0
            };
            ws.push((l[i].clone(), i + 1 < n && gap >= space));
        }
        for (w, _) in &ws {
            top = top.min(w.top);
            bottom = bottom.max(w.bottom);
            u0 = u0.min(w.u0);
            u1 = u1.max(w.u1);
        }
        out_lines.push(Line { words: ws });
    }
    // Back to page space.
    let (ax, ay) = unframe(rot, u0, top);
    let (bx, by) = unframe(rot, u1, bottom);
    Block {
        rot,
        lines: out_lines,
        bbox: [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)],
        size: fs,
    }
}

/// Line frame of direction `rot` → page space.
fn unframe(rot: u8, u: f32, v: f32) -> (f32, f32) {
    match rot {
        0 => (u, v),
        1 => (-v, u),
        2 => (-u, -v),
        _ => (v, -u),
    }
}

/// Reading order of blocks (page space boxes), as indices.
///
/// Blocks first get *extended* boxes: blocks that form a grid (a right neighbour, a
/// block below and one below-right, aligned by edges or centres) are table cells and
/// all get the table's box, so that a table reads row by row; other blocks widen
/// towards blocks below them, up to their horizontal neighbours. Then Breuel's rules
/// give a topological order, explored depth first from the top-to-bottom,
/// left-to-right order.
pub(crate) fn reading_order(boxes: &[[f32; 4]], sizes: &[f32]) -> Vec<usize> {
    let n = boxes.len();
    if n == 0 {
        return Vec::new();
    }
    let mut pos: Vec<usize> = (0..n).collect();
    pos.sort_by(|&a, &b| {
        let (ba, bb) = (&boxes[a], &boxes[b]);
        ba[1].total_cmp(&bb[1]).then(ba[0].total_cmp(&bb[0]))
    });
    let bx: Vec<[f32; 4]> = pos.iter().map(|&i| boxes[i]).collect();
    let fs: Vec<f32> = pos.iter().map(|&i| sizes[i]).collect();
    let (ex, _) = extended_boxes(&bx, &fs);
    let rule1 = |a: usize, b: usize| -> bool { above(&ex[a], &ex[b]) };
    let rule2 = |a: usize, b: usize| -> bool { ex[a][2] <= ex[b][0] };
    let big = n > 600;
    let between = (!big).then(|| Between::new(&ex));
    // Is q before p?
    let before = |q: usize, p: usize| -> bool {
        if rule1(q, p) {
            return true;
        }
        if !rule2(q, p) {
            return false;
        }
        // Unless some block lies between: p above it, it above q.
        between.as_ref().is_none_or(|b| !b.any(q, p))
    };
    let mut visited = vec![false; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for start in 0..n {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&mut (p, ref mut next)) = stack.last_mut() {
            let mut pushed = false;
            while *next < n {
                let q = *next;
                *next += 1;
                if !visited[q] && before(q, p) {
                    visited[q] = true;
                    stack.push((q, 0));
                    pushed = true;
                    break;
                }
            }
            if !pushed {
                order.push(p);
                stack.pop();
            }
        }
    }
    order.into_iter().map(|i| pos[i]).collect()
}

/// Breuel's rule 1 on extended boxes: `a` lies above `b` and they overlap horizontally.
fn above(a: &[f32; 4], b: &[f32; 4]) -> bool {
    let overlap_x = (a[0] <= b[0] && b[0] <= a[2]) || (b[0] <= a[0] && a[0] <= b[2]);
    overlap_x && a[1] < b[1]
}

/// Rule 1 as bit sets, for the test "some block lies between p and q" (p above it, it
/// above q): a word-wise AND of two sets instead of a scan over every block keeps pages
/// of many blocks (tables of contents, forms) from going cubic.
struct Between {
    /// Words of 64 bits per set.
    words: usize,
    /// Row `p`: the blocks `c` with `above(p, c)`.
    below: Vec<u64>,
    /// Row `q`: the blocks `c` with `above(c, q)`.
    above: Vec<u64>,
}

impl Between {
    fn new(ex: &[[f32; 4]]) -> Between {
        let n = ex.len();
        let words = n.div_ceil(64);
        let mut below = vec![0u64; n * words];
        let mut above_of = vec![0u64; n * words];
        for a in 0..n {
            for c in 0..n {
                if above(&ex[a], &ex[c]) {
                    below[a * words + c / 64] |= 1 << (c % 64);
                    above_of[c * words + a / 64] |= 1 << (a % 64);
                }
            }
        }
        Between {
            words,
            below,
            above: above_of,
        }
    }

    /// Whether some block lies between `p` (above) and `q` (below). Neither set holds
    /// `p` or `q` itself: `above(x, x)` never holds.
    fn any(&self, q: usize, p: usize) -> bool {
        let w = self.words;
        let (bp, aq) = (&self.below[p * w..][..w], &self.above[q * w..][..w]);
        bp.iter().zip(aq).any(|(x, y)| x & y != 0)
    }
}

fn overlaps_y(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[1] <= b[3] && a[3] >= b[1]
}

fn overlaps_x(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[0] <= b[2] && a[2] >= b[0]
}

/// Extended boxes (see [`reading_order`]); `b` sorted top to bottom.
pub(crate) fn extended_boxes(b: &[[f32; 4]], fs: &[f32]) -> (Vec<[f32; 4]>, Vec<Option<usize>>) {
    let n = b.len();
    let mut ex: Vec<[f32; 4]> = b.to_vec();
    let mut table: Vec<Option<usize>> = vec![None; n];
    let mut tables = 0usize;
    if n <= 2000 {
        for i in 0..n {
            let b1 = &b[i];
            let (mut f2, mut f3, mut f4): (Option<usize>, Option<usize>, Option<usize>) =
                (None, None, None);
            for j in 0..n {
                if j == i {
                    continue;
                }
                let b2 = &b[j];
                if overlaps_y(b2, b1) && b2[0] > b1[2] && f2.is_none_or(|k| b2[0] < b[k][0]) {
                    f2 = Some(j);
                }
                if overlaps_x(b2, b1) && b2[1] > b1[3] && f3.is_none_or(|k| b2[1] < b[k][1]) {
                    f3 = Some(j);
                }
                if b2[0] > b1[2]
                    && b2[1] > b1[3]
                    && f4.is_none_or(|k| b2[0] < b[k][0] && b2[1] < b[k][1])
                {
                    f4 = Some(j);
                }
            }
            let (Some(j2), Some(j3), Some(j4)) = (f2, f3, f4) else {
                continue;
            };
            let (b2, b3, b4) = (&b[j2], &b[j3], &b[j4]);
            if overlaps_x(b3, b4) || overlaps_y(b2, b4) || overlaps_x(b2, b3) || overlaps_y(b2, b3)
            {
                continue;
            }
            if !(overlaps_x(b4, b2) && overlaps_y(b4, b3)) {
                continue;
            }
            let m = fs[i].min(fs[j2]).min(fs[j3]).min(fs[j4]);
            let (dx, dy) = (m * COL_SPACING1, m * INTRA_LINE);
            let cx = |r: &[f32; 4]| (r[0] + r[2]) / 2.0;
            let cy = |r: &[f32; 4]| (r[1] + r[3]) / 2.0;
            let mut cor_x = 0;
            let mut cor_y = 0;
            if (cx(b1) - cx(b3)).abs() <= dx && (cx(b2) - cx(b4)).abs() <= dx {
                cor_x += 1;
            }
            if (cy(b1) - cy(b2)).abs() <= dy && (cy(b3) - cy(b4)).abs() <= dy {
                cor_y += 1;
            }
            if (b1[0] - b3[0]).abs() <= dx && (b2[0] - b4[0]).abs() <= dx {
                cor_x += 1;
            }
            if (b1[2] - b3[2]).abs() <= dx && (b2[2] - b4[2]).abs() <= dx {
                cor_x += 1;
            }
            if (b1[1] - b2[1]).abs() <= dy && (b3[1] - b4[1]).abs() <= dy {
                cor_y += 1;
            }
            if (b1[3] - b2[3]).abs() <= dy && (b3[3] - b4[3]).abs() <= dy {
                cor_y += 1;
            }
            if cor_x > 0 && cor_y > 0 {
                let id = [i, j2, j3, j4]
                    .iter()
                    .filter_map(|&k| table[k])
                    .max()
                    .unwrap_or_else(|| {
                        tables += 1;
                        tables - 1
                    });
                for k in [i, j2, j3, j4] {
                    table[k] = Some(id);
                }
            }
        }
    }
    // Tables: every cell gets the table's box.
    let mut env: Vec<[f32; 4]> = vec![[f32::MAX, f32::MAX, f32::MIN, f32::MIN]; tables];
    for i in 0..n {
        if let Some(t) = table[i] {
            let e = &mut env[t];
            e[0] = e[0].min(b[i][0]);
            e[1] = e[1].min(b[i][1]);
            e[2] = e[2].max(b[i][2]);
            e[3] = e[3].max(b[i][3]);
        }
    }
    for i in 0..n {
        if let Some(t) = table[i] {
            ex[i] = env[t];
        }
    }
    // Other blocks: widen towards the blocks below, up to the side neighbours.
    for i in 0..n {
        if table[i].is_some() {
            continue;
        }
        let b1 = b[i];
        let mut xmax = f32::MAX;
        let mut xmin = f32::MIN;
        for (j, b2) in b.iter().enumerate() {
            if j == i || !overlaps_y(&b1, b2) {
                continue;
            }
            if b2[0] < xmax && b2[0] > b1[2] {
                xmax = b2[0];
            }
            if b2[2] > xmin && b2[2] < b1[0] {
                xmin = b2[2];
            }
        }
        for (j, b2) in b.iter().enumerate() {
            if j == i || b2[1] <= b1[3] {
                continue;
            }
            if b2[2] > ex[i][2] && b2[2] <= xmax {
                ex[i][2] = b2[2];
            }
            if b2[0] < ex[i][0] && b2[0] >= xmin {
                ex[i][0] = b2[0];
            }
        }
    }
    (ex, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(x0: f32, y0: f32, x1: f32, y1: f32) -> [f32; 4] {
        [x0, y0, x1, y1]
    }

    fn order(b: &[[f32; 4]]) -> Vec<usize> {
        reading_order(b, &vec![10.0; b.len()])
    }

    #[test]
    fn two_columns_then_footer() {
        // Title across, two columns, a full-width footer.
        let b = vec![
            block(50.0, 500.0, 550.0, 520.0),  // 0 footer
            block(320.0, 100.0, 550.0, 480.0), // 1 right column
            block(50.0, 100.0, 280.0, 480.0),  // 2 left column
            block(50.0, 40.0, 550.0, 60.0),    // 3 title
        ];
        assert_eq!(order(&b), vec![3, 2, 1, 0]);
    }

    #[test]
    fn spanning_block_splits_columns() {
        let b = vec![
            block(50.0, 100.0, 280.0, 200.0),  // 0 left top
            block(320.0, 100.0, 550.0, 200.0), // 1 right top
            block(50.0, 220.0, 550.0, 240.0),  // 2 spanning
            block(50.0, 260.0, 280.0, 400.0),  // 3 left bottom
            block(320.0, 260.0, 550.0, 400.0), // 4 right bottom
        ];
        assert_eq!(order(&b), vec![0, 1, 2, 3, 4]);
    }

    /// A deterministic generator, for reproducible random pages.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f32 {
            let mut x = crate::xorshift::XorShift(self.0);
            self.0 = x.next_u64();
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    fn word(id: usize, u0: f32, width: f32, base: f32, size: f32) -> Word {
        Word {
            u0,
            u1: u0 + width,
            top: base - size,
            bottom: base + 0.2 * size,
            base,
            size,
            rot: 0,
            font: 0,
            text: format!("w{id}"),
            nchars: 2,
        }
    }

    /// A page of lines of words at random gaps (some wide enough to part columns),
    /// with runs of dot leaders and a few words in other sizes.
    fn random_page(rng: &mut Rng) -> Vec<Word> {
        let mut ws = Vec::new();
        let mut base = 60.0;
        for _ in 0..(20.0 + 40.0 * rng.next()) as usize {
            base += 8.0 + 10.0 * rng.next();
            let size = if rng.next() < 0.15 {
                7.0 + 8.0 * rng.next()
            } else {
                10.0
            };
            let mut u = 40.0 + 60.0 * rng.next();
            while u < 560.0 {
                let id = ws.len();
                if rng.next() < 0.1 {
                    // Dot leaders: many narrow words.
                    for _ in 0..(5.0 + 30.0 * rng.next()) as usize {
                        ws.push(word(ws.len(), u, 1.5, base, size));
                        u += 4.5;
                    }
                } else {
                    let w = 10.0 + 50.0 * rng.next();
                    let jitter = if rng.next() < 0.1 {
                        3.0 * rng.next()
                    } else {
                        0.0
                    };
                    ws.push(word(id, u, w, base + jitter, size));
                    u += w;
                }
                u += if rng.next() < 0.15 {
                    10.0 + 40.0 * rng.next()
                } else {
                    2.5
                };
            }
        }
        ws
    }

    /// Blocks grown the plain way: every pass tests each unused word against the block
    /// as it was when the pass began (the words of each block, sorted).
    fn blocks_by_passes(mut ws: Vec<Word>) -> Vec<Vec<String>> {
        ws.sort_by(|a, b| a.base.total_cmp(&b.base).then(a.u0.total_cmp(&b.u0)));
        let n = ws.len();
        let mut used = vec![false; n];
        let band = |w: &Word, lo: f32, hi: f32| w.base >= lo && w.base <= hi;
        let mut out = Vec::new();
        while let Some(first) = (0..n).find(|&i| !used[i]) {
            let top = ws[first].base;
            let mut seed = first;
            for i in 0..n {
                if !used[i] && band(&ws[i], top, top + SEED_WINDOW) && ws[i].u0 < ws[seed].u0 {
                    seed = i;
                }
            }
            used[seed] = true;
            let fs = ws[seed].size;
            let (col1, col2) = (COL_SPACING1 * fs, COL_SPACING2 * fs);
            let (line_sp, intra) = (LINE_SPACING * fs, INTRA_LINE * fs);
            let (mut u0, mut u1) = (ws[seed].u0, ws[seed].u1);
            let (mut lo, mut hi) = (ws[seed].base, ws[seed].base);
            let mut members = vec![seed];
            loop {
                let mut take = Vec::new();
                for (i, w) in ws.iter().enumerate() {
                    let overlaps = w.u0 < u1 && w.u1 > u0;
                    let size1 = (w.size - fs).abs() < BLOCK_SIZE_DELTA1 * fs;
                    let above = band(w, lo - line_sp, lo) && w.base < lo && overlaps && size1;
                    let below = band(w, hi, hi + line_sp) && w.base > hi && overlaps && size1;
                    let near = band(w, lo - intra, hi + intra)
                        && w.u0 < u1 + col1
                        && w.u1 > u0 - col1
                        && (w.size - fs).abs() < BLOCK_SIZE_DELTA2 * fs;
                    if !used[i] && (above || below || near) {
                        take.push(i);
                    }
                }
                let mut found = !take.is_empty();
                let add = |i: usize, ext: &mut [f32; 4]| {
                    *ext = [
                        ext[0].min(ws[i].u0),
                        ext[1].max(ws[i].u1),
                        ext[2].min(ws[i].base),
                        ext[3].max(ws[i].base),
                    ];
                };
                let mut ext = [u0, u1, lo, hi];
                for i in take {
                    used[i] = true;
                    members.push(i);
                    add(i, &mut ext);
                }
                [u0, u1, lo, hi] = ext;
                if !found {
                    for side in 0..2 {
                        let (a, b) = (u0, u1);
                        let cand: Vec<usize> = (0..n)
                            .filter(|&i| {
                                let w = &ws[i];
                                let near = if side == 0 {
                                    w.u1 <= a && w.u1 > a - col2
                                } else {
                                    w.u0 >= b && w.u0 < b + col2
                                };
                                !used[i]
                                    && band(w, lo - intra, hi + intra)
                                    && near
                                    && (w.size - fs).abs() < BLOCK_SIZE_DELTA3 * fs
                            })
                            .collect();
                        if !cand.is_empty() && cand.len() <= 3 {
                            let mut ext = [u0, u1, lo, hi];
                            for i in cand {
                                used[i] = true;
                                members.push(i);
                                add(i, &mut ext);
                            }
                            [u0, u1, lo, hi] = ext;
                            found = true;
                        }
                    }
                }
                if !found {
                    break;
                }
            }
            let mut texts: Vec<String> = members.iter().map(|&i| ws[i].text.clone()).collect();
            texts.sort();
            out.push(texts);
        }
        out
    }

    #[test]
    fn blocks_grown_at_once_are_the_blocks_grown_by_passes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..40 {
            let ws = random_page(&mut rng);
            let mut blocks = Vec::new();
            build_blocks(ws.clone(), 0, &mut blocks);
            let got: Vec<Vec<String>> = blocks
                .iter()
                .map(|b| {
                    let mut t: Vec<String> = b
                        .lines
                        .iter()
                        .flat_map(|l| l.words.iter().map(|(w, _)| w.text.clone()))
                        .collect();
                    t.sort();
                    t
                })
                .collect();
            let want = blocks_by_passes(ws);
            assert!(want.len() > 5, "the random page should make several blocks");
            assert_eq!(got, want);
        }
    }

    #[test]
    fn between_sets_answer_as_a_scan_over_the_blocks() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..10 {
            let ex: Vec<[f32; 4]> = (0..150)
                .map(|_| {
                    let (x, y) = (500.0 * rng.next(), 700.0 * rng.next());
                    [
                        x,
                        y,
                        x + 5.0 + 200.0 * rng.next(),
                        y + 5.0 + 30.0 * rng.next(),
                    ]
                })
                .collect();
            let sets = Between::new(&ex);
            let mut hits = 0;
            for p in 0..ex.len() {
                for q in 0..ex.len() {
                    let scan = (0..ex.len()).any(|c| {
                        c != q && c != p && above(&ex[p], &ex[c]) && above(&ex[c], &ex[q])
                    });
                    assert_eq!(sets.any(q, p), scan, "p {p} q {q}");
                    hits += usize::from(scan);
                }
            }
            assert!(
                hits > 100,
                "the random boxes should have blocks between others"
            );
        }
    }
}
