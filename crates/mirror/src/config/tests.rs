use super::*;

const EXAMPLE: &str = include_str!("../../../../config/tufmirror.toml");

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_embedded_default_is_a_working_local_mirror() {
    let c = Config::load(None, no_env).expect("default loads");
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.public_url, "http://127.0.0.1:8080");
    assert_eq!(c.upstream.index_url, "https://index.crates.io/");
    assert!(c.mirror.on_demand && c.keys.generate_development_keys);
    assert_eq!(c.storage.data_dir, Path::new("./tufmirror-data"));
}

#[test]
fn the_example_file_documents_exactly_the_defaults() {
    // Every key in config/tufmirror.toml is set to its default, so the example cannot drift.
    assert_eq!(Config::parse(EXAMPLE, "config/tufmirror.toml").expect("example parses"), Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tufmirror.toml");
    std::fs::write(&path, EXAMPLE).expect("write");
    let c = Config::load(Some(&path), no_env).expect("example validates");
    assert_eq!(c.storage.data_dir, dir.path().join("tufmirror-data"), "relative to the file's folder");
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).expect("write");
    Config::load(Some(&path), no_env)
}

#[test]
fn a_key_setting_takes_one_uri_or_a_list_and_says_so() {
    let c = load_text("[keys]\ntargets = [\"file:a.pem\", \"file:b.pem\"]\n").expect("a list");
    assert_eq!(c.keys.targets.len(), 2);
    let err = load_text("[keys]\ntargets = 5\n").expect_err("a number").to_string();
    assert!(err.contains("targets"), "{err}");
    assert!(err.contains("a key URI or a list of key URIs"), "{err}");
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_and_the_file() {
    let err = load_text("[server]\nlisen = \"127.0.0.1:1\"\n").expect_err("typo").to_string();
    assert!(err.contains("bad.toml") && err.contains("lisen"), "{err}");
    let err = load_text("[servr]\n").expect_err("unknown table").to_string();
    assert!(err.contains("bad.toml") && err.contains("servr"), "{err}");
    let err = load_text("[server]\nlisten = \"not an address\"\n").expect_err("bad address").to_string();
    assert!(err.contains("bad.toml") && err.contains("listen"), "{err}");
    let cases = [
        ("[server]\npublic_url = \"ftp://x\"\n", "server.public_url"),
        ("[upstream]\nindex_url = \"https://x/?q=1\"\n", "upstream.index_url"),
        ("[mirror]\ndeny = [\"a[\"]\n", "mirror.deny"),
        ("[storage]\nkeep_snapshots = 0\n", "storage.keep_snapshots"),
        ("[expiry]\ntimestamp_days = 0\n", "expiry.timestamp_days"),
        ("[upstream]\ntimeout = \"0s\"\n", "upstream.timeout"),
        ("[mirror]\nallowed_registries = [\"not a url\"]\n", "mirror.allowed_registries"),
        ("[upstream]\ndownload_hosts = [\"https://static.crates.io\"]\n", "upstream.download_hosts"),
        ("[server]\nheader_timeout = \"0s\"\n", "server.header_timeout"),
        ("[server]\nidle_timeout = \"0s\"\n", "server.idle_timeout"),
        ("[server]\nmax_connections = 0\n", "server.max_connections"),
    ];
    for (text, key) in cases {
        let err = load_text(text).expect_err(key).to_string();
        assert!(err.contains("bad.toml") && err.contains(key), "{key}: {err}");
    }
    let err = Config::load(Some(Path::new("/nonexistent/tufmirror.toml")), no_env).expect_err("missing").to_string();
    assert!(err.contains("/nonexistent/tufmirror.toml"), "{err}");
}

#[test]
fn environment_overrides_the_file_and_names_itself_in_errors() {
    let env = |var: &str| match var {
        "TUFMIRROR_PUBLIC_URL" => Some("https://mirror.example.org/".to_owned()),
        "TUFMIRROR_UPSTREAM_INDEX" => Some("https://upstream.example.org/index".to_owned()),
        _ => None,
    };
    let c = Config::load(None, env).expect("loads");
    assert_eq!(c.server.public_url, "https://mirror.example.org");
    assert_eq!(c.upstream.index_url, "https://upstream.example.org/index/", "a registry URL ends in /");
    let err = Config::load(None, |v: &str| (v == "TUFMIRROR_LISTEN").then(|| "nope".to_owned())).expect_err("bad");
    assert!(err.to_string().contains("TUFMIRROR_LISTEN"), "{err}");
}

#[test]
fn key_paths_left_out_follow_the_data_dir() {
    let c = load_text("[storage]\ndata_dir = \"state\"\n").expect("loads");
    let dir = c.storage.data_dir.clone();
    assert!(dir.ends_with("state"), "{dir:?}");
    assert_eq!(c.keys.root_dir, dir.join("keys"));
    assert_eq!(c.keys.targets, ["file:state/keys/targets.pem"], "relative to the file's folder, as data_dir");
    assert_eq!(c.keys.snapshot, ["file:state/keys/snapshot.pem"]);
    assert_eq!(c.keys.timestamp, ["file:state/keys/timestamp.pem"]);

    // What a file sets stays, even where it equals the old default.
    let c = load_text(
        "[storage]\ndata_dir = \"/srv/m\"\n[keys]\nroot_dir = \"tufmirror-data/keys\"\ntimestamp = \"pkcs11:token=t\"\n",
    )
    .expect("loads");
    assert!(c.keys.root_dir.ends_with("tufmirror-data/keys"), "{:?}", c.keys.root_dir);
    assert_eq!(c.keys.timestamp, ["pkcs11:token=t"]);
    assert_eq!(c.keys.targets, ["file:/srv/m/keys/targets.pem"]);

    // The environment's data folder moves them too, file or no file.
    let env = |var: &str| (var == "TUFMIRROR_DATA_DIR").then(|| "/var/lib/m".to_owned());
    let c = Config::load(None, env).expect("loads");
    assert_eq!(c.keys.root_dir, Path::new("/var/lib/m/keys"));
    assert_eq!(c.keys.snapshot, ["file:/var/lib/m/keys/snapshot.pem"]);
    let c = Config::load(None, no_env).expect("loads");
    assert_eq!(c.keys.root_dir, Path::new("./tufmirror-data/keys"), "the embedded default: as before");
    assert_eq!(c.keys.targets, ["file:tufmirror-data/keys/targets.pem"]);
}
