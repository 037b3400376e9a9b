//! `<table>` → [`Table`]: rows of cell texts with `rowspan`/`colspan` expanded (a spanned
//! cell's text is repeated in every grid position it covers), nested tables kept apart,
//! layout tables left out.
//!
//! A table is a data table unless it has `role="presentation"`/`"none"`, contains another
//! table, has fewer than two rows or two columns, or is a small (≤ 3 rows) table with a
//! picture-only cell (admonition boxes like DocBook's "Note" tables).
//!
//! `name` is the caption, else the `summary` attribute, else the `id`, else
//! `table N` (N = position among all `<table>` elements of the page, from 1).

use daa_shared::model::Table;

use super::classify::HIDDEN;
use super::dom::{Dom, Kind, Tag};

/// Largest `colspan` honoured (the HTML standard's own limit).
const MAX_COLSPAN: usize = 1000;
/// Largest `rowspan` honoured (the HTML standard's own limit).
const MAX_ROWSPAN: usize = 65534;
/// Longest cell text kept, in bytes.
const MAX_CELL: usize = 10_000;

/// Tables found, and what the limits dropped (losses: the job ends partial).
pub(crate) fn tables(
    dom: &Dom<'_>,
    flags: &[u8],
    visible: &dyn Fn(usize) -> bool,
    max_tables: usize,
    max_cells: usize,
) -> (Vec<Table>, Vec<String>) {
    let mut out = Vec::new();
    let mut losses = Vec::new();
    let mut cells_left = max_cells;
    let mut index = 0usize;
    let mut dropped_for_cells = 0usize;
    let mut dropped_for_count = 0usize;
    for t in 0..dom.len() {
        if dom.tag(t) != Some(Tag::Table) {
            continue;
        }
        index += 1;
        if !visible(t) {
            continue;
        }
        let Some(rows) = raw_rows(dom, flags, t) else {
            continue;
        };
        if !is_data_table(dom, t, &rows) {
            continue;
        }
        if out.len() >= max_tables {
            dropped_for_count += 1;
            continue;
        }
        let Some(grid) = expand(&rows, cells_left) else {
            dropped_for_cells += 1;
            continue;
        };
        cells_left -= grid.iter().map(Vec::len).sum::<usize>();
        out.push(Table {
            page: None,
            rows: grid,
            name: Some(name(dom, t, index)),
        });
    }
    if dropped_for_count > 0 {
        losses.push(format!(
            "{dropped_for_count} tables dropped beyond max_tables ({max_tables})"
        ));
    }
    if dropped_for_cells > 0 {
        losses.push(format!(
            "{dropped_for_cells} tables dropped beyond max_table_cells ({max_cells})"
        ));
    }
    (out, losses)
}

/// One source cell.
#[derive(Debug)]
struct Cell {
    text: String,
    colspan: usize,
    rowspan: usize,
    has_image: bool,
}

/// Rows of the table's own cells (nested tables skipped); `None` when it nests tables.
fn raw_rows(dom: &Dom<'_>, flags: &[u8], t: usize) -> Option<Vec<Vec<Cell>>> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut i = t + 1;
    let end = dom.nodes[t].end;
    while i < end {
        match dom.tag(i) {
            Some(Tag::Table) => return None,
            Some(Tag::Tr) => {
                let mut row = Vec::new();
                for c in dom.children(i) {
                    if matches!(dom.tag(c), Some(Tag::Td | Tag::Th)) {
                        let span = |a: &str, max: usize| {
                            dom.attr(c, a)
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .map_or(1, |v| v.min(max))
                        };
                        let (text, has_image, nested) = cell_text(dom, flags, c);
                        if nested {
                            return None;
                        }
                        row.push(Cell {
                            text,
                            colspan: span("colspan", MAX_COLSPAN).max(1),
                            rowspan: span("rowspan", MAX_ROWSPAN),
                            has_image,
                        });
                    }
                }
                rows.push(row);
                i = dom.nodes[i].end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Some(rows)
}

/// Text of a cell, whether it holds a picture, whether it holds a table.
fn cell_text(dom: &Dom<'_>, flags: &[u8], c: usize) -> (String, bool, bool) {
    let mut out = String::new();
    let mut space = false;
    let mut has_image = false;
    let mut i = c + 1;
    while i < dom.nodes[c].end {
        if flags[i] & HIDDEN != 0 {
            i = dom.nodes[i].end;
            continue;
        }
        match dom.nodes[i].kind {
            Kind::Text(t) => {
                for ch in t.chars() {
                    if ch.is_whitespace() {
                        space = true;
                    } else {
                        if space && !out.is_empty() {
                            out.push(' ');
                        }
                        space = false;
                        out.push(ch);
                    }
                }
            }
            Kind::Element(Tag::Img, _) => has_image = true,
            Kind::Element(Tag::Table, _) => return (out, has_image, true),
            Kind::Element(tag, _) if tag.is_block() || tag == Tag::Br => space = true,
            _ => {}
        }
        if out.len() > MAX_CELL {
            super::dom::truncate(&mut out, MAX_CELL);
            break;
        }
        i += 1;
    }
    (out, has_image, false)
}

fn is_data_table(dom: &Dom<'_>, t: usize, rows: &[Vec<Cell>]) -> bool {
    if let Some(role) = dom.attr(t, "role") {
        let r = role.trim().to_ascii_lowercase();
        if r == "presentation" || r == "none" {
            return false;
        }
    }
    if dom.attr(t, "datatable").is_some_and(|v| v.trim() == "0") {
        return false;
    }
    let cols = rows
        .iter()
        .map(|r| r.iter().map(|c| c.colspan).sum::<usize>())
        .max()
        .unwrap_or(0);
    if rows.len() < 2 || cols < 2 {
        return false;
    }
    let picture_cell = rows
        .iter()
        .flatten()
        .any(|c| c.has_image && c.text.is_empty());
    !(rows.len() <= 3 && picture_cell)
}

/// Expand spans into a rectangular grid; `None` when it would exceed `budget` cells.
fn expand(rows: &[Vec<Cell>], budget: usize) -> Option<Vec<Vec<String>>> {
    let mut grid: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    // Per column: (text, rows still covered) carried down from a rowspan above.
    let mut carry: Vec<Option<(usize, usize, usize)>> = Vec::new(); // (row, cell, left)
    let mut cells = 0usize;
    let n_rows = rows.len();
    for (r, row) in rows.iter().enumerate() {
        let mut out: Vec<String> = Vec::new();
        let mut col = 0usize;
        let mut place = |out: &mut Vec<String>, col: usize, text: &str| -> Option<()> {
            if out.len() <= col {
                out.resize(col + 1, String::new());
            }
            out[col] = text.to_owned();
            cells += 1;
            (cells <= budget).then_some(())
        };
        let mut cell_iter = row.iter().enumerate();
        loop {
            // Positions still covered by a rowspan from above.
            while let Some(Some((sr, sc, _))) = carry.get(col).copied() {
                let text = &rows[sr][sc].text;
                place(&mut out, col, text)?;
                col += 1;
            }
            let Some((ci, cell)) = cell_iter.next() else {
                break;
            };
            let rowspan = match cell.rowspan {
                0 => n_rows - r,
                n => n.min(n_rows - r),
            };
            for _ in 0..cell.colspan {
                // A colspan running into a carried cell overlaps it: the carried one wins.
                if carry.get(col).copied().flatten().is_some() {
                    break;
                }
                place(&mut out, col, &cell.text)?;
                if rowspan > 1 {
                    if carry.len() <= col {
                        carry.resize(col + 1, None);
                    }
                    carry[col] = Some((r, ci, rowspan - 1));
                }
                col += 1;
            }
        }
        // Carried cells to the right of the last cell of this row.
        while col < carry.len() {
            if let Some((sr, sc, _)) = carry[col] {
                place(&mut out, col, &rows[sr][sc].text)?;
            }
            col += 1;
        }
        // One row of every carry is used up (except those placed by this row).
        for c in carry.iter_mut() {
            if let Some((sr, sc, left)) = *c {
                if sr == r {
                    continue;
                }
                *c = if left > 1 {
                    Some((sr, sc, left - 1))
                } else {
                    None
                };
            }
        }
        grid.push(out);
    }
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    for row in &mut grid {
        if row.len() < width {
            cells += width - row.len();
            if cells > budget {
                return None;
            }
            row.resize(width, String::new());
        }
    }
    Some(grid)
}

fn name(dom: &Dom<'_>, t: usize, index: usize) -> String {
    let caption = dom
        .children(t)
        .find(|&c| dom.tag(c) == Some(Tag::Caption))
        .map(|c| dom.text_of(c, 200))
        .filter(|s| !s.is_empty());
    caption
        .or_else(|| {
            dom.attr(t, "summary")
                .map(|s| s.trim().chars().take(200).collect::<String>())
        })
        .filter(|s| !s.is_empty())
        .or_else(|| dom.attr(t, "id").map(|s| format!("#{}", s.trim())))
        .unwrap_or_else(|| format!("table {index}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{classify, parse::parse};
    use std::time::Duration;

    fn run(html: &str) -> Vec<Table> {
        let h = parse(html, 1_000_000, Duration::from_secs(5), None).unwrap();
        let dom = Dom::new(&h);
        let flags = classify::flags(&dom);
        tables(&dom, &flags, &|_| true, 100, 100_000).0
    }

    fn rows(t: &Table) -> Vec<Vec<&str>> {
        t.rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn spans_are_expanded() {
        let t = run("<table><caption>Spans</caption>\
             <tr><th>a</th><th colspan=2>bc</th></tr>\
             <tr><td rowspan=2>d</td><td>e</td><td>f</td></tr>\
             <tr><td colspan=2>gh</td></tr>\
             <tr><td>i</td><td>j</td></tr></table>");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name.as_deref(), Some("Spans"));
        assert_eq!(
            rows(&t[0]),
            vec![
                vec!["a", "bc", "bc"],
                vec!["d", "e", "f"],
                vec!["d", "gh", "gh"],
                vec!["i", "j", ""],
            ]
        );
    }

    #[test]
    fn rowspan_in_middle_column() {
        let t = run("<table><tr><td>1</td><td rowspan=3>x</td><td>2</td></tr>\
             <tr><td>3</td><td>4</td></tr><tr><td>5</td><td>6</td></tr></table>");
        assert_eq!(
            rows(&t[0]),
            vec![
                vec!["1", "x", "2"],
                vec!["3", "x", "4"],
                vec!["5", "x", "6"]
            ]
        );
    }

    #[test]
    fn nested_and_layout_tables() {
        let t = run("<table id=outer><tr><td><table><tr><td>a</td><td>b</td></tr>\
             <tr><td>c</td><td>d</td></tr></table></td><td>z</td></tr><tr><td>1</td><td>2</td></tr></table>\
             <table><tr><td>only one row</td><td>x</td></tr></table>\
             <table role=presentation><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>\
             <table summary=Note><tr><td rowspan=2><img src=n.png></td><th>Note</th></tr><tr><td>text</td></tr></table>");
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(rows(&t[0]), vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(t[0].name.as_deref(), Some("table 2"));
    }

    #[test]
    fn huge_spans_are_bounded() {
        let html = format!(
            "<table>{}</table>",
            "<tr><td colspan=100000 rowspan=100000>x</td><td>y</td></tr>".repeat(50)
        );
        let h = parse(&html, 1_000_000, Duration::from_secs(5), None).unwrap();
        let dom = Dom::new(&h);
        let flags = classify::flags(&dom);
        let (t, w) = tables(&dom, &flags, &|_| true, 100, 10_000);
        assert!(t.is_empty());
        assert_eq!(w.len(), 1);
    }
}
