//! Vocabulary for synthetic crate names, dependencies and features.

/// Words that crate names are made of, most common first (names pick towards the front).
pub(crate) const WORDS: &[&str] = &[
    "rs", "rust", "sys", "core", "derive", "macros", "utils", "cli", "api", "async", "tokio", "serde", "http",
    "client", "web", "lib", "json", "bevy", "wasm", "types", "codegen", "util", "config", "parser", "proc",
    "macro", "common", "test", "server", "solana", "substrate", "pallet", "build", "crypto", "net", "db", "tool",
    "tools", "io", "fs", "sdk", "plugin", "runtime", "engine", "data", "log", "time", "hash", "stream", "ffi",
    "bindings", "rpc", "grpc", "proto", "protocol", "storage", "cache", "store", "sql", "graph", "math", "vec",
    "map", "str", "string", "text", "image", "audio", "video", "gui", "ui", "term", "tui", "shell", "cmd",
    "args", "env", "path", "file", "zip", "tar", "compress", "base64", "hex", "uuid", "rand", "num", "bigint",
    "float", "decimal", "date", "chrono", "tracing", "metrics", "trace", "debug", "bench", "mock", "fake",
    "redis", "postgres", "mysql", "sqlite", "mongo", "kafka", "aws", "azure", "cloud", "k8s", "docker", "git",
    "github", "bot", "discord", "telegram", "matrix", "game", "ecs", "physics", "render", "gpu", "vulkan", "gl",
    "shader", "window", "input", "event", "events", "actor", "task", "job", "worker", "embedded", "hal",
    "stm32", "nrf", "esp", "riscv", "arm", "x86", "kernel", "os", "boot", "uefi", "near", "ink", "anchor",
    "evm", "eth", "bitcoin", "wallet", "token", "chain", "node", "p2p", "tcp", "udp", "quic", "tls", "dns",
    "email", "url", "html", "xml", "yaml", "toml", "csv", "markdown", "regex", "glob", "lexer", "ast",
    "compiler", "vm", "jit", "lsp", "editor", "fuzzy", "search", "index", "tree", "trie", "heap", "bitset",
    "bloom", "arena", "slab", "ring", "channel", "signal", "timer", "retry", "limit", "auth", "jwt", "oauth",
    "password", "secret", "key", "sign", "cert", "x509", "pem", "der", "asn1", "aes", "sha", "blake3", "std",
    "nostd", "mini", "tiny", "simple", "easy", "fast", "rusty", "oxide", "ng", "next", "lite", "core2", "extra",
    "ext", "helper", "helpers", "internal", "impl", "traits", "generic", "model", "models", "schema", "spec",
    "openapi", "axum", "actix", "rocket", "warp", "hyper", "tower", "leptos", "yew", "dioxus", "tauri", "egui",
    "iced", "winit", "wgpu", "polars", "arrow", "datafusion", "ndarray", "nalgebra", "linfa", "candle", "torch",
    "onnx", "llm", "ai", "ml", "openai", "agent", "chat", "prompt",
];

/// Real, much-depended-on crates.io names, most depended-on first.
pub(crate) const POPULAR: &[&str] = &[
    "serde", "serde_json", "tokio", "log", "rand", "clap", "anyhow", "thiserror", "futures", "lazy_static",
    "regex", "chrono", "serde_derive", "libc", "reqwest", "syn", "quote", "proc-macro2", "bytes", "once_cell",
    "tracing", "itertools", "base64", "async-trait", "hex", "bitflags", "url", "env_logger", "uuid", "num-traits",
    "tempfile", "criterion", "parking_lot", "byteorder", "sha2", "hyper", "http", "tracing-subscriber", "toml",
    "walkdir", "indexmap", "smallvec", "cfg-if", "memchr", "crossbeam", "rayon", "tokio-util", "futures-util",
    "pin-project-lite", "getrandom", "semver", "time", "flate2", "dirs", "tower", "axum", "wasm-bindgen",
    "js-sys", "web-sys", "bincode", "ahash", "hashbrown", "nom", "strum", "derive_more", "ndarray", "image",
    "zeroize", "digest", "sha1", "md5", "rustls", "openssl", "ring", "ed25519-dalek", "curve25519-dalek",
    "num-bigint", "tokio-stream", "async-std", "actix-web", "prost", "tonic", "diesel", "sqlx", "rusqlite",
    "redis", "mongodb", "tera", "handlebars", "pretty_assertions", "proptest", "quickcheck", "mockall",
    "insta", "assert_cmd", "predicates", "structopt", "colored", "console", "indicatif", "dialoguer",
    "crossterm", "ratatui", "termcolor", "atty", "cc", "pkg-config", "bindgen", "cmake", "vcpkg", "winapi",
    "windows-sys", "nix", "memmap2", "mio", "socket2", "tokio-rustls", "native-tls", "hyper-util", "h2",
    "http-body", "mime", "percent-encoding", "form_urlencoded", "unicode-segmentation", "unicode-width",
    "encoding_rs", "csv", "serde_yaml", "quick-xml", "ron", "rmp-serde", "ciborium", "postcard", "heapless",
    "embedded-hal", "cortex-m", "cortex-m-rt", "defmt", "nb", "volatile-register", "bevy", "wgpu", "winit",
    "glam", "nalgebra", "approx", "num-complex", "rand_core", "rand_chacha", "arrayvec", "either", "paste",
    "static_assertions", "scopeguard", "slab", "dashmap", "arc-swap", "crossbeam-channel", "flume",
    "async-channel", "event-listener", "futures-core", "futures-channel", "futures-io", "pin-project",
    "sha3", "blake2", "blake3", "aes", "chacha20poly1305", "hmac", "pbkdf2", "argon2", "jsonwebtoken",
    "solana-program", "solana-sdk", "borsh", "anchor-lang", "frame-support", "sp-runtime", "parity-scale-codec",
    "scale-info", "ethers", "alloy", "primitive-types", "ink", "near-sdk",
];

/// Feature names of crates' own features.
pub(crate) const FEATURE_NAMES: &[&str] = &[
    "std", "alloc", "serde", "derive", "full", "async", "tokio", "nightly", "unstable", "default-tls",
    "rustls-tls", "native-tls", "json", "cli", "logging", "tracing", "metrics", "test-utils", "testing", "bench",
    "simd", "parallel", "rayon", "compression", "gzip", "brotli", "zstd", "http1", "http2", "client", "server",
    "runtime", "macros", "sync", "fs", "net", "time", "rt", "rt-multi-thread", "signal", "process", "io-util",
    "chrono", "uuid", "postgres", "sqlite", "mysql", "wasm", "web", "no_std", "experimental", "debug",
    "serde1", "schemars", "arbitrary", "proptest", "quickcheck", "rand", "getrandom", "js", "vendored",
    "static", "bundled", "openssl", "ring", "aws-lc-rs", "fips", "doc", "docs", "docsrs", "all",
];

/// Features that dependency entries turn on.
pub(crate) const DEP_FEATURES: &[&str] = &[
    "derive", "std", "full", "alloc", "serde", "macros", "rt", "rt-multi-thread", "sync", "fs", "json", "v4",
    "default", "small_rng", "env-filter", "blocking", "stream", "rustls-tls", "preserve_order", "clock",
    "extra-traits", "visit-mut", "const_generics", "union", "cargo", "wrap_help", "time", "io-util", "net",
];

/// `target` strings (the real index writes the `cfg(...)` expression as one string).
pub(crate) const TARGETS: &[&str] = &[
    "cfg(unix)",
    "cfg(windows)",
    "cfg(target_arch = \"wasm32\")",
    "cfg(not(target_arch = \"wasm32\"))",
    "cfg(target_os = \"linux\")",
    "cfg(target_os = \"macos\")",
    "cfg(any(target_os = \"linux\", target_os = \"android\"))",
    "cfg(all(target_arch = \"wasm32\", target_os = \"unknown\"))",
    "cfg(not(any(target_os = \"windows\", target_os = \"macos\", target_os = \"ios\")))",
    "x86_64-pc-windows-gnu",
    "cfg(target_family = \"wasm\")",
    "cfg(any(unix, target_os = \"wasi\"))",
];
