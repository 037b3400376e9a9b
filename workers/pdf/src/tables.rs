//! Tables from positioned text: ruled grids first, then aligned columns.
//!
//! - **Ruled tables**: horizontal and vertical ruling lines (stroked lines, thin filled
//!   rectangles, rectangle edges) that cross form a grid; each grid cell collects the
//!   words whose centre lies in it.
//! - **Aligned tables**: the page's words grouped into physical rows (by baseline) and,
//!   within a row, into cells separated by gaps wider than about one font size. A run of
//!   at least three consecutive rows with two or more cells whose cells fall into the
//!   same column bands is a table. Runs whose cells hold running text (many words per
//!   cell) are multi-column prose, not tables, and are skipped.
//!
//! Only upright text is considered.

use daa_shared::model::Table;

use crate::content::{PageContent, Rule};
use crate::layout::Layout;

/// A word in page space.
#[derive(Debug, Clone)]
struct W {
    x0: f32,
    x1: f32,
    base: f32,
    size: f32,
    text: String,
    used: bool,
}

/// Tables found on page `page`.
pub(crate) fn detect(layout: &Layout, content: &PageContent, page: u32) -> Vec<Table> {
    let mut words: Vec<W> = Vec::new();
    for b in &layout.blocks {
        if b.rot != 0 {
            continue;
        }
        for l in &b.lines {
            for (w, _) in &l.words {
                words.push(W {
                    x0: w.u0,
                    x1: w.u1,
                    base: w.base,
                    size: w.size,
                    text: w.text.clone(),
                    used: false,
                });
            }
        }
    }
    if words.len() < 4 || words.len() > 50_000 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rows in ruled(&content.rules, &mut words) {
        out.push(Table {
            page: Some(page),
            rows,
            name: None,
        });
    }
    for rows in aligned(&mut words) {
        out.push(Table {
            page: Some(page),
            rows,
            name: None,
        });
    }
    out
}

/// Sorted cluster centres of `v` (values within `tol` merge).
fn clusters(mut v: Vec<f32>, tol: f32) -> Vec<f32> {
    v.sort_by(f32::total_cmp);
    let mut out: Vec<(f32, usize)> = Vec::new();
    for x in v {
        match out.last_mut() {
            Some((c, n)) if (x - *c / *n as f32).abs() <= tol => {
                *c += x;
                *n += 1;
            }
            _ => out.push((x, 1)),
        }
    }
    out.into_iter().map(|(c, n)| c / n as f32).collect()
}

fn ruled(rules: &[Rule], words: &mut [W]) -> Vec<Vec<Vec<String>>> {
    const TOL: f32 = 2.0;
    let horiz: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.y1 - r.y0 <= 3.0 && r.x1 - r.x0 > 5.0)
        .collect();
    let vert: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.x1 - r.x0 <= 3.0 && r.y1 - r.y0 > 5.0)
        .collect();
    if horiz.len() < 2 || vert.len() < 2 || horiz.len() + vert.len() > 5000 {
        return Vec::new();
    }
    // Connected groups of crossing rules (union-find over horizontal + vertical).
    let nh = horiz.len();
    let mut parent: Vec<usize> = (0..nh + vert.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (i, h) in horiz.iter().enumerate() {
        for (j, v) in vert.iter().enumerate() {
            let cx = (v.x0 + v.x1) / 2.0;
            let cy = (h.y0 + h.y1) / 2.0;
            if cx >= h.x0 - TOL && cx <= h.x1 + TOL && cy >= v.y0 - TOL && cy <= v.y1 + TOL {
                let (a, b) = (find(&mut parent, i), find(&mut parent, nh + j));
                parent[a] = b;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, (Vec<f32>, Vec<f32>)> = Default::default();
    for (i, h) in horiz.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().1.push((h.y0 + h.y1) / 2.0);
    }
    for (j, v) in vert.iter().enumerate() {
        let r = find(&mut parent, nh + j);
        groups.entry(r).or_default().0.push((v.x0 + v.x1) / 2.0);
    }
    let mut tables = Vec::new();
    for (_, (xs, ys)) in groups {
        let xs = clusters(xs, TOL);
        let ys = clusters(ys, TOL);
        if xs.len() < 2 || ys.len() < 2 || (xs.len() - 1) * (ys.len() - 1) < 2 {
            continue;
        }
        let (nc, nr) = (xs.len() - 1, ys.len() - 1);
        let mut cells: Vec<Vec<Vec<usize>>> = vec![vec![Vec::new(); nc]; nr];
        for (k, w) in words.iter().enumerate() {
            if w.used {
                continue;
            }
            let cx = (w.x0 + w.x1) / 2.0;
            let cy = w.base - w.size * 0.3;
            let c = xs.windows(2).position(|p| cx >= p[0] && cx < p[1]);
            let r = ys.windows(2).position(|p| cy >= p[0] && cy < p[1]);
            if let (Some(c), Some(r)) = (c, r) {
                cells[r][c].push(k);
            }
        }
        let filled_cols = (0..nc)
            .filter(|&c| (0..nr).any(|r| !cells[r][c].is_empty()))
            .count();
        if filled_cols < 2 {
            continue;
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        for row in &cells {
            if row.iter().all(Vec::is_empty) {
                continue;
            }
            rows.push(row.iter().map(|ks| cell_text(words, ks)).collect());
        }
        // Drop columns that stayed empty.
        let keep: Vec<usize> = (0..nc)
            .filter(|&c| rows.iter().any(|r| !r[c].is_empty()))
            .collect();
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|r| keep.iter().map(|&c| r[c].clone()).collect())
            .collect();
        if !rows.is_empty() && keep.len() >= 2 {
            for row in &cells {
                for ks in row {
                    for &k in ks {
                        words[k].used = true;
                    }
                }
            }
            tables.push(rows);
        }
    }
    tables
}

/// Text of the words `ks`, in reading order (by baseline, then x).
fn cell_text(words: &[W], ks: &[usize]) -> String {
    let mut ks: Vec<usize> = ks.to_vec();
    ks.sort_by(|&a, &b| {
        let (wa, wb) = (&words[a], &words[b]);
        if (wa.base - wb.base).abs() > 0.4 * wa.size.min(wb.size) {
            wa.base.total_cmp(&wb.base)
        } else {
            wa.x0.total_cmp(&wb.x0)
        }
    });
    let mut s = String::new();
    for (i, &k) in ks.iter().enumerate() {
        if i > 0 {
            let (p, w) = (&words[ks[i - 1]], &words[k]);
            if (w.base - p.base).abs() > 0.4 * w.size || w.x0 - p.x1 > 0.1 * w.size {
                s.push(' ');
            }
        }
        s.push_str(&words[k].text);
    }
    s
}

struct Row {
    base: f32,
    size: f32,
    /// Cells: (x0, x1, word indices).
    cells: Vec<(f32, f32, Vec<usize>)>,
}

fn aligned(words: &mut [W]) -> Vec<Vec<Vec<String>>> {
    let mut idx: Vec<usize> = (0..words.len()).filter(|&k| !words[k].used).collect();
    idx.sort_by(|&a, &b| words[a].base.total_cmp(&words[b].base));
    // Physical rows.
    let mut rows: Vec<Row> = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for k in idx {
        if let Some(&f) = cur.first() {
            if (words[k].base - words[f].base).abs() > 0.4 * words[f].size {
                rows.push(make_row(words, std::mem::take(&mut cur)));
            }
        }
        cur.push(k);
    }
    if !cur.is_empty() {
        rows.push(make_row(words, cur));
    }
    let mut tables = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        if rows[i].cells.len() < 2 {
            i += 1;
            continue;
        }
        // Extend a run of multi-cell rows with regular spacing.
        let mut j = i + 1;
        while j < rows.len()
            && rows[j].cells.len() >= 2
            && rows[j].base - rows[j - 1].base <= 2.5 * rows[j - 1].size.max(rows[j].size)
        {
            j += 1;
        }
        if j - i >= 3 {
            if let Some(t) = run_table(words, &rows[i..j]) {
                tables.push(t);
            }
        }
        i = j;
    }
    tables
}

fn make_row(words: &[W], mut ks: Vec<usize>) -> Row {
    ks.sort_by(|&a, &b| words[a].x0.total_cmp(&words[b].x0));
    let base = words[ks[0]].base;
    let size = ks.iter().map(|&k| words[k].size).fold(0.0, f32::max);
    let mut cells: Vec<(f32, f32, Vec<usize>)> = Vec::new();
    for k in ks {
        let w = &words[k];
        match cells.last_mut() {
            Some(c) if w.x0 - c.1 <= 1.0 * size => {
                c.1 = c.1.max(w.x1);
                c.2.push(k);
            }
            _ => cells.push((w.x0, w.x1, vec![k])),
        }
    }
    Row { base, size, cells }
}

fn run_table(words: &[W], rows: &[Row]) -> Option<Vec<Vec<String>>> {
    // Column bands: union of the cells' extents.
    let mut spans: Vec<(f32, f32)> = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| (c.0, c.1)))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut bands: Vec<(f32, f32)> = Vec::new();
    for (a, b) in spans {
        match bands.last_mut() {
            Some(l) if a <= l.1 => l.1 = l.1.max(b),
            _ => bands.push((a, b)),
        }
    }
    if bands.len() < 2 {
        return None;
    }
    let ncells: usize = rows.iter().map(|r| r.cells.len()).sum();
    let nwords: usize = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| c.2.len()))
        .sum();
    // Running text in columns is not a table.
    if nwords as f32 / ncells as f32 > 4.0 {
        return None;
    }
    let mut out = Vec::new();
    for r in rows {
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); bands.len()];
        for c in &r.cells {
            let b = bands
                .iter()
                .position(|b| c.0 >= b.0 - 0.5 && c.1 <= b.1 + 0.5)
                .unwrap_or(0);
            cols[b].extend_from_slice(&c.2);
        }
        out.push(cols.iter().map(|ks| cell_text(words, ks)).collect());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(x0: f32, x1: f32, base: f32, t: &str) -> W {
        W {
            x0,
            x1,
            base,
            size: 10.0,
            text: t.into(),
            used: false,
        }
    }

    #[test]
    fn aligned_columns() {
        let mut ws = vec![
            w(50.0, 80.0, 100.0, "Name"),
            w(200.0, 230.0, 100.0, "Qty"),
            w(50.0, 75.0, 112.0, "Apple"),
            w(200.0, 210.0, 112.0, "3"),
            w(50.0, 78.0, 124.0, "Pear"),
            w(200.0, 215.0, 124.0, "12"),
            w(50.0, 60.0, 200.0, "Prose"),
        ];
        let t = aligned(&mut ws);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0],
            vec![vec!["Name", "Qty"], vec!["Apple", "3"], vec!["Pear", "12"]]
        );
    }

    #[test]
    fn ruled_grid() {
        let h = |y: f32| Rule {
            x0: 40.0,
            y0: y,
            x1: 300.0,
            y1: y + 0.5,
        };
        let v = |x: f32| Rule {
            x0: x,
            y0: 90.0,
            x1: x + 0.5,
            y1: 130.0,
        };
        let rules = vec![h(90.0), h(110.0), h(130.0), v(40.0), v(150.0), v(300.0)];
        let mut ws = vec![
            w(50.0, 80.0, 105.0, "a"),
            w(200.0, 230.0, 105.0, "b"),
            w(50.0, 75.0, 125.0, "c"),
            w(200.0, 210.0, 125.0, "d"),
        ];
        let t = ruled(&rules, &mut ws);
        assert_eq!(t, vec![vec![vec!["a", "b"], vec!["c", "d"]]]);
        assert!(ws.iter().all(|w| w.used));
    }
}
