//! Synthesis: stage results → result document (DESIGN §8). A pure function shared by
//! the coordinator service and `daa process`.
//!
//! Outputs merge in stage order, parts in part order: text and pages concatenate,
//! tables and entities append, metadata merges key by key (later stages win), single
//! values (kind, language, classification, quality) take the last one given. Agents'
//! warnings are collected under `metadata.warnings`; their losses (content they know
//! they could not read) become `errors` and make the job `partial`. The per-page metadata lists of a
//! split document's parts ([`PER_PART_LISTS`]) join instead of replacing each other,
//! and adjacent `page_sizes` runs that agree become one.

use daa_shared::model::{
    ErrorReport, FailureKind, JobStatus, Outcome, Page, ResultDocument, Stage, StageReport,
    StageStatus,
};
use daa_shared::store::JobSpec;

use crate::plan::{is_required, required_failed, stages_for, CompletedStage};

/// The status a job ends with, given its stages and any errors outside them.
pub fn final_status(spec: &JobSpec, done: &[CompletedStage], extra: &[ErrorReport]) -> JobStatus {
    let required_failed = required_failed(done);
    let required_missing = stages_for(spec)
        .into_iter()
        .filter(|s| is_required(*s))
        .any(|stage| !done.iter().any(|d| d.stage == stage && !d.failed()));
    if required_failed || required_missing {
        JobStatus::Failed
    } else if !extra.is_empty() || done.iter().any(|s| s.failed() || s.lost_content()) {
        JobStatus::Partial
    } else {
        JobStatus::Completed
    }
}

/// Build the result document from the completed stages. `extra` lists failures that
/// happened outside any task (deadline, no agent); `now_ms` closes the timings.
pub fn synthesize(
    spec: &JobSpec,
    done: &[CompletedStage],
    extra: &[ErrorReport],
    now_ms: u64,
) -> ResultDocument {
    let mut doc = ResultDocument {
        job_id: spec.job_id.clone(),
        ..Default::default()
    };
    doc.source.name = spec.source.name().to_owned();
    let mut warnings: Vec<serde_json::Value> = Vec::new();
    let mut agent_ms = 0u64;
    let mut queue_ms = 0u64;
    let mut text_parts: Vec<String> = Vec::new();
    let mut had_extraction_text = false;

    for stage in done {
        let mut report = StageReport {
            stage: stage.stage,
            agents: Vec::new(),
            duration_ms: 0,
            status: StageStatus::Completed,
        };
        let mut stage_queue = 0;
        for (part, r) in stage.results.iter().enumerate() {
            if !report.agents.contains(&r.agent) {
                report.agents.push(r.agent);
            }
            report.duration_ms = report.duration_ms.max(r.duration_ms);
            stage_queue = stage_queue.max(r.queue_ms);
            match &r.outcome {
                Outcome::Err(e) => {
                    report.status = StageStatus::Failed;
                    doc.errors.push(ErrorReport {
                        stage: stage.stage,
                        agent: Some(r.agent),
                        kind: e.kind,
                        message: e.message.clone(),
                    });
                }
                Outcome::Ok(o) => {
                    if let Some(k) = o.kind {
                        doc.kind = k.as_str().to_owned();
                    }
                    if let Some(src) = &o.source {
                        let name = doc.source.name.clone();
                        doc.source = src.clone();
                        if doc.source.name.is_empty() {
                            doc.source.name = name;
                        }
                    }
                    let joined;
                    let text = match (&o.text, stage.stage) {
                        // A paged extraction may send its pages alone: its text is their
                        // texts joined by form feeds (half the bytes to move and store).
                        (None, Stage::Extraction) if !o.pages.is_empty() => {
                            joined = Page::joined_text(&o.pages);
                            Some(&joined)
                        }
                        (t, _) => t.as_ref(),
                    };
                    if let Some(t) = text {
                        if stage.stage == Stage::Extraction {
                            had_extraction_text = true;
                            text_parts.push(t.clone());
                        } else if !t.is_empty() {
                            // A later stage may rewrite the text (e.g. normalisation).
                            text_parts = vec![t.clone()];
                        }
                    }
                    doc.pages.extend(o.pages.iter().cloned());
                    doc.tables.extend(o.tables.iter().cloned());
                    for (k, v) in &o.metadata {
                        merge_metadata(&mut doc.metadata, k, v, part > 0);
                    }
                    if o.language.is_some() {
                        doc.language = o.language.clone();
                    }
                    if o.classification.is_some() {
                        doc.classification = o.classification.clone();
                    }
                    doc.entities.extend(o.entities.iter().cloned());
                    if !o.chunks.is_empty() {
                        doc.chunks = o.chunks.clone();
                    }
                    if o.quality.is_some() {
                        doc.quality = o.quality.clone();
                    }
                    warnings.extend(o.warnings.iter().map(|w| {
                        serde_json::json!({"stage": stage.stage, "agent": r.agent, "message": w})
                    }));
                    doc.errors.extend(o.losses.iter().map(|l| ErrorReport {
                        stage: stage.stage,
                        agent: Some(r.agent),
                        kind: FailureKind::Permanent,
                        message: l.clone(),
                    }));
                }
            }
        }
        agent_ms += report.duration_ms;
        queue_ms += stage_queue;
        doc.stages.push(report);
    }
    if had_extraction_text || !text_parts.is_empty() {
        // Parts of a paged document meet at a page break, as pages do within a part.
        let sep = if doc.pages.is_empty() { "\n" } else { "\u{c}" };
        doc.text = text_parts.join(sep);
    }
    // A later round's page (OCR of a scanned page) replaces the earlier one of the same
    // number; a paged document's text is its pages, in order, joined by form feeds.
    doc.pages.reverse();
    doc.pages.sort_by_key(|p| p.number);
    doc.pages.dedup_by_key(|p| p.number);
    if doc.pages.iter().any(|p| p.ocr) {
        doc.text = Page::joined_text(&doc.pages);
        if let Some(serde_json::Value::Array(pending)) = doc.metadata.get_mut("ocr_pending") {
            let ocr_done: Vec<u32> = doc
                .pages
                .iter()
                .filter(|p| p.ocr)
                .map(|p| p.number)
                .collect();
            pending.retain(|p| {
                p.get("page")
                    .and_then(|n| n.as_u64())
                    .is_none_or(|n| !ocr_done.iter().any(|&d| u64::from(d) == n))
            });
        }
    }
    if let Some(serde_json::Value::Array(runs)) = doc.metadata.get_mut("page_sizes") {
        join_size_runs(runs);
    }
    if !warnings.is_empty() {
        doc.metadata
            .insert("warnings".into(), serde_json::Value::Array(warnings));
    }
    doc.errors.extend(extra.iter().cloned());
    doc.status = final_status(spec, done, extra);
    let total_ms = now_ms.saturating_sub(spec.created_ms);
    doc.timings.total_ms = total_ms;
    doc.timings.queue_ms = queue_ms;
    doc.timings.coordination_ms = total_ms.saturating_sub(agent_ms + queue_ms);
    doc
}

/// Metadata lists that describe a part's own pages: a split document's parts each
/// report theirs, and the document's list is their concatenation, in part order.
pub const PER_PART_LISTS: [&str; 3] = ["page_sizes", "ocr_pending", "truncated_pages"];

/// Merges one metadata entry of a stage result: a later part of the same stage extends
/// the [`PER_PART_LISTS`]; anything else replaces what was there.
fn merge_metadata(
    into: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: &serde_json::Value,
    later_part: bool,
) {
    if later_part && PER_PART_LISTS.contains(&key) {
        if let (Some(serde_json::Value::Array(have)), serde_json::Value::Array(more)) =
            (into.get_mut(key), value)
        {
            have.extend(more.iter().cloned());
            return;
        }
    }
    into.insert(key.to_owned(), value.clone());
}

/// Joins adjacent `page_sizes` runs (`{first, last, width, height, rotate}`) of equal
/// pages that continue one another, as one part's runs would have been.
fn join_size_runs(runs: &mut Vec<serde_json::Value>) {
    let same = |a: &serde_json::Value, b: &serde_json::Value| {
        ["width", "height", "rotate"]
            .iter()
            .all(|k| a.get(k) == b.get(k))
            && match (
                a.get("last").and_then(|v| v.as_u64()),
                b.get("first").and_then(|v| v.as_u64()),
            ) {
                (Some(l), Some(f)) => f == l + 1,
                _ => false,
            }
    };
    let mut out: Vec<serde_json::Value> = Vec::with_capacity(runs.len());
    for r in runs.drain(..) {
        match out.last_mut() {
            Some(prev) if same(prev, &r) => {
                if let (Some(obj), Some(last)) = (prev.as_object_mut(), r.get("last")) {
                    obj.insert("last".into(), last.clone());
                }
            }
            _ => out.push(r),
        }
    }
    *runs = out;
}

/// One line saying why a job did not complete, for events and `JobInfo.error`.
pub fn error_summary(doc: &ResultDocument) -> Option<String> {
    if doc.status == JobStatus::Completed {
        return None;
    }
    let msgs: Vec<String> = doc
        .errors
        .iter()
        .map(|e| format!("{} ({}): {}", e.stage, e.kind, e.message))
        .collect();
    Some(if msgs.is_empty() {
        "the pipeline ended without its required stages".into()
    } else {
        msgs.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daa_shared::codec::Encoding;
    use daa_shared::model::{
        AgentKind, Bytes, DocKind, FailureKind, Page, Priority, Requirements, Source, SourceInfo,
        StageOutput, StageResult, StageTask, Table, TaskError,
    };

    fn spec() -> JobSpec {
        JobSpec {
            job_id: "j".into(),
            source: Source::Inline {
                name: "a.csv".into(),
                data: Bytes(vec![1]),
            },
            requirements: Requirements::default(),
            priority: Priority::Normal,
            reply_to: None,
            encoding: Encoding::Json,
            created_ms: 1_000,
            deadline_at_ms: u64::MAX,
            trace_id: String::new(),
        }
    }

    fn stage(index: u32, stage: Stage, agent: AgentKind, outcomes: Vec<Outcome>) -> CompletedStage {
        CompletedStage {
            index,
            stage,
            results: outcomes
                .into_iter()
                .enumerate()
                .map(|(part, outcome)| StageResult {
                    v: 1,
                    task_id: StageTask::make_id("j", index, stage, part as u32),
                    job_id: "j".into(),
                    stage_index: index,
                    stage,
                    agent,
                    instance: "i".into(),
                    duration_ms: 10,
                    queue_ms: 5,
                    outcome,
                })
                .map(std::sync::Arc::new)
                .collect(),
        }
    }

    fn ok(o: StageOutput) -> Outcome {
        Outcome::Ok(o)
    }

    #[test]
    fn merges_stages_in_order_and_completes() {
        let v = stage(
            0,
            Stage::Validation,
            AgentKind::Quality,
            vec![ok(StageOutput {
                kind: Some(DocKind::Pdf),
                source: Some(SourceInfo {
                    name: String::new(),
                    media_type: "application/pdf".into(),
                    bytes: 10,
                    sha256: "ab".into(),
                }),
                ..Default::default()
            })],
        );
        let page = |n: u32, t: &str| Page {
            number: n,
            text: t.into(),
            ..Default::default()
        };
        let e = stage(
            1,
            Stage::Extraction,
            AgentKind::Pdf,
            vec![
                ok(StageOutput {
                    text: Some("one".into()),
                    pages: vec![page(1, "one")],
                    tables: vec![Table {
                        page: Some(1),
                        rows: vec![vec!["a".into()]],
                        name: None,
                    }],
                    ..Default::default()
                }),
                ok(StageOutput {
                    text: Some("two".into()),
                    pages: vec![page(2, "two")],
                    warnings: vec!["odd font".into()],
                    ..Default::default()
                }),
            ],
        );
        let q = stage(
            2,
            Stage::Qa,
            AgentKind::Quality,
            vec![ok(StageOutput::default())],
        );
        let doc = synthesize(&spec(), &[v, e, q], &[], 1_100);
        assert_eq!(doc.status, JobStatus::Completed);
        assert_eq!(doc.kind, "pdf");
        assert_eq!(doc.source.name, "a.csv");
        assert_eq!(doc.source.sha256, "ab");
        assert_eq!(doc.text, "one\u{c}two");
        assert_eq!(
            doc.pages.iter().map(|p| p.number).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(doc.tables.len(), 1);
        assert_eq!(doc.stages.len(), 3);
        assert_eq!(doc.timings.total_ms, 100);
        assert_eq!(doc.timings.queue_ms, 15);
        assert_eq!(doc.timings.coordination_ms, 100 - 30 - 15);
        assert!(doc.metadata["warnings"][0]["message"] == "odd font");
        assert_eq!(error_summary(&doc), None);
    }

    /// Parts of a split PDF send pages without text and describe their own pages in
    /// `page_sizes`, `ocr_pending` and `truncated_pages`: the document reads as one.
    #[test]
    fn parts_join_their_text_and_per_page_lists() {
        let v = stage(
            0,
            Stage::Validation,
            AgentKind::Quality,
            vec![ok(StageOutput::default())],
        );
        let page = |n: u32, t: &str| Page {
            number: n,
            text: t.into(),
            ..Default::default()
        };
        let size = |f: u32, l: u32, w: f32| serde_json::json!({"first": f, "last": l, "width": w, "height": 792.0, "rotate": 0});
        let part = |pages: Vec<Page>, sizes: Vec<serde_json::Value>, pending: Vec<u32>| {
            let mut o = StageOutput {
                pages,
                ..Default::default()
            };
            o.metadata.insert("page_count".into(), 5.into());
            o.metadata.insert("page_sizes".into(), sizes.into());
            let pending: Vec<serde_json::Value> = pending
                .iter()
                .map(|p| serde_json::json!({"page": p, "reason": "scan"}))
                .collect();
            o.metadata.insert("ocr_pending".into(), pending.into());
            ok(o)
        };
        let e = stage(
            1,
            Stage::Extraction,
            AgentKind::Pdf,
            vec![
                part(
                    vec![page(1, "one"), page(2, "")],
                    vec![size(1, 2, 612.0)],
                    vec![2],
                ),
                part(
                    vec![page(3, "three"), page(4, "four"), page(5, "")],
                    vec![size(3, 4, 612.0), size(5, 5, 842.0)],
                    vec![5],
                ),
            ],
        );
        let doc = synthesize(&spec(), &[v, e], &[], 1_100);
        assert_eq!(doc.text, "one\u{c}\u{c}three\u{c}four\u{c}");
        assert_eq!(
            doc.metadata["page_sizes"],
            serde_json::json!([size(1, 4, 612.0), size(5, 5, 842.0)])
        );
        let pending: Vec<u64> = doc.metadata["ocr_pending"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["page"].as_u64().unwrap())
            .collect();
        assert_eq!(pending, vec![2, 5]);
        assert_eq!(doc.metadata["page_count"], 5);
    }

    #[test]
    fn failed_extraction_fails_and_failed_qa_is_partial() {
        let v = stage(
            0,
            Stage::Validation,
            AgentKind::Quality,
            vec![ok(StageOutput::default())],
        );
        let bad = stage(
            1,
            Stage::Extraction,
            AgentKind::Structured,
            vec![Outcome::Err(TaskError::permanent("bad json at 1:2"))],
        );
        let doc = synthesize(&spec(), &[v.clone(), bad], &[], 2_000);
        assert_eq!(doc.status, JobStatus::Failed);
        assert_eq!(doc.errors[0].kind, FailureKind::Permanent);
        assert!(error_summary(&doc).unwrap().contains("bad json"));

        let good = stage(
            1,
            Stage::Extraction,
            AgentKind::Structured,
            vec![ok(StageOutput::default())],
        );
        let qa = stage(
            2,
            Stage::Qa,
            AgentKind::Quality,
            vec![Outcome::Err(TaskError::new(
                FailureKind::Exhausted,
                "gave up",
            ))],
        );
        let doc = synthesize(&spec(), &[v, good, qa], &[], 2_000);
        assert_eq!(doc.status, JobStatus::Partial);
    }

    #[test]
    fn losses_make_the_job_partial_and_are_listed_as_errors() {
        let v = stage(
            0,
            Stage::Validation,
            AgentKind::Quality,
            vec![ok(StageOutput::default())],
        );
        let part = |number: u32, losses: Vec<String>| {
            ok(StageOutput {
                pages: vec![Page {
                    number,
                    text: "one".into(),
                    ocr: false,
                    confidence: None,
                }],
                losses,
                ..Default::default()
            })
        };
        let whole = stage(1, Stage::Extraction, AgentKind::Pdf, vec![part(1, vec![])]);
        let doc = synthesize(&spec(), &[v.clone(), whole], &[], 2_000);
        assert_eq!(doc.status, JobStatus::Completed);
        assert!(doc.errors.is_empty());

        let lost = "the page tree was lost".to_string();
        let damaged = stage(
            1,
            Stage::Extraction,
            AgentKind::Pdf,
            vec![part(1, vec![]), part(2, vec![lost.clone()])],
        );
        let doc = synthesize(&spec(), &[v, damaged], &[], 2_000);
        assert_eq!(doc.status, JobStatus::Partial);
        assert_eq!(
            doc.errors,
            vec![ErrorReport {
                stage: Stage::Extraction,
                agent: Some(AgentKind::Pdf),
                kind: FailureKind::Permanent,
                message: lost,
            }]
        );
        // The stage ran: it is not reported as failed, and its pages are all there.
        assert_eq!(doc.stages[1].status, StageStatus::Completed);
        assert_eq!(doc.pages.len(), 2);
    }

    #[test]
    fn missing_required_stage_is_a_failure() {
        let v = stage(
            0,
            Stage::Validation,
            AgentKind::Quality,
            vec![ok(StageOutput::default())],
        );
        let deadline = ErrorReport {
            stage: Stage::Extraction,
            agent: Some(AgentKind::Pdf),
            kind: FailureKind::Deadline,
            message: "no live pdf worker".into(),
        };
        let doc = synthesize(&spec(), &[v], std::slice::from_ref(&deadline), 5_000);
        assert_eq!(doc.status, JobStatus::Failed);
        assert_eq!(doc.errors, vec![deadline]);
    }
}
