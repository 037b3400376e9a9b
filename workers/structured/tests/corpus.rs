//! The structured agent against the shared fixture corpus, through the `Agent` trait.

#![allow(clippy::unwrap_used)] // Test helpers, like the tests themselves, may unwrap.

use std::time::{Duration, Instant};

use daa_shared::model::{
    AgentKind, DocKind, FailureKind, Requirements, Stage, StageOutput, StageTask, Table, TaskError,
    TaskInput,
};
use daa_structured::{Limits, StructuredAgent};
use daa_worker::{Agent, Document, TaskContext};

macro_rules! corpus {
    ($path:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/corpus/",
            $path
        )
    };
}

fn task(kind: Option<DocKind>, extract_tables: bool) -> StageTask {
    StageTask {
        v: 1,
        task_id: "job-1.1.extraction.0".into(),
        job_id: "job-1".into(),
        stage_index: 1,
        stage: Stage::Extraction,
        agent: AgentKind::Structured,
        part: None,
        priority: Default::default(),
        requirements: Requirements {
            extract_tables,
            ..Requirements::default()
        },
        input: TaskInput {
            kind,
            ..TaskInput::default()
        },
        deadline_at_ms: u64::MAX,
    }
}

fn ctx(name: &str, bytes: Vec<u8>) -> TaskContext {
    TaskContext {
        instance: "test".into(),
        attempt: 1,
        document: Some(Document::new(name, bytes)),
        ..TaskContext::default()
    }
}

fn run_bytes(bytes: Vec<u8>, kind: Option<DocKind>) -> Result<StageOutput, TaskError> {
    StructuredAgent::default().execute(&task(kind, true), &ctx("inline", bytes))
}

/// Run a corpus file with the kind sniffed from its bytes.
fn run_file(path: &str) -> Result<StageOutput, TaskError> {
    run_file_as(path, None)
}

/// Run a corpus file as `kind` (what the validation stage would have put on the task).
fn run_file_as(path: &str, kind: Option<DocKind>) -> Result<StageOutput, TaskError> {
    let bytes = std::fs::read(path).unwrap();
    StructuredAgent::default().execute(&task(kind, true), &ctx(path, bytes))
}

fn table<'a>(out: &'a StageOutput, name: &str) -> &'a Table {
    out.tables
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| {
            let names: Vec<_> = out.tables.iter().map(|t| &t.name).collect();
            panic!("no table {name:?} in {names:?}")
        })
}

fn column<'a>(t: &'a Table, header: &str) -> Vec<&'a str> {
    let col = t.rows[0]
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header:?} in {:?}", t.rows[0]));
    t.rows[1..]
        .iter()
        .map(|r| r.get(col).map_or("", String::as_str))
        .collect()
}

#[test]
fn agent_identity() {
    let agent = StructuredAgent::new(Limits::default());
    assert_eq!(agent.kind(), AgentKind::Structured);
    let caps = agent.capabilities();
    assert_eq!(caps.stages, vec![Stage::Extraction]);
    assert_eq!(
        caps.kinds,
        vec![DocKind::Json, DocKind::Xml, DocKind::Csv, DocKind::Text]
    );
}

#[test]
fn distro_info_debian_csv() {
    let out = run_file(corpus!("csv/distro-info-debian.csv")).unwrap();
    assert_eq!(out.tables.len(), 1);
    let t = &out.tables[0];
    assert_eq!(t.page, None);
    assert_eq!(
        &t.rows[0][..5],
        ["version", "codename", "series", "created", "release"]
    );
    assert_eq!(t.rows[1][..3], ["1.1", "Buzz", "buzz"]);
    assert!(column(t, "codename").contains(&"Bookworm"));
    assert_eq!(out.metadata["has_header"], true);
    assert_eq!(out.metadata["delimiter"], ",");
    assert_eq!(out.metadata["columns"], 8);
    assert_eq!(out.metadata["rows"], t.rows.len() - 1);
    assert_eq!(out.metadata["encoding"], "UTF-8");
    let text = out.text.as_deref().unwrap();
    assert!(
        text.starts_with("version | codename | series | created | release | eol | eol-lts | eol-elts\n1.1 | Buzz | buzz |"),
        "{text}"
    );
    assert!(out.pages.is_empty());
}

#[test]
fn sklearn_csv_has_no_header_row() {
    // The first row is shorter than the others, so sniffing says "text": declare it.
    let out = run_file_as(corpus!("csv/sklearn-breast_cancer.csv"), Some(DocKind::Csv)).unwrap();
    assert_eq!(out.metadata["has_header"], false);
    assert_eq!(out.metadata["rows"], 570);
    assert_eq!(out.tables[0].rows[0], ["569", "30", "malignant", "benign"]);
    assert_eq!(out.tables[0].rows[1].len(), 31);
    // Only the first row differs in width.
    assert_eq!(out.metadata["ragged_rows"], 569);
}

#[test]
fn ragged_invalid_utf8_csv_succeeds_with_warnings() {
    // Ragged rows defeat delimiter sniffing ("text"): declare it as the pipeline would.
    let out = run_file_as(corpus!("bad/ragged-invalid-utf8.csv"), Some(DocKind::Csv)).unwrap();
    let rows = &out.tables[0].rows;
    assert_eq!(rows[0], ["id", "name", "amount"]);
    assert_eq!(rows[2], ["2", "beta"]);
    assert_eq!(rows[3], ["3", "gamma", "30", "extra", "fields"]);
    assert_eq!(out.metadata["ragged_rows"], 3);
    let warnings = out.warnings.join("\n");
    assert!(
        warnings.contains("3 rows have a different number of fields than the first row (3)"),
        "{warnings}"
    );
    assert!(warnings.contains("never closed"), "{warnings}");
    assert!(out.text.as_deref().unwrap().contains("gamma"));
}

#[test]
fn iso_4217_json() {
    let out = run_file(corpus!("json/iso_4217.json")).unwrap();
    let t = table(&out, "/4217");
    assert_eq!(t.rows[0], ["alpha_3", "name", "numeric"]);
    assert!(column(t, "name").contains(&"Euro"));
    assert!(column(t, "alpha_3").contains(&"EUR"));
    assert_eq!(out.metadata["top_level_keys"], serde_json::json!(["4217"]));
    assert_eq!(out.metadata["depth"], 3);
    assert_eq!(out.metadata["arrays"], 1);
    assert_eq!(out.metadata["objects"], t.rows.len());
    let text = out.text.as_deref().unwrap();
    assert!(
        text.starts_with("4217[0].alpha_3: AED\n4217[0].name: UAE Dirham\n"),
        "{text}"
    );
}

#[test]
fn iso_3166_json_columns_are_a_union_in_first_seen_order() {
    let out = run_file(corpus!("json/iso_3166-1.json")).unwrap();
    let t = table(&out, "/3166-1");
    assert_eq!(
        t.rows[0],
        [
            "alpha_2",
            "alpha_3",
            "flag",
            "name",
            "numeric",
            "official_name",
            "common_name"
        ]
    );
    assert_eq!(t.rows[1][3], "Aruba");
    assert_eq!(t.rows[1][5], "", "Aruba has no official name");
    let common = column(t, "common_name");
    assert!(common.contains(&"Bolivia"), "{common:?}");
    assert!(out
        .text
        .as_deref()
        .unwrap()
        .contains("3166-1[0].name: Aruba"));
}

#[test]
fn json_schema_has_no_tables_but_keys() {
    let out = run_file(corpus!("json/schema-3166-1.json")).unwrap();
    assert!(out.tables.is_empty());
    let keys = out.metadata["top_level_keys"].as_array().unwrap();
    assert!(keys.iter().any(|k| k == "$schema"));
    assert!(out
        .text
        .as_deref()
        .unwrap()
        .contains("properties.3166-1.items.properties.alpha_2.type: string"));
}

#[test]
fn nested_json_array_of_objects_is_named_by_its_pointer() {
    let doc = br#"{"shop": {"name": "x", "orders": [
        {"id": 1, "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]},
        {"id": 2, "lines": []}
    ]}}"#;
    let out = run_bytes(doc.to_vec(), None).unwrap();
    let names: Vec<_> = out.tables.iter().map(|t| t.name.as_deref()).collect();
    assert_eq!(names, [Some("/shop/orders"), Some("/shop/orders/0/lines")]);
    assert_eq!(
        table(&out, "/shop/orders/0/lines").rows,
        [["sku", "qty"], ["A", "2"], ["B", "1"]]
    );
    assert_eq!(table(&out, "/shop/orders").rows, [["id"], ["1"], ["2"]]);
}

#[test]
fn deep_json_is_refused_quickly() {
    let start = Instant::now();
    let err = run_file(corpus!("bad/deep.json")).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind, FailureKind::Permanent);
    assert_eq!(
        err.message,
        "JSON nesting deeper than 128 levels (max_depth) at line 1, column 129"
    );
}

#[test]
fn malformed_json_is_permanent_with_position() {
    let err = run_bytes(b"{\"a\": [1, 2,]}".to_vec(), Some(DocKind::Json)).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(
        err.message
            .starts_with("JSON parse error at line 1, column "),
        "{}",
        err.message
    );
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let start = Instant::now();
    let err = run_file(corpus!("bad/billion-laughs.xml")).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(err.message.contains("entity 'lol9'"), "{}", err.message);
    assert!(err.message.contains("billion laughs"), "{}", err.message);
}

#[test]
fn freedesktop_xml_with_internal_dtd() {
    let out = run_file(corpus!("xml/freedesktop.org.xml")).unwrap();
    assert_eq!(out.metadata["root"], "mime-info");
    assert_eq!(
        out.metadata["namespaces"],
        serde_json::json!(["http://www.freedesktop.org/standards/shared-mime-info"])
    );
    let t = table(&out, "/mime-info/mime-type");
    assert_eq!(t.rows.len(), 852, "851 MIME types and the header");
    let types = column(t, "@type");
    let pdf = types.iter().position(|&t| t == "application/pdf").unwrap();
    assert_eq!(column(t, "comment")[pdf], "PDF document");
    assert!(column(t, "glob/@pattern")[pdf].contains("*.pdf"));
    let comments = table(&out, "/mime-info/mime-type/comment");
    assert_eq!(comments.rows[0], ["@xml:lang", "#text"]);
    assert!(column(comments, "@xml:lang").contains(&"de"));
    assert!(out.text.as_deref().unwrap().contains("PDF document"));
}

#[test]
fn serviceproviders_xml() {
    let out = run_file(corpus!("xml/serviceproviders.xml")).unwrap();
    assert_eq!(out.metadata["root"], "serviceproviders");
    assert!(out.metadata["elements"].as_u64().unwrap() > 1000);
    let countries = table(&out, "/serviceproviders/country");
    assert_eq!(countries.rows[0], ["@code", "name"]);
    assert_eq!(countries.rows[1], ["ad", "Andorra"]);
    let apns = table(&out, "/serviceproviders/country/provider/gsm/apn");
    assert_eq!(apns.rows[1][..2], ["internetand", "postpaid"]);
    assert_eq!(apns.rows[0][..2], ["@value", "plan/@type"]);
    let dns = column(apns, "dns");
    assert!(dns.contains(&"194.170.1.6; 194.170.1.7"), "{dns:?}");
    let providers = table(&out, "/serviceproviders/country/provider");
    assert!(column(providers, "name").contains(&"Etisalat"));
    assert!(column(providers, "gsm/network-id/@mcc").contains(&"424"));
    let text = out.text.as_deref().unwrap();
    assert!(
        text.starts_with("Andorra\nAndorra Telecom (Mobiland)\nMobiland\n"),
        "{text:.200}"
    );
}

#[test]
fn xkb_rules_xml() {
    let out = run_file(corpus!("xml/xkb-rules-base.xml")).unwrap();
    assert_eq!(out.metadata["root"], "xkbConfigRegistry");
    let models = table(&out, "/xkbConfigRegistry/modelList/model");
    assert_eq!(
        models.rows[0],
        [
            "configItem/name",
            "configItem/description",
            "configItem/vendor"
        ]
    );
    assert_eq!(models.rows[1], ["pc86", "Generic 86-key PC", "Generic"]);
    let layouts = table(&out, "/xkbConfigRegistry/layoutList/layout");
    let us = column(layouts, "configItem/name")
        .iter()
        .position(|&n| n == "us")
        .unwrap();
    assert_eq!(
        column(layouts, "configItem/description")[us],
        "English (US)"
    );
    let variants = table(
        &out,
        "/xkbConfigRegistry/layoutList/layout/variantList/variant",
    );
    assert!(column(variants, "configItem/description").contains(&"Cherokee"));
}

#[test]
fn inline_xml_attribute_columns() {
    let xml =
        br#"<inventory><item sku="A1" qty="3">Bolt</item><item sku="B2">Nut</item></inventory>"#;
    let out = run_bytes(xml.to_vec(), None).unwrap();
    assert_eq!(
        table(&out, "/inventory/item").rows,
        [
            ["@sku", "@qty", "#text"],
            ["A1", "3", "Bolt"],
            ["B2", "", "Nut"]
        ]
    );
    assert_eq!(out.text.as_deref(), Some("Bolt\nNut"));
}

#[test]
fn extract_tables_false_gives_text_only() {
    let agent = StructuredAgent::default();
    for path in [
        corpus!("json/iso_4217.json"),
        corpus!("csv/distro-info-debian.csv"),
        corpus!("xml/xkb-rules-base.xml"),
    ] {
        let bytes = std::fs::read(path).unwrap();
        let out = agent
            .execute(&task(None, false), &ctx(path, bytes))
            .unwrap();
        assert!(out.tables.is_empty(), "{path}");
        assert!(!out.text.as_deref().unwrap().is_empty(), "{path}");
        assert!(!out.metadata.is_empty(), "{path}");
    }
}

#[test]
fn plain_text() {
    let out = run_bytes(b"Just some words.\r\nAnother line.".to_vec(), None).unwrap();
    assert_eq!(out.text.as_deref(), Some("Just some words.\nAnother line."));
    assert_eq!(out.metadata["lines"], 2);
    assert_eq!(out.metadata["words"], 5);
    assert!(out.tables.is_empty());
}

#[test]
fn declared_kind_wins_over_sniffing() {
    // Sniffed as CSV, declared as text.
    let out = run_bytes(b"a,b\n1,2\n".to_vec(), Some(DocKind::Text)).unwrap();
    assert!(out.tables.is_empty());
    assert_eq!(out.metadata["lines"], 2);
}

#[test]
fn limits_and_refusals() {
    let small = StructuredAgent::new(Limits {
        max_bytes: 10,
        ..Limits::default()
    });
    let err = small
        .execute(&task(None, true), &ctx("big.txt", vec![b'a'; 11]))
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(
        err.message.contains("11 bytes") && err.message.contains("10 bytes"),
        "{}",
        err.message
    );

    let err = run_bytes(b"%PDF-1.7\n".to_vec(), None).unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(err.message.contains("not pdf"), "{}", err.message);

    let no_doc = TaskContext::default();
    let err = StructuredAgent::default()
        .execute(&task(None, true), &no_doc)
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Permanent);
    assert!(err.message.contains("no document bytes"), "{}", err.message);

    let tiny_text = StructuredAgent::new(Limits {
        max_text_bytes: 8,
        ..Limits::default()
    });
    let out = tiny_text
        .execute(
            &task(None, true),
            &ctx("t.txt", b"hello wonderful world".to_vec()),
        )
        .unwrap();
    assert_eq!(out.text.as_deref(), Some("hello wo"));
    assert!(out.losses.iter().any(|w| w.contains("max_text_bytes")));
}

#[test]
fn cancelled_tasks_stop() {
    let c = ctx("x.json", br#"[{"a": 1}]"#.to_vec());
    c.cancel.cancel();
    let err = StructuredAgent::default()
        .execute(&task(None, true), &c)
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Temporary);
}
