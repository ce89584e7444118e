//! The HTTP client the mirror daemon syncs from: sparse-index files, `config.json` and `.crate`
//! files from an upstream registry (crates.io, or anything that speaks cargo's sparse protocol).
//!
//! Upstream is not trusted to be well behaved, only to be the source of truth for content:
//! - bodies are size-limited (declared and streamed) and must be complete;
//! - transient failures (connection errors, timeouts, truncated bodies, 5xx, 429) are retried
//!   with jittered exponential backoff, honouring `Retry-After` up to a cap; other 4xx are not;
//! - a 429, or any failure with `Retry-After`, pauses every index fetch (capped at
//!   `retry_after_max`): background fetches wait it out, fetches someone waits for may give up at
//!   once ([`Allowance`]), and no index request is sent while it lasts;
//! - a fetch can be held to fewer requests than `retries` allows, and says how many it sent
//!   ([`Spent`]);
//! - at most `max_concurrency` requests are in flight, over pooled HTTP/2 connections where the
//!   server offers HTTP/2;
//! - 404, 410 and 451 are answers ([`IndexFetch::NotFound`]), not errors.
//!
//! Change detection: conditional requests (`If-None-Match`, else `If-Modified-Since`) when
//! upstream gave a validator; the upstream reachable in production gives none, so
//! [`IndexFetch::is_unchanged`] compares content hashes instead.
//!
//! `.crate` downloads go only where [`DownloadHosts`] allows (their URL comes from upstream's
//! `config.json`): http(s), listed hosts, and no internal address unless its host is listed.
//!
//! Trust and proxies: the operating system's certificate store (or `SSL_CERT_FILE`), plus an
//! optional extra CA file; proxies from the environment, or one given explicitly. Credentials in
//! proxy URLs never reach logs, errors or Debug output.

#![warn(missing_docs)]

mod answer;
mod body;
mod client;
mod config;
mod error;
mod hosts;
mod retry;

pub use answer::{CrateFetch, IndexFetch, Validator, same_content};
pub use client::{Allowance, Spent, UpstreamClient};
pub use config::{ProxySetting, UpstreamConfig, redact};
pub use error::UpstreamError;
pub use hosts::{DownloadHosts, InvalidHost, Refused, is_public};
pub use reqwest::Url;
