//! Printing result documents for people and for programs.

use daa_shared::model::ResultDocument;

/// One JSON document per line.
pub(crate) fn print_json(doc: &ResultDocument) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(doc)?);
    Ok(())
}

/// A short human summary.
pub(crate) fn print_summary(doc: &ResultDocument) {
    let name = if doc.source.name.is_empty() {
        "-"
    } else {
        doc.source.name.as_str()
    };
    println!(
        "{name}: {status} (job {id}) kind={kind} pages={pages} tables={tables} chars={chars} quality={quality} total={total}ms",
        status = doc.status,
        id = doc.job_id,
        kind = if doc.kind.is_empty() { "-" } else { &doc.kind },
        pages = doc.pages.len(),
        tables = doc.tables.len(),
        chars = doc.text.chars().count(),
        quality = doc
            .quality
            .as_ref()
            .map(|q| format!("{:.2}", q.score))
            .unwrap_or_else(|| "-".into()),
        total = doc.timings.total_ms,
    );
    for t in doc.tables.iter().take(3) {
        let header = t.rows.first().map(|r| r.join(" | ")).unwrap_or_default();
        let header: String = header.chars().take(100).collect();
        println!("  table {} rows: {header}", t.rows.len());
    }
    for e in &doc.errors {
        println!("  error in {} ({}): {}", e.stage, e.kind, e.message);
    }
}

/// Print as asked.
pub(crate) fn print(doc: &ResultDocument, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(doc)
    } else {
        print_summary(doc);
        Ok(())
    }
}

/// Exit code for a set of documents: 0 when all completed, 3 when some are partial,
/// 4 when some failed.
pub(crate) fn exit_code<'a>(docs: impl IntoIterator<Item = &'a ResultDocument>) -> i32 {
    use daa_shared::model::JobStatus;
    docs.into_iter().fold(0, |code, d| match d.status {
        JobStatus::Failed => 4,
        JobStatus::Partial => code.max(3),
        _ => code,
    })
}
