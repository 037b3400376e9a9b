//! A scanned PDF (an image-only page made here) through the fleet: the pdf agent finds no
//! text layer, the planner sends the page to the image agent, and the page comes back
//! with OCR text, `ocr: true` and a confidence.

use std::io::Write;
use std::time::Duration;

use daa_shared::model::{AgentKind, JobStatus, Stage};
use daa_tests::{Client, Env, Role};
use lopdf::{dictionary, Document, Object, Stream};

/// One US-letter page drawing `png` (made gray) full page, FlateDecode, no text.
fn image_only_pdf(png: &[u8]) -> Vec<u8> {
    let gray = image::load_from_memory(png)
        .expect("fixture decodes")
        .to_luma8();
    let (w, h) = gray.dimensions();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(gray.as_raw()).expect("compress");
    let pixels = z.finish().expect("compress");

    let mut doc = Document::with_version("1.5");
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image",
            "Width" => i64::from(w), "Height" => i64::from(h),
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            "Filter" => "FlateDecode",
        },
        pixels,
    ));
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"q 612 0 0 792 0 0 cm /Im0 Do Q".to_vec(),
    ));
    let pages_id = doc.new_object_id();
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        "Contents" => content,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("write pdf");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_pdf_page_comes_back_with_ocr_text_and_confidence() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _pdf = env.spawn(Role::Pdf);
    let _image = env.spawn(Role::Image);
    let client = env.client().await;
    let png = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../workers/image/tests/fixtures/dmca-p3.png"),
    )
    .unwrap();
    let mut job = Client::job("scan.pdf", image_only_pdf(&png));
    job.deadline_ms = Some(120_000);
    let mut job = client.submit(job).await;
    let doc = job.result(Duration::from_secs(120)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.kind, "pdf");
    assert_eq!(doc.pages.len(), 1);
    let page = &doc.pages[0];
    assert_eq!(page.number, 1);
    assert!(page.ocr, "page not marked as OCR");
    let conf = page.confidence.expect("confidence");
    assert!(conf > 0.5, "{conf}");
    assert!(doc.text.contains("Copyright"), "{:.300}", doc.text);
    // The pipeline ran a second extraction round on the image agent.
    let rounds: Vec<&[AgentKind]> = doc
        .stages
        .iter()
        .filter(|s| s.stage == Stage::Extraction)
        .map(|s| s.agents.as_slice())
        .collect();
    assert_eq!(rounds, vec![&[AgentKind::Pdf][..], &[AgentKind::Image][..]]);
    assert!(doc.metadata["ocr_pending"]
        .as_array()
        .is_none_or(|p| p.is_empty()));
}
