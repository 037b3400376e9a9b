//! The validation stage through the `Agent` trait.

mod common;

use common::{ctx, fixture, task, validation_task};
use daa_quality::{Limits, QualityAgent};
use daa_shared::model::{AgentKind, DocKind, FailureKind, Requirements, Source, Stage, TaskInput};
use daa_worker::{Agent, TaskContext};
use sha2::{Digest, Sha256};

fn agent() -> QualityAgent {
    QualityAgent::default()
}

#[test]
fn identity() {
    let a = agent();
    assert_eq!(a.kind(), AgentKind::Quality);
    assert_eq!(a.capabilities().stages, [Stage::Validation, Stage::Qa]);
    assert_eq!(a.limits(), &Limits::default());
}

#[test]
fn limits_from_config() {
    let l: Limits = serde_json::from_str(r#"{"low_confidence": 0.8}"#).unwrap();
    assert_eq!(l.low_confidence, 0.8);
    assert_eq!(l.max_document_bytes, 256 * 1024 * 1024);
    assert!(serde_json::from_str::<Limits>(r#"{"max_bytes": 1}"#).is_err());
}

#[test]
fn empty_document_is_permanent() {
    let e = agent()
        .execute(
            &validation_task("empty.pdf"),
            &ctx("empty.pdf", fixture("bad/empty.pdf")),
        )
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("empty"), "{}", e.message);
}

#[test]
fn too_large_names_both_sizes() {
    let a = QualityAgent::new(Limits {
        max_document_bytes: 10,
        ..Limits::default()
    });
    let e = a
        .execute(&validation_task("a.txt"), &ctx("a.txt", vec![b'a'; 11]))
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.contains("11") && e.message.contains("10"),
        "{}",
        e.message
    );
}

#[test]
fn png_named_pdf_is_an_image_with_a_warning() {
    let out = agent()
        .execute(
            &validation_task("x.pdf"),
            &ctx("x.pdf", fixture("bad/png-named.pdf")),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Image));
    assert_eq!(out.source.as_ref().unwrap().media_type, "image/png");
    assert_eq!(out.metadata["name_mismatch"], true);
    assert_eq!(out.metadata["validated"], true);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains(".pdf") && w.contains("image/png") && w.contains("as image")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn corrupt_png_header_passes_as_image_with_a_warning() {
    let out = agent()
        .execute(
            &validation_task("c.png"),
            &ctx("c.png", fixture("bad/corrupt-header.png")),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Image));
    assert_eq!(out.metadata["image_header_valid"], false);
    assert_eq!(out.metadata.get("name_mismatch"), None);
    assert!(
        out.warnings.iter().any(|w| w.contains("corrupt")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn csv_fixture_facts() {
    let bytes = fixture("csv/distro-info-debian.csv");
    let out = agent()
        .execute(
            &validation_task("distro-info-debian.csv"),
            &ctx("distro-info-debian.csv", bytes.clone()),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Csv));
    let src = out.source.unwrap();
    assert_eq!(src.name, "distro-info-debian.csv");
    assert_eq!(src.media_type, "text/csv");
    assert_eq!(src.bytes, bytes.len() as u64);
    let expected: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(src.sha256, expected);
    assert_eq!(out.metadata["encoding"], "UTF-8");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn consistent_csv_sniffs_as_csv_whatever_its_name() {
    let out = agent()
        .execute(
            &validation_task("data"),
            &ctx("data", &b"a,b\n1,2\n3,4\n"[..]),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Csv));
}

#[test]
fn random_binary_is_unsupported() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let e = agent()
        .execute(&validation_task("r.txt"), &ctx("r.txt", bytes))
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.starts_with("unsupported content:"),
        "{}",
        e.message
    );
}

#[test]
fn zip_is_unsupported() {
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    zip.extend_from_slice(&[0u8; 64]);
    let e = agent()
        .execute(&validation_task("a.docx"), &ctx("a.docx", zip))
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert_eq!(e.message, "unsupported content: application/zip");
}

#[test]
fn latin1_text_reports_windows_1252() {
    let out = agent()
        .execute(
            &validation_task("menu.txt"),
            &ctx(
                "menu.txt",
                &b"caf\xe9 cr\xe8me br\xfbl\xe9e, cr\xeape, na\xefve\n"[..],
            ),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Text));
    assert_eq!(out.metadata["encoding"], "windows-1252");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn ragged_csv_with_a_legacy_byte_is_csv_in_a_legacy_encoding() {
    // Rows of 2 to 5 fields: the sniffer says text, the .csv name breaks the tie.
    let out = agent()
        .execute(
            &validation_task("r.csv"),
            &ctx("r.csv", fixture("bad/ragged-invalid-utf8.csv")),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Csv));
    assert_ne!(out.metadata["encoding"], "UTF-8");
    // The same bytes under another name stay text.
    let out = agent()
        .execute(
            &validation_task("r.dat"),
            &ctx("r.dat", fixture("bad/ragged-invalid-utf8.csv")),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Text));
}

#[test]
fn malformed_utf8_gets_an_encoding_warning() {
    let mut bytes = "Plain UTF-8 text, long enough to stay UTF-8. "
        .repeat(4)
        .into_bytes();
    bytes.extend_from_slice(b"bad \xff byte\n");
    let out = agent()
        .execute(&validation_task("a.txt"), &ctx("a.txt", bytes))
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Text));
    assert_eq!(out.metadata["encoding"], "UTF-8");
    assert_eq!(out.metadata["encoding_errors"], true);
    assert!(
        out.warnings.iter().any(|w| w.contains("U+FFFD")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn name_falls_back_to_the_source() {
    let t = task(
        Stage::Validation,
        TaskInput {
            source: Some(Source::Object {
                bucket: "b".into(),
                key: "k".into(),
                name: "notes.txt".into(),
            }),
            ..TaskInput::default()
        },
        Requirements::default(),
    );
    let out = agent().execute(&t, &ctx("", &b"hello"[..])).unwrap();
    assert_eq!(out.source.unwrap().name, "notes.txt");
}

#[test]
fn url_sources_need_no_bytes() {
    let url_task = |url: &str| {
        task(
            Stage::Validation,
            TaskInput {
                source: Some(Source::Url(url.into())),
                ..TaskInput::default()
            },
            Requirements::default(),
        )
    };
    let out = agent()
        .execute(
            &url_task("https://example.org/page"),
            &TaskContext::default(),
        )
        .unwrap();
    assert_eq!(out.kind, Some(DocKind::Html));
    let src = out.source.unwrap();
    assert_eq!(src.name, "https://example.org/page");
    assert_eq!(src.media_type, "text/html");
    assert_eq!((src.bytes, src.sha256.as_str()), (0, ""));

    let e = agent()
        .execute(&url_task("ftp://example.org/file"), &TaskContext::default())
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("only http and https URLs are supported"));
}

#[test]
fn missing_bytes_and_wrong_stage_are_permanent() {
    let e = agent()
        .execute(&validation_task("a.txt"), &TaskContext::default())
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    let t = task(
        Stage::Extraction,
        TaskInput::default(),
        Requirements::default(),
    );
    let e = agent().execute(&t, &ctx("a.txt", &b"x"[..])).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("extraction"), "{}", e.message);
}

#[test]
fn the_digest_the_runtime_computed_is_reported_not_computed_again() {
    let bytes = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
    let t = validation_task("a.pdf");
    // Without a digest, validation hashes the bytes.
    let out = agent().execute(&t, &ctx("a.pdf", &bytes[..])).unwrap();
    assert_eq!(
        out.source.unwrap().sha256,
        hex::encode(Sha256::digest(bytes))
    );
    // With the digest the Object Store fetch computed (and checked against the
    // object's metadata), that digest is the one reported.
    let mut with_digest = ctx("a.pdf", &bytes[..]);
    if let Some(d) = with_digest.document.as_mut() {
        d.sha256 = Some([7; 32]);
    }
    let out = agent().execute(&t, &with_digest).unwrap();
    assert_eq!(out.source.unwrap().sha256, "07".repeat(32));
}
