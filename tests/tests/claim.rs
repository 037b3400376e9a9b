//! Reading objects back from a real JetStream Object Store: objects of a few chunks by
//! direct gets, many-chunk objects through the store's reader, with the same bytes,
//! limits and errors either way.

use async_nats::jetstream::object_store;
use daa_shared::claim::{fetch_object, get_object, put_object, ClaimErrorKind};
use daa_tests::Env;
use sha2::{Digest, Sha256};

const BUCKET: &str = "daa-claim-test";

fn bytes(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_one_and_of_many_chunks_read_back_whole() {
    let env = Env::start();
    let client = env.client().await;
    let js = client.js.clone();
    let store = js
        .create_object_store(object_store::Config {
            bucket: BUCKET.to_owned(),
            ..Default::default()
        })
        .await
        .expect("bucket");

    // One chunk each (put_object writes chunks as large as the server takes).
    let empty: Vec<u8> = Vec::new();
    let small = bytes(1_000, 1);
    let large = bytes(3_000_000, 2);
    for (key, data) in [("empty", &empty), ("small", &small), ("large", &large)] {
        put_object(&js, &client.nats, BUCKET, key, data)
            .await
            .expect("put");
        let got = get_object(&js, BUCKET, key, usize::MAX).await.expect(key);
        assert_eq!(got.as_ref(), data.as_slice(), "{key}");
    }
    // Several chunks of the size put_object writes (4 MiB at most): direct gets.
    let several = bytes(9_500_000, 5);
    put_object(&js, &client.nats, BUCKET, "several", &several)
        .await
        .expect("put several");
    assert!(store.info("several").await.expect("info").chunks >= 3);
    let got = fetch_object(&js, BUCKET, "several", usize::MAX)
        .await
        .expect("several");
    assert_eq!(got.bytes.as_ref(), several.as_slice());
    // Direct gets check the bytes against the metadata's digest, and hand it on.
    let digest: [u8; 32] = Sha256::digest(&several).into();
    assert_eq!(got.sha256, Some(digest));
    // Many chunks (the object store's default chunk size, as other clients write).
    let chunked = bytes(9_000_000, 3);
    store
        .put("chunked", &mut chunked.as_slice())
        .await
        .expect("put chunked");
    let info = store.info("chunked").await.expect("info");
    assert!(info.chunks > 64, "{} chunks", info.chunks);
    let got = fetch_object(&js, BUCKET, "chunked", usize::MAX)
        .await
        .expect("chunked");
    assert_eq!(got.bytes.as_ref(), chunked.as_slice());
    // The store's reader checked the digest itself: none is handed on.
    assert_eq!(got.sha256, None);

    // A new version under the same key replaces the old one.
    let newer = bytes(2_000_000, 4);
    put_object(&js, &client.nats, BUCKET, "large", &newer)
        .await
        .expect("put again");
    let got = get_object(&js, BUCKET, "large", usize::MAX)
        .await
        .expect("newer");
    assert_eq!(got.as_ref(), newer.as_slice());

    // Limits and absence, on both paths.
    for key in ["large", "several", "chunked"] {
        let err = get_object(&js, BUCKET, key, 1_999_999)
            .await
            .expect_err("above the limit");
        assert_eq!(err.kind(), ClaimErrorKind::TooLarge, "{key}: {err}");
    }
    let err = get_object(&js, BUCKET, "missing", usize::MAX)
        .await
        .expect_err("missing");
    assert_eq!(err.kind(), ClaimErrorKind::NotFound, "{err}");
    store.delete("small").await.expect("delete");
    let err = get_object(&js, BUCKET, "small", usize::MAX)
        .await
        .expect_err("deleted");
    assert_eq!(err.kind(), ClaimErrorKind::NotFound, "{err}");
}
