//! `vault:` keys: a HashiCorp Vault or OpenBao transit secrets engine signs, and the private key
//! never leaves it.
//!
//! # URI
//!
//! ```text
//! vault://HOST[:PORT]/MOUNT/KEY[?PARAMS]
//! ```
//!
//! - `HOST[:PORT]`: the Vault server (an IPv6 address in brackets). `PORT` defaults to 8200,
//!   Vault's own default; write `:443` for a Vault behind a load balancer on the HTTPS port.
//!   User information (`user@`) is refused: credentials never go into the URI.
//! - `/MOUNT/KEY`: the path of the transit engine's mount (one or more segments, as `vault
//!   secrets list` shows it: `transit`, `team-a/transit`) and the key's name (the last segment).
//!   Segments are percent-decoded; `.`, `..` and empty segments are refused.
//!
//! Parameters (each at most once; an unknown one is an error):
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `tls` | `true` | `false` talks plain `http`: only for a Vault on loopback or a trusted network, because the token travels in clear |
//! | `token-env` | `VAULT_TOKEN` | the environment variable holding the token, read when the key is opened |
//! | `token-file` | | a file holding the token (instead of `token-env`), read for every request so that Vault Agent can renew it; relative paths are relative to `base`; refused if other users may read it (group may: Vault Agent's sinks are 0640) |
//! | `namespace` | | Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace` |
//! | `key-version` | the latest | the key version to sign with |
//! | `timeout` | `30` | seconds per request (decimal) |
//! | `ca-file` | | PEM CA certificates trusted in addition to the operating system's store (which honours `SSL_CERT_FILE`); relative to `base` |
//!
//! Example: `vault://vault.example.com/transit/tufmirror-timestamp?token-file=/run/vault/token`.
//!
//! # What happens
//!
//! When the key is opened, `GET /v1/MOUNT/keys/KEY` gives its type (`ed25519`, TUF scheme
//! `ed25519`; or `ecdsa-p256`, TUF scheme `ecdsa-sha2-nistp256`; anything else is refused) and the
//! public key of the version used: `key-version`, or the `latest_version` at that moment. That
//! version is **pinned**: every `POST /v1/MOUNT/sign/KEY` names it in `key_version`, so a key
//! rotated in Vault later cannot sign with a key that root does not list; a signature whose
//! `vault:vN:` prefix names another version, or that does not verify under the loaded public key,
//! is refused. (After a rotation the operator adds the new public key to root, then restarts with
//! the new version.) ECDSA requests ask for `hash_algorithm` `sha2-256` and `marshaling_algorithm`
//! `asn1` (DER), which is the TUF scheme; Ed25519 signs the message itself.
//!
//! The token is sent as `X-Vault-Token` (marked sensitive, so HTTP/2 never indexes it), never
//! logged, redacted from `Debug` and zeroized when dropped (copies inside the HTTP stack are
//! not). Redirects are not followed, so the token never goes to another server: point the URI at
//! the active node or a load balancer. Proxies come from `HTTPS_PROXY`/`NO_PROXY` as for the
//! Vault CLI, except for loopback addresses, which are always reached directly.
//!
//! Errors keep apart what an operator fixes differently: a missing token
//! ([`SignerError::NoCredentials`]), a refused one (HTTP 401/403,
//! [`SignerError::CredentialsRefused`]), a missing key or version ([`SignerError::KeyNotFound`]),
//! a server that cannot be reached ([`SignerError::Unreachable`], [`SignerError::Timeout`]) and
//! one that answers with an error ([`SignerError::BackendFailed`]).

use crate::uri::params::{self, bad};
use crate::{Signer, SignerError};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::pkcs8::DecodePublicKey;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tufmirror_core::PublicKey;
use tufmirror_core::key::KeyError;
use zeroize::Zeroizing;

/// Vault's default port.
pub const DEFAULT_PORT: u16 = 8200;
/// How long a request may take unless the URI says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response read from Vault.
const MAX_RESPONSE: usize = 1024 * 1024;

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable, read when the key is opened.
    Env(String),
    /// A file, read for every request.
    File(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(var) => write!(f, "token from ${var}"),
            TokenSource::File(path) => write!(f, "token in {}", path.display()),
        }
    }
}

/// A parsed `vault:` URI. It holds no secret: only where the token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultUri {
    /// `https://HOST:PORT/` (or `http://` with `tls=false`).
    pub address: Url,
    /// The mount path, segments joined by `/`.
    pub mount: String,
    /// The transit key's name.
    pub key: String,
    /// Where the token comes from (`token-env=`, default `VAULT_TOKEN`, or `token-file=`).
    pub token: TokenSource,
    /// `namespace=`: the Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`; `None`: none.
    pub namespace: Option<String>,
    /// `key-version=`: the key version to sign with; `None`: the latest.
    pub key_version: Option<u64>,
    /// `timeout=`: how long each request may take (default 30 s).
    pub timeout: Duration,
    /// `ca-file=`: PEM CA certificates trusted besides the system's; `None`: the system's only.
    pub ca_file: Option<PathBuf>,
}

const KNOWN_PARAMS: &str = "tls, token-env, token-file, namespace, key-version, timeout, ca-file";

impl VaultUri {
    /// Parses what follows `vault:` in `uri`.
    pub(crate) fn parse(uri: &str, rest: &str, base: &Path) -> Result<Self, SignerError> {
        let usage =
            || bad(uri, "expected vault://HOST[:PORT]/MOUNT/KEY, e.g. vault://vault:8200/transit/my-key".into());
        let (hier, query) = params::split_query(uri, rest)?;
        let hier = hier.strip_prefix("//").ok_or_else(usage)?;
        let (authority, path) = hier.split_once('/').ok_or_else(usage)?;

        let (mut tls, mut token_env, mut token_file, mut namespace, mut key_version, mut timeout, mut ca_file) =
            (None, None, None, None, None, None, None);
        for (name, value) in query {
            match name.as_str() {
                "tls" => {
                    let on = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad(uri, format!("tls={value} is neither true nor false"))),
                    };
                    params::once(uri, "tls", &mut tls, on)?;
                }
                "token-env" => {
                    if value.is_empty() || value.contains(['=', '\0']) {
                        return Err(bad(uri, format!("token-env={value:?} is not a variable name")));
                    }
                    params::once(uri, "token-env", &mut token_env, value)?;
                }
                "token-file" => params::once(uri, "token-file", &mut token_file, nonempty(uri, "token-file", value)?)?,
                "namespace" => params::once(uri, "namespace", &mut namespace, nonempty(uri, "namespace", value)?)?,
                "key-version" => {
                    let v = value.parse::<u64>().ok().filter(|v| *v >= 1);
                    let v = v.ok_or_else(|| bad(uri, format!("key-version={value} is not a version (1, 2, …)")))?;
                    params::once(uri, "key-version", &mut key_version, v)?;
                }
                "timeout" => params::once(uri, "timeout", &mut timeout, params::parse_timeout(uri, &value)?)?,
                "ca-file" => params::once(uri, "ca-file", &mut ca_file, nonempty(uri, "ca-file", value)?)?,
                "token" | "vault-token" => {
                    return Err(bad(uri, "a token never goes into the URI: use token-env or token-file".into()));
                }
                other => return Err(bad(uri, format!("unknown parameter {other:?} (known: {KNOWN_PARAMS})"))),
            }
        }
        let tls = tls.unwrap_or(true);
        let token = match (token_env, token_file) {
            (Some(_), Some(_)) => return Err(bad(uri, "token-env and token-file exclude each other".into())),
            (_, Some(file)) => TokenSource::File(base.join(file)),
            (env, None) => TokenSource::Env(env.unwrap_or_else(|| "VAULT_TOKEN".to_owned())),
        };
        if ca_file.is_some() && !tls {
            return Err(bad(uri, "ca-file with tls=false: plain HTTP has no certificates".into()));
        }

        if authority.is_empty() {
            return Err(usage());
        }
        if authority.contains('@') {
            return Err(bad(uri, "credentials never go into the URI: use token-env or token-file".into()));
        }
        let scheme = if tls { "https" } else { "http" };
        let mut address = Url::parse(&format!("{scheme}://{authority}/"))
            .ok()
            .filter(|u| u.host().is_some() && u.path() == "/" && u.query().is_none() && u.fragment().is_none())
            .ok_or_else(|| bad(uri, format!("{authority:?} is not a host with an optional port")))?;
        let explicit_port = match authority.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => authority.contains(':'),
        };
        if !explicit_port && address.set_port(Some(DEFAULT_PORT)).is_err() {
            return Err(usage());
        }

        let mut segments = Vec::new();
        for segment in path.split('/') {
            let decoded = params::percent_decode(uri, segment)?;
            if decoded.is_empty() || decoded == "." || decoded == ".." || decoded.contains('/') {
                return Err(bad(uri, format!("path segment {segment:?} is not a mount or key name")));
            }
            segments.push(decoded);
        }
        let key = match segments.pop() {
            Some(key) if !segments.is_empty() => key,
            _ => return Err(usage()),
        };
        Ok(VaultUri {
            address,
            mount: segments.join("/"),
            key,
            token,
            namespace,
            key_version,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
            ca_file: ca_file.map(|f| base.join(f)),
        })
    }

    /// `Vault at https://host:port`, for messages.
    fn backend(&self) -> String {
        format!("Vault at {}", self.address.as_str().trim_end_matches('/'))
    }

    /// `ADDRESS/v1/MOUNT/OPERATION/KEY`, each segment percent-encoded.
    fn url(&self, operation: &str) -> Url {
        let mut url = self.address.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear().push("v1").extend(self.mount.split('/')).push(operation).push(&self.key);
        }
        url
    }
}

fn nonempty(uri: &str, name: &str, value: String) -> Result<String, SignerError> {
    if value.is_empty() {
        return Err(bad(uri, format!("{name} is empty")));
    }
    Ok(value)
}

/// A transit key in Vault or OpenBao, one version of it pinned.
pub struct VaultSigner {
    transit: Transit,
    version: u64,
    public: PublicKey,
}

impl fmt::Debug for VaultSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = &self.transit.uri;
        f.debug_struct("VaultSigner")
            .field("address", &uri.address.as_str())
            .field("namespace", &uri.namespace)
            .field("mount", &uri.mount)
            .field("key", &uri.key)
            .field("version", &self.version)
            .field("key_id", &self.public.key_id())
            .field("token", &format_args!("<redacted {}>", uri.token))
            .finish()
    }
}

/// The HTTP side: one key's endpoints, and the token.
struct Transit {
    uri: VaultUri,
    http: reqwest::Client,
    /// The token read from the environment; `None` for `token-file` (read per request).
    token: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct KeyData {
    #[serde(rename = "type")]
    kind: String,
    latest_version: u64,
    keys: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    derived: bool,
}

#[derive(Deserialize)]
struct SignData {
    signature: String,
}

/// Vault's error answer: `{"errors": ["..."]}`.
#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<String>,
}

impl VaultSigner {
    /// Reads the token, loads the key's public half from Vault and pins its version.
    pub async fn open(uri: VaultUri) -> Result<Self, SignerError> {
        let http = client(&uri)?;
        let token = match &uri.token {
            TokenSource::Env(var) => {
                Some(Zeroizing::new(std::env::var(var).map_err(|_| SignerError::NoCredentials {
                    backend: uri.backend(),
                    credential: uri.token.to_string(),
                    reason: format!("the environment variable {var} is not set (or not UTF-8)"),
                })?))
            }
            TokenSource::File(_) => None,
        };
        let transit = Transit { uri, http, token };
        let response = transit.request(Method::GET, "keys", None).await?;
        let data: KeyData = transit.decode(&response)?;
        let (version, public) = transit.public_key_of(&data)?;
        Ok(VaultSigner { transit, version, public })
    }

    /// The key version every signature is made with.
    pub fn version(&self) -> u64 {
        self.version
    }
}

impl Transit {
    fn key_name(&self) -> String {
        format!("{}/{}", self.uri.mount, self.uri.key)
    }

    fn public_key_of(&self, data: &KeyData) -> Result<(u64, PublicKey), SignerError> {
        let unusable = |reason: String| SignerError::BadResponse { backend: self.uri.backend(), reason };
        let name = self.key_name();
        if !matches!(data.kind.as_str(), "ed25519" | "ecdsa-p256") {
            return Err(unusable(format!(
                "key {name} is of type {:?}; tufmirror signs with ed25519 or ecdsa-p256 keys",
                data.kind
            )));
        }
        if data.derived {
            return Err(unusable(format!("key {name} is a derived key, which needs a context; create it without")));
        }
        let version = self.uri.key_version.unwrap_or(data.latest_version);
        let entry = data.keys.get(&version.to_string()).ok_or_else(|| SignerError::KeyNotFound {
            backend: self.uri.backend(),
            key: format!("{name} version {version} (latest: {})", data.latest_version),
        })?;
        let text = entry
            .get("public_key")
            .and_then(|p| p.as_str())
            .ok_or_else(|| unusable(format!("key {name} version {version} has no public_key")))?;
        let malformed = |e: String| unusable(format!("the public key of {name} version {version} is malformed: {e}"));
        let public = if data.kind == "ed25519" {
            let raw = BASE64.decode(text.trim()).map_err(|e| malformed(e.to_string()))?;
            let raw: [u8; 32] = raw.try_into().map_err(|_| malformed("not 32 bytes".to_owned()))?;
            PublicKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|e| malformed(e.to_string()))?)
        } else {
            PublicKey::EcdsaP256(
                p256::ecdsa::VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| malformed(e.to_string()))?,
            )
        };
        Ok((version, public))
    }

    /// The token to send now.
    fn token(&self) -> Result<Zeroizing<String>, SignerError> {
        let missing = |reason: String| SignerError::NoCredentials {
            backend: self.uri.backend(),
            credential: self.uri.token.to_string(),
            reason,
        };
        let token = match (&self.token, &self.uri.token) {
            (Some(token), _) => token.clone(),
            (None, TokenSource::File(path)) => {
                check_token_file(path).map_err(|problem| missing(problem.to_string()))?;
                Zeroizing::new(std::fs::read_to_string(path).map_err(|e| missing(format!("cannot read it: {e}")))?)
            }
            (None, TokenSource::Env(_)) => return Err(missing("not read".to_owned())),
        };
        let trimmed = token.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(missing("it is empty or not a token (printable ASCII without spaces)".to_owned()));
        }
        Ok(Zeroizing::new(trimmed.to_owned()))
    }

    /// Sends one request and returns the body of a successful answer; sorts failures.
    async fn request(
        &self,
        method: Method,
        operation: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, SignerError> {
        let backend = self.uri.backend();
        let mut headers = HeaderMap::new();
        {
            let token = self.token()?;
            let mut value = HeaderValue::from_str(&token).map_err(|_| SignerError::NoCredentials {
                backend: backend.clone(),
                credential: self.uri.token.to_string(),
                reason: "it is not a valid header value".to_owned(),
            })?;
            value.set_sensitive(true);
            headers.insert("x-vault-token", value);
        }
        headers.insert("x-vault-request", HeaderValue::from_static("true"));
        if let Some(ns) = &self.uri.namespace {
            let value = HeaderValue::from_str(ns).map_err(|_| SignerError::BadUri {
                uri: self.uri.address.to_string(),
                reason: format!("namespace {ns:?} is not a valid header value"),
            })?;
            headers.insert("x-vault-namespace", value);
        }
        let mut request = self.http.request(method, self.uri.url(operation)).headers(headers);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let mut response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if bytes.len() + chunk.len() > MAX_RESPONSE {
                return Err(SignerError::BadResponse {
                    backend,
                    reason: format!("the answer is larger than {MAX_RESPONSE} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(bytes);
        }
        let detail = vault_errors(status, &bytes);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                SignerError::CredentialsRefused { backend, credential: self.uri.token.to_string(), reason: detail }
            }
            StatusCode::NOT_FOUND => SignerError::KeyNotFound {
                backend,
                key: format!("{} (or no transit engine is mounted at {})", self.key_name(), self.uri.mount),
            },
            s if s.is_redirection() => SignerError::BackendFailed {
                backend,
                reason: format!(
                    "{detail}, a redirect to {:?}; redirects are not followed (the token would go along): use the active node's address",
                    response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("?")
                ),
            },
            _ => SignerError::BackendFailed { backend, reason: detail },
        })
    }

    fn transport(&self, e: reqwest::Error) -> SignerError {
        let backend = self.uri.backend();
        if e.is_timeout() {
            SignerError::Timeout { backend, after: self.uri.timeout }
        } else {
            SignerError::Unreachable { backend, source: Box::new(e.without_url()) }
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(&self, body: &[u8]) -> Result<T, SignerError> {
        serde_json::from_slice::<Envelope<T>>(body).map(|e| e.data).map_err(|e| SignerError::BadResponse {
            backend: self.uri.backend(),
            reason: format!("not the JSON Vault answers with: {e}"),
        })
    }
}

#[async_trait]
impl Signer for VaultSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut body = serde_json::json!({"input": BASE64.encode(message), "key_version": self.version});
        if let PublicKey::EcdsaP256(_) = self.public {
            body["hash_algorithm"] = "sha2-256".into();
            body["marshaling_algorithm"] = "asn1".into();
        }
        let transit = &self.transit;
        let response = transit.request(Method::POST, "sign", Some(body)).await?;
        let data: SignData = transit.decode(&response)?;
        let unusable = |reason: String| SignerError::BadResponse { backend: transit.uri.backend(), reason };
        let (version, encoded) = data
            .signature
            .strip_prefix("vault:v")
            .and_then(|r| r.split_once(':'))
            .ok_or_else(|| unusable("the signature is not of the form vault:vN:BASE64".to_owned()))?;
        if version != self.version.to_string() {
            return Err(unusable(format!(
                "it signed with version {version} of {}, not the pinned version {}",
                transit.key_name(),
                self.version
            )));
        }
        let sig = BASE64.decode(encoded).map_err(|e| unusable(format!("the signature is not base64: {e}")))?;
        match self.public.verify(message, &sig) {
            Ok(()) => Ok(sig),
            Err(KeyError::BadSignature { .. }) => Err(SignerError::BadSignature {
                key_id: self.key_id(),
                reason: format!(
                    "{} signed with a key other than version {} of {}",
                    transit.uri.backend(),
                    self.version,
                    transit.key_name()
                ),
            }),
            Err(e) => Err(unusable(format!("the signature is malformed: {e}"))),
        }
    }
}

/// `HTTP 403: permission denied`, from Vault's `{"errors": [...]}` when it sent them.
fn vault_errors(status: StatusCode, body: &[u8]) -> String {
    let errors = serde_json::from_slice::<Errors>(body).map(|e| e.errors).unwrap_or_default();
    let mut detail = format!("HTTP {}", status.as_u16());
    if !errors.is_empty() {
        let mut joined = errors.join("; ");
        if joined.len() > 500 {
            let cut = (0..=500).rev().find(|i| joined.is_char_boundary(*i)).unwrap_or(0);
            joined.truncate(cut);
            joined.push_str(" [truncated]");
        }
        detail.push_str(": ");
        detail.push_str(&joined);
    }
    detail
}

fn client(uri: &VaultUri) -> Result<reqwest::Client, SignerError> {
    let tls = uri.address.scheme() == "https";
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(true)
        .https_only(tls)
        .timeout(uri.timeout)
        .connect_timeout(uri.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &uri.ca_file {
        let unusable = |reason: String| SignerError::CaFile { path: path.clone(), reason };
        let pem = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| unusable(e.to_string()))?;
        if certs.is_empty() {
            return Err(unusable("it holds no PEM certificate".to_owned()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if is_loopback(&uri.address) {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| SignerError::Other(Box::new(e)))
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a token file may not be used.
#[derive(Debug, thiserror::Error)]
enum TokenFileProblem {
    #[error("cannot read it: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error("it may be read by other users (mode {mode:o}); run `chmod o-rwx {}`", path.display())]
    OpenToOthers { mode: u32, path: PathBuf },
}

#[cfg(unix)]
fn check_token_file(path: &Path) -> Result<(), TokenFileProblem> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(TokenFileProblem::Unreadable)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(TokenFileProblem::OpenToOthers { mode, path: path.to_owned() });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_token_file(_path: &Path) -> Result<(), TokenFileProblem> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Result<VaultUri, SignerError> {
        VaultUri::parse(uri, uri.strip_prefix("vault:").unwrap_or(uri), Path::new("/etc/tufmirror"))
    }

    #[test]
    fn parses_vault_uris() {
        let uri = parse("vault://vault.example.com/transit/tufmirror-timestamp").expect("valid");
        assert_eq!(uri.address.as_str(), "https://vault.example.com:8200/");
        assert_eq!((uri.mount.as_str(), uri.key.as_str()), ("transit", "tufmirror-timestamp"));
        assert_eq!(uri.token, TokenSource::Env("VAULT_TOKEN".into()));
        assert_eq!((&uri.namespace, uri.key_version, uri.timeout, &uri.ca_file), (&None, None, DEFAULT_TIMEOUT, &None));
        assert_eq!(uri.url("sign").as_str(), "https://vault.example.com:8200/v1/transit/sign/tufmirror-timestamp");

        let uri = parse(
            "vault://127.0.0.1:18200/team%20a/transit/k%40x?tls=false&token-file=tok&namespace=ns1%2Fns2&key-version=3&timeout=1.5",
        )
        .expect("valid");
        assert_eq!(uri.address.as_str(), "http://127.0.0.1:18200/");
        assert_eq!((uri.mount.as_str(), uri.key.as_str()), ("team a/transit", "k@x"));
        assert_eq!(uri.token, TokenSource::File("/etc/tufmirror/tok".into()));
        assert_eq!(uri.namespace.as_deref(), Some("ns1/ns2"));
        assert_eq!((uri.key_version, uri.timeout), (Some(3), Duration::from_millis(1500)));
        assert_eq!(uri.url("keys").as_str(), "http://127.0.0.1:18200/v1/team%20a/transit/keys/k@x");

        let uri = parse("vault://[::1]:443/transit/k?ca-file=/ca.pem&token-env=MY_TOKEN").expect("valid");
        assert_eq!(uri.address.as_str(), "https://[::1]/");
        assert_eq!(uri.token, TokenSource::Env("MY_TOKEN".into()));
        assert_eq!(uri.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(parse("vault://[::1]/t/k").expect("valid").address.as_str(), "https://[::1]:8200/");

        for bad_uri in [
            "vault:",
            "vault:transit/k",
            "vault://host",
            "vault://host/",
            "vault://host/k",
            "vault://host/transit/",
            "vault://host//k",
            "vault://host/transit/../k",
            "vault://host/transit/a%2Fb",
            "vault:///transit/k",
            "vault://user:pw@host/transit/k",
            "vault://host:99999/transit/k",
            "vault://host/transit/k?tls=no",
            "vault://host/transit/k?token=s.abc",
            "vault://host/transit/k?token-env=A&token-file=/t",
            "vault://host/transit/k?key-version=0",
            "vault://host/transit/k?mount=transit",
            "vault://host/transit/k?tls=false&ca-file=/ca.pem",
            "vault://host/transit/k?namespace=",
        ] {
            assert!(matches!(parse(bad_uri), Err(SignerError::BadUri { .. })), "{bad_uri}: {:?}", parse(bad_uri));
        }
        let err = parse("vault://host/transit/k?token=s.secret").expect_err("token in URI");
        assert!(err.to_string().contains("token-env"), "{err}");
    }
}
