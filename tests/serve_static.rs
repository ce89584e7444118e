//! `tufmirror serve-static` on loopback: index files carry their inclusion proof, missing crates
//! a non-inclusion proof, and ETags answer 304.

mod common;

use base64::Engine as _;
use common::*;
use tufmirror_core::merkle::{InclusionProof, NonInclusionProof, ProofError};
use tufmirror_core::metadata::Timestamp;

fn decode_header<T: serde::de::DeserializeOwned>(response: &HttpResponse) -> T {
    let header = response.headers.get("tuf-merkle-proof").expect("TUF-Merkle-Proof header");
    let bytes = base64::engine::general_purpose::STANDARD.decode(header).expect("base64");
    serde_json::from_slice(&bytes).expect("proof JSON")
}

fn timestamp(server: &Server) -> Timestamp {
    let response = http_get(server.addr, "/tuf/timestamp.json", &[]);
    assert_eq!(response.status, 200);
    tufmirror_core::verify::parse_unverified::<Timestamp>(&response.body).expect("timestamp").0.signed
}

#[test]
fn index_files_come_with_proofs_and_404s_with_non_inclusion_proofs() {
    let Published { tmp: _tmp, keys, index, out } = Published::fixture_copy();
    let server = Server::start(&out);
    let ts = timestamp(&server);
    let (root, size, version) = (ts.merkle_root.expect("root"), ts.merkle_tree_size.expect("size"), 1);

    let response = http_get(server.addr, "/index/se/rd/serde", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, std::fs::read(fixture_index().join("se/rd/serde")).expect("fixture"));
    assert_eq!(response.headers.get("content-type").map(String::as_str), Some("text/plain"));
    let proof: InclusionProof = decode_header(&response);
    proof.verify_file("se/rd/serde", &response.body, &root, size, version).expect("proof verifies");

    let etag = response.headers.get("etag").expect("etag").clone();
    let not_modified = http_get(server.addr, "/index/se/rd/serde", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());

    for absent in ["no/ne/nonexistent", "1/z", "zz/zz/zzzzz"] {
        let response = http_get(server.addr, &format!("/index/{absent}"), &[]);
        assert_eq!(response.status, 404, "{absent}");
        let proof: NonInclusionProof = decode_header(&response);
        proof.verify(absent, &root, size, version).unwrap_or_else(|e| panic!("{absent}: {e}"));
        // The same proof does not prove another name absent.
        let other = proof.verify("se/rd/serde", &root, size, version);
        assert!(
            matches!(&other, Err(ProofError::WrongPath { expected, found }) if expected == "se/rd/serde" && found == absent),
            "{absent}'s proof for se/rd/serde: {other:?}"
        );
    }

    let config = http_get(server.addr, "/index/config.json", &[]);
    assert_eq!(config.status, 200);
    assert_eq!(http_get(server.addr, "/tuf/1.root.json", &[]).status, 200);
    assert_eq!(http_get(server.addr, "/tuf/2.root.json", &[]).status, 404);

    // A new snapshot is served as soon as it is published, with proofs from the new tree.
    std::fs::remove_file(index.join("3/s/syn")).expect("rm");
    publish_ok(&index, &keys, &out);
    let ts = timestamp(&server);
    assert_eq!(ts.snapshot_version(), Some(2));
    let gone = http_get(server.addr, "/index/3/s/syn", &[]);
    assert_eq!(gone.status, 404);
    let proof: NonInclusionProof = decode_header(&gone);
    proof
        .verify("3/s/syn", &ts.merkle_root.expect("root"), ts.merkle_tree_size.expect("size"), 2)
        .expect("absent in 2");
    // Snapshot 1 stays readable as it was signed.
    assert_eq!(http_get(server.addr, "/snapshots/1/index/3/s/syn", &[]).status, 200);
}
