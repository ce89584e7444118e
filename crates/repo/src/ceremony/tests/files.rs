//! Writing roots and reading the keys holders hand over.

use super::*;

#[test]
fn roots_are_written_once_and_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let roots = dir.path().join("roots");
    let path = write_new_root(&roots, 1, b"first").expect("write");
    assert_eq!(path, roots.join("1.root.json"));
    let err = write_new_root(&roots, 1, b"second").expect_err("exists");
    assert!(matches!(err, CeremonyError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), b"first");
    let names: Vec<_> = std::fs::read_dir(&roots).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("1.root.json")], "no temporary file is left behind");
}

#[test]
fn public_key_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let private = dir.path().join("k.pem");
    let key = generate_key_file(&private, KeyAlgorithm::EcdsaP256).expect("generate");
    let public = dir.path().join("k.pub.pem");
    std::fs::write(&public, key.to_spki_pem()).expect("write");
    assert_eq!(read_public_key_file(&public).expect("read"), Some(key));
    assert_eq!(read_public_key_file(&private).expect("private"), None);
    assert_eq!(read_public_key_file(&dir.path().join("absent")).expect("absent"), None);
    assert_eq!(read_public_key_file(dir.path()).expect("folder"), None);
    std::fs::write(&public, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").expect("write");
    assert!(matches!(read_public_key_file(&public), Err(CeremonyError::PublicKeyFile { .. })));
}

#[test]
fn keys_are_handed_over_as_uris_or_public_key_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = generate_key_file(&dir.path().join("k.pem"), KeyAlgorithm::Ed25519).expect("generate");
    std::fs::write(dir.path().join("k.pub.pem"), key.to_spki_pem()).expect("write");
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let given = |spec: &str| rt.block_on(given_key(spec, dir.path()));
    for spec in ["k.pub.pem", "file:k.pub.pem"] {
        let public = given(spec).expect("public key file");
        assert_eq!((public.key.clone(), public.public_only), (key.clone(), true), "{spec}");
    }
    let uri = given("file:k.pem").expect("key URI (relative to the base)");
    assert_eq!((uri.key, uri.public_only), (key, false));
    let err = given("file:absent.pem").expect_err("no such key");
    assert!(matches!(err, CeremonyError::OpenKey { .. }), "{err}");
    assert!(err.to_string().contains("a key URI or a PEM public key file"), "{err}");
}
