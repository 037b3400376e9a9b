//! PDFs through the fleet: extraction by the pdf worker, a large PDF split into page
//! ranges across two pdf workers and reassembled in order, and hostile PDFs.

use std::time::Duration;

use daa_shared::model::{AgentKind, FailureKind, JobStatus};
use daa_tests::{Client, DaaProcess, Env, Role};

fn pdf_fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workers/pdf/tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn normalized(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Coordinator, quality worker and two pdf workers of one task slot each, splitting
/// PDFs into parts of 4 pages at least; the processes stop when this is dropped.
struct SplitFleet {
    _processes: Vec<DaaProcess>,
    client: Client,
    _env: Env,
}

async fn split_fleet() -> SplitFleet {
    let mut env = Env::start();
    env.set("DAA_WORKER_CONCURRENCY", "1");
    env.set("DAA_COORDINATOR_PDF_SPLIT_MIN_PAGES", "4");
    let processes = [Role::Coordinator, Role::Quality, Role::Pdf, Role::Pdf]
        .into_iter()
        .map(|r| env.spawn(r))
        .collect();
    let client = env.client().await;
    SplitFleet {
        _processes: processes,
        client,
        _env: env,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_split_across_two_workers_comes_back_whole_and_in_order() {
    let fleet = split_fleet().await;
    let client = &fleet.client;
    daa_tests::eventually(Duration::from_secs(10), "two live pdf workers", || {
        let store = client.store.clone();
        async move {
            store
                .live_agents(AgentKind::Pdf, 5_000)
                .await
                .map(|a| a.len() == 2)
                .unwrap_or(false)
        }
    })
    .await;

    // dmca.pdf: 18 pages, RC4-encrypted with an empty user password.
    let mut job = client
        .submit(Client::job("dmca.pdf", pdf_fixture("dmca.pdf")))
        .await;
    let doc = job.result(Duration::from_secs(60)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.kind, "pdf");
    let numbers: Vec<u32> = doc.pages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=18).collect::<Vec<_>>());
    // Reassembled text equals pdftotext's, page for page, up to whitespace.
    let truth = String::from_utf8(pdf_fixture("dmca.pdftotext.txt")).unwrap();
    let truth_pages: Vec<&str> = truth.split('\u{c}').collect();
    for (page, want) in doc.pages.iter().zip(truth_pages.iter()) {
        let (got, want) = (normalized(&page.text), normalized(want));
        let common = got.split(' ').filter(|w| want.contains(w)).count();
        let words = want.split(' ').count().max(1);
        assert!(
            common * 100 / words >= 90,
            "page {} differs: {got:.80}",
            page.number
        );
    }
    assert_eq!(
        doc.text.matches('\u{c}').count(),
        17,
        "pages joined by form feeds"
    );
    // The QA task travelled without the text (it is the pages joined); the QA agent
    // still judged the whole text against the pages.
    let quality = doc.quality.as_ref().expect("the QA stage ran");
    for name in ["text_present", "pages_consistent"] {
        let check = quality
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} check in {:?}", quality.checks));
        assert!(check.passed, "{name}: {}", check.detail);
    }
    // Both workers took a part.
    let live = client
        .store
        .live_agents(AgentKind::Pdf, 5_000)
        .await
        .unwrap();
    daa_tests::eventually(
        Duration::from_secs(5),
        "both pdf workers report work",
        || {
            let store = client.store.clone();
            async move {
                store
                    .live_agents(AgentKind::Pdf, 5_000)
                    .await
                    .map(|a| {
                        a.iter()
                            .all(|w| w.heartbeat.as_ref().is_some_and(|h| h.processed >= 1))
                    })
                    .unwrap_or(false)
            }
        },
    )
    .await;
    assert_eq!(live.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_pdf_worker_is_given_no_part() {
    let fleet = split_fleet().await;
    let client = &fleet.client;
    let live = || {
        let store = client.store.clone();
        async move {
            store
                .live_agents(AgentKind::Pdf, 5_000)
                .await
                .unwrap_or_default()
        }
    };
    daa_tests::eventually(Duration::from_secs(10), "two live pdf workers", || async {
        live().await.len() == 2
    })
    .await;
    let mut instances: Vec<String> = live().await.into_iter().map(|a| a.instance).collect();
    instances.sort();
    // The answer comes once the paused state is in the worker's heartbeat.
    assert_eq!(
        client.control(AgentKind::Pdf, &instances[1], "pause").await,
        "paused"
    );

    // 18 pages, 4 pages at least per part: two running slots would make two parts.
    let mut job = client
        .submit(Client::job("dmca.pdf", pdf_fixture("dmca.pdf")))
        .await;
    let doc = job.result(Duration::from_secs(60)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    let numbers: Vec<u32> = doc.pages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=18).collect::<Vec<_>>());
    // One task for the whole document, on the running worker; had the paused worker's
    // slot been counted, the running one would have done two parts one after the other.
    let processed = |instance: String| {
        let live = live();
        async move {
            live.await
                .into_iter()
                .find(|a| a.instance == instance)
                .and_then(|a| a.heartbeat)
                .map(|h| h.processed)
        }
    };
    daa_tests::eventually(
        Duration::from_secs(5),
        "the running worker reports its task",
        || {
            let p = processed(instances[0].clone());
            async move { p.await.is_some_and(|n| n >= 1) }
        },
    )
    .await;
    assert_eq!(processed(instances[0].clone()).await, Some(1));
    assert_eq!(processed(instances[1].clone()).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pdfs_fail_with_a_reason_and_the_worker_keeps_serving() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let mut pdf = env.spawn(Role::Pdf);
    let client = env.client().await;

    let refcard = pdf_fixture("debian-refcard-en-a4.pdf");
    let truncated = refcard[..refcard.len() / 3].to_vec();
    let mut garbage = refcard.clone();
    let at = garbage.len() - 1200;
    garbage[at..at + 600].iter_mut().for_each(|b| *b = b'#');
    // Cut off before its trailer: the page object that survived comes back, and the job
    // is partial with the reason. A damaged tail: its objects are read again, nothing is
    // lost. No PDF structure at all: failed, with the reason.
    let cases = [
        ("truncated.pdf", truncated, JobStatus::Partial),
        ("garbage-tail.pdf", garbage, JobStatus::Completed),
        (
            "not-really.pdf",
            b"%PDF-1.7\n"
                .iter()
                .copied()
                .chain(std::iter::repeat_n(b'x', 5000))
                .collect(),
            JobStatus::Failed,
        ),
    ];
    for (name, bytes, want) in cases {
        let mut job = client.submit(Client::job(name, bytes)).await;
        let doc = job.result(Duration::from_secs(60)).await;
        assert_eq!(doc.status, want, "{name}: {:?}", doc.errors);
        match doc.status {
            JobStatus::Failed | JobStatus::Partial => {
                assert!(!doc.errors.is_empty(), "{name}: no reason");
                assert!(
                    doc.errors.iter().all(|e| e.kind == FailureKind::Permanent),
                    "{name}: {:?}",
                    doc.errors
                );
            }
            _ => assert!(doc.errors.is_empty(), "{name}: {:?}", doc.errors),
        }
        if doc.status != JobStatus::Failed {
            assert!(!doc.pages.is_empty(), "{name}: no pages");
        }
        if doc.status == JobStatus::Partial {
            assert!(
                doc.errors[0].message.contains("pages may be missing"),
                "{name}: {:?}",
                doc.errors
            );
        }
    }
    assert!(pdf.is_running(), "the pdf worker died");
    let mut ok = client.submit(Client::job("refcard.pdf", refcard)).await;
    let doc = ok.result(Duration::from_secs(60)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert!(doc.text.contains("Debian"));
}
