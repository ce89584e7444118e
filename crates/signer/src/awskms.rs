//! `awskms:` keys: an AWS KMS asymmetric key signs, and the private key never leaves KMS.
//!
//! # URI
//!
//! ```text
//! awskms:KEY[?region=REGION&endpoint=URL&profile=PROFILE&timeout=SECONDS]
//! ```
//!
//! - `KEY` names the key as KMS does: a key id (`1234abcd-12ab-34cd-56ef-1234567890ab`,
//!   `mrk-…`), a key ARN (`arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…`), an alias
//!   (`alias/tufmirror-timestamp`) or an alias ARN. Percent-decoded.
//!
//! Parameters (each at most once; an unknown one is an error):
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `region` | the ARN's region, else the SDK's region chain (`AWS_REGION`, the profile's `region`, instance metadata) | the key's region; must agree with an ARN's |
//! | `endpoint` | the regional KMS endpoint | an `https://` URL (a VPC endpoint, FIPS endpoint); `http://` only on loopback (an emulator) |
//! | `profile` | `AWS_PROFILE`, else `default` | the profile of `~/.aws/config` and `~/.aws/credentials` for credentials and region |
//! | `timeout` | `30` | seconds a request may take, retries included (decimal) |
//!
//! Example: `awskms:alias/tufmirror-timestamp?region=eu-west-1`.
//!
//! Credentials never go into the URI. They come from the AWS SDK's standard chain, as for the
//! AWS CLI: environment variables (`AWS_ACCESS_KEY_ID`, …), the shared `credentials` and `config`
//! files (static keys, `credential_process`, SSO, assumed roles), web identity (EKS IRSA), the ECS
//! container endpoint, and EC2 instance metadata. Secrets are never logged and are kept out of
//! `Debug` output.
//!
//! # Keys
//!
//! | KMS key spec | signing algorithm | what is sent | TUF scheme |
//! |---|---|---|---|
//! | `ECC_NIST_EDWARDS25519` | `ED25519_SHA_512`, `MessageType` `RAW` | the message itself, **at most 4096 bytes** | `ed25519` (raw 64 bytes) |
//! | `ECC_NIST_P256` | `ECDSA_SHA_256`, `MessageType` `DIGEST` | the SHA-256 of the message, computed here: any size | `ecdsa-sha2-nistp256` (DER) |
//!
//! Other key specs, and keys whose usage is not `SIGN_VERIFY`, are refused when the key is
//! opened. KMS signs at most 4096 bytes of raw message, and Ed25519 cannot sign a digest that TUF
//! clients would accept (Ed25519ph is another scheme), so a longer message given to an Ed25519 key
//! is refused here, before KMS is asked ([`SignerError::MessageTooLarge`]): timestamp metadata is
//! far below the limit, but root and targets metadata may not be; use P-256 keys for those roles.
//!
//! # What happens
//!
//! Opening a key calls `GetPublicKey` (the DER `SubjectPublicKeyInfo` becomes the TUF public key)
//! and checks the key spec, the usage and that the signing algorithm is offered. The key is then
//! **pinned** by the key ARN that KMS answered with: pointing an alias at another key later
//! changes nothing until tufmirror is restarted (with the new public key in root first), as Vault
//! key versions are pinned. Every signature is verified against the public key before it is used.
//!
//! Errors keep apart what an operator fixes differently: no credentials anywhere in the chain
//! ([`SignerError::NoCredentials`]); credentials KMS refused (`UnrecognizedClientException`,
//! `InvalidSignatureException`, `AccessDeniedException`, an expired token:
//! [`SignerError::CredentialsRefused`]); no such key or alias ([`SignerError::KeyNotFound`]); an
//! endpoint that cannot be reached or that does not answer in time ([`SignerError::Unreachable`],
//! [`SignerError::Timeout`]); and KMS answering with an error of its own (a disabled key,
//! throttling that outlasted the retries: [`SignerError::BackendFailed`]).
//!
//! # Dependencies
//!
//! This backend uses the official SDK (`aws-config`, `aws-sdk-kms`) because users expect its
//! whole credential chain, which is large and subtle (IRSA, SSO, instance metadata with IMDSv2,
//! `credential_process`) and not worth re-implementing. The SDK is built without its default TLS
//! stack (aws-lc-rs, which needs cmake): the HTTP client is `aws-smithy-http-client` with rustls
//! on *ring*, which trusts the operating system's certificate store (`rustls-native-certs`, which
//! honours `SSL_CERT_FILE`), so a TLS-intercepting proxy whose CA is installed there works. The
//! SDK's client reads neither `HTTPS_PROXY` nor `AWS_CA_BUNDLE`.
//!
//! The cost, measured from clean with `cargo build -p tufmirror-signer` on 2 cores: 1m31s without
//! the SDK, 2m31s with it on a quiet machine (1m48s and 3m48s with other builds running); the
//! SDK's crates take about 100 of the 290 seconds that its compile units add up to, `aws-sdk-kms`
//! the most (29 s). That is under the 3 minutes we allowed before falling back to `aws-sigv4` over
//! the existing reqwest client with a hand-written credential chain.

use crate::uri::params::{self, bad};
use crate::{Signer, SignerError};
use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use p256::pkcs8::DecodePublicKey;
use sha2::Digest;
use std::fmt;
use std::time::Duration;
use tufmirror_core::PublicKey;
use tufmirror_core::key::KeyError;

/// How long a request may take, retries included, unless the URI says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest message KMS signs raw (`MessageType` `RAW`), and so the longest message an
/// Ed25519 key signs.
pub const MAX_RAW_MESSAGE: usize = 4096;
/// The longest error text from KMS that an error keeps.
const MAX_DETAIL: usize = 500;

const KNOWN_PARAMS: &str = "region, endpoint, profile, timeout";

/// A parsed `awskms:` URI. It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKmsUri {
    /// The key as given: key id, key ARN, alias (`alias/NAME`) or alias ARN.
    pub key: String,
    /// `region=`, else the region of an ARN; `None`: the SDK's region chain decides.
    pub region: Option<String>,
    /// `endpoint=`, without a trailing `/`.
    pub endpoint: Option<String>,
    /// `profile=`: the AWS profile for credentials and region; `None`: `AWS_PROFILE`, else `default`.
    pub profile: Option<String>,
    /// `timeout=`: how long a request may take, retries included (default 30 s).
    pub timeout: Duration,
}

impl AwsKmsUri {
    /// Parses what follows `awskms:` in `uri`.
    pub(crate) fn parse(uri: &str, rest: &str) -> Result<Self, SignerError> {
        let usage = || {
            bad(
                uri,
                "expected awskms:KEY-ID, awskms:arn:aws:kms:REGION:ACCOUNT:key/KEY-ID or awskms:alias/NAME".to_owned(),
            )
        };
        let (key, query) = params::split_query(uri, rest)?;
        if key.starts_with('/') {
            return Err(usage());
        }
        let key = params::percent_decode(uri, key)?;
        if key.is_empty() {
            return Err(usage());
        }
        let arn_region = check_key(uri, &key)?;

        let (mut region, mut endpoint, mut profile, mut timeout) = (None, None, None, None);
        for (name, value) in query {
            match name.as_str() {
                "region" => {
                    if !is_region(&value) {
                        return Err(bad(uri, format!("region={value:?} is not an AWS region name (e.g. eu-west-1)")));
                    }
                    params::once(uri, "region", &mut region, value)?;
                }
                "endpoint" => params::once(uri, "endpoint", &mut endpoint, check_endpoint(uri, &value)?)?,
                "profile" => {
                    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(bad(uri, format!("profile={value:?} is not a profile name")));
                    }
                    params::once(uri, "profile", &mut profile, value)?;
                }
                "timeout" => params::once(uri, "timeout", &mut timeout, params::parse_timeout(uri, &value)?)?,
                "access-key"
                | "access-key-id"
                | "secret"
                | "secret-key"
                | "secret-access-key"
                | "session-token"
                | "aws_access_key_id"
                | "aws_secret_access_key"
                | "aws_session_token" => {
                    // The URI itself is not repeated: it holds the secret.
                    let (before, _) = uri.split_once('?').unwrap_or((uri, ""));
                    return Err(bad(
                        &format!("{before}?…"),
                        "credentials never go into the URI: they come from the AWS credential chain (environment, \
                         profile, web identity, instance metadata)"
                            .to_owned(),
                    ));
                }
                other => return Err(bad(uri, format!("unknown parameter {other:?} (known: {KNOWN_PARAMS})"))),
            }
        }
        let region = match (region, arn_region) {
            (Some(given), Some(arn)) if given != arn => {
                return Err(bad(uri, format!("region={given} but the key's ARN is in {arn}")));
            }
            (given, arn) => given.or(arn),
        };
        Ok(AwsKmsUri { key, region, endpoint, profile, timeout: timeout.unwrap_or(DEFAULT_TIMEOUT) })
    }
}

/// Checks the key's form; returns the region of an ARN.
fn check_key(uri: &str, key: &str) -> Result<Option<String>, SignerError> {
    let alias_name = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    };
    if let Some(arn) = key.strip_prefix("arn:") {
        let parts: Vec<&str> = arn.split(':').collect();
        let [partition, service, region, account, resource] = parts[..] else {
            return Err(bad(uri, format!("{key:?} is not a KMS ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)")));
        };
        let partition_ok =
            partition.starts_with("aws") && partition.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let resource_ok = match resource.split_once('/') {
            Some(("key", id)) => is_key_id(id),
            Some(("alias", name)) => alias_name(name),
            _ => false,
        };
        if !(partition_ok && service == "kms" && is_region(region) && account_ok && resource_ok) {
            return Err(bad(
                uri,
                format!("{key:?} is not a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"),
            ));
        }
        return Ok(Some(region.to_owned()));
    }
    if let Some(name) = key.strip_prefix("alias/") {
        if !alias_name(name) {
            return Err(bad(uri, format!("{key:?} is not an alias name (letters, digits, '/', '_' and '-')")));
        }
        return Ok(None);
    }
    if !is_key_id(key) {
        return Err(bad(uri, format!("{key:?} is neither a key id, a key ARN nor alias/NAME")));
    }
    Ok(None)
}

fn is_key_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// An `https://` URL, or `http://` to a loopback address; returned without a trailing `/`.
fn check_endpoint(uri: &str, value: &str) -> Result<String, SignerError> {
    let url = url::Url::parse(value).map_err(|e| bad(uri, format!("endpoint={value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(bad(uri, format!("endpoint={value:?} is not an https:// URL")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(uri, "credentials never go into the URI, nor into the endpoint".to_owned()));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(uri, format!("endpoint={value:?} must be a scheme, a host and an optional port")));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(bad(
            uri,
            format!(
                "endpoint={value:?}: plain http is only for an emulator on loopback; a KMS endpoint elsewhere must \
                 be https (a session token would travel in clear and the public key could be replaced on the way)"
            ),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An AWS KMS key, pinned by its key ARN.
pub struct AwsKmsSigner {
    kms: Kms,
    /// The key ARN that `GetPublicKey` answered with: what every `Sign` names.
    key_arn: String,
    algorithm: SigningAlgorithmSpec,
    public: PublicKey,
}

/// The client and what messages need to say about it.
struct Kms {
    client: aws_sdk_kms::Client,
    uri: AwsKmsUri,
    /// The region in use, whichever way it was found.
    region: String,
}

impl fmt::Debug for AwsKmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client is left out: it holds the credential provider.
        f.debug_struct("AwsKmsSigner")
            .field("key", &self.kms.uri.key)
            .field("key_arn", &self.key_arn)
            .field("region", &self.kms.region)
            .field("endpoint", &self.kms.uri.endpoint)
            .field("profile", &self.kms.uri.profile)
            .field("timeout", &self.kms.uri.timeout)
            .field("algorithm", &self.algorithm.as_str())
            .field("key_id", &self.public.key_id())
            .finish()
    }
}

impl AwsKmsSigner {
    /// Finds credentials and region, fetches the public key and checks that the key can sign.
    pub async fn open(uri: AwsKmsUri) -> Result<Self, SignerError> {
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        // The credential providers (STS, SSO, instance metadata) use the same client.
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(profile) = &uri.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &uri.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.as_ref().to_owned()) else {
            return Err(bad(
                &format!("awskms:{}", uri.key),
                "no AWS region: add region= to the URI, name the key by its ARN, or set AWS_REGION or the \
                 profile's region"
                    .to_owned(),
            ));
        };
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(uri.timeout.min(Duration::from_secs(10)))
            .operation_attempt_timeout(uri.timeout)
            .operation_timeout(uri.timeout)
            .build();
        let mut config = aws_sdk_kms::config::Builder::from(&sdk).timeout_config(timeouts);
        if let Some(endpoint) = &uri.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let kms = Kms { client: aws_sdk_kms::Client::from_conf(config.build()), uri, region };

        let out = kms.client.get_public_key().key_id(&kms.uri.key).send().await.map_err(|e| kms.error(e))?;
        let unusable = |reason: String| SignerError::BadResponse { backend: kms.backend(), reason };
        let key = &kms.uri.key;
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            let usage = out.key_usage().map_or("not given", |u| u.as_str());
            return Err(unusable(format!("key {key} has key usage {usage}; tufmirror signs with SIGN_VERIFY keys")));
        }
        let der = out.public_key().map(|b| b.as_ref()).unwrap_or_default();
        let malformed = |e: String| unusable(format!("the public key of {key} is not a DER SubjectPublicKeyInfo: {e}"));
        let (algorithm, public) = match out.key_spec() {
            Some(KeySpec::EccNistEdwards25519) => (
                SigningAlgorithmSpec::Ed25519Sha512,
                PublicKey::Ed25519(
                    ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(|e| malformed(e.to_string()))?,
                ),
            ),
            Some(KeySpec::EccNistP256) => (
                SigningAlgorithmSpec::EcdsaSha256,
                PublicKey::EcdsaP256(
                    p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(|e| malformed(e.to_string()))?,
                ),
            ),
            spec => {
                return Err(unusable(format!(
                    "key {key} has key spec {}; tufmirror signs with ECC_NIST_EDWARDS25519 or ECC_NIST_P256 keys",
                    spec.map_or("(not given)", |s| s.as_str())
                )));
            }
        };
        if !out.signing_algorithms().contains(&algorithm) {
            let offered: Vec<&str> = out.signing_algorithms().iter().map(|a| a.as_str()).collect();
            return Err(unusable(format!(
                "key {key} does not offer the signing algorithm {} (it offers {offered:?})",
                algorithm.as_str()
            )));
        }
        let key_arn = match out.key_id() {
            Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
            _ => key.clone(),
        };
        Ok(AwsKmsSigner { kms, key_arn, algorithm, public })
    }

    /// The key ARN every signature is made with.
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }
}

impl Kms {
    /// `AWS KMS in eu-west-1`, `AWS KMS in eu-west-1 at http://127.0.0.1:4566`, for messages.
    fn backend(&self) -> String {
        match &self.uri.endpoint {
            Some(endpoint) => format!("AWS KMS in {} at {endpoint}", self.region),
            None => format!("AWS KMS in {}", self.region),
        }
    }

    fn credential(&self) -> String {
        match &self.uri.profile {
            Some(profile) => format!("AWS credentials (profile {profile})"),
            None => "AWS credentials (the SDK's default chain)".to_owned(),
        }
    }

    /// Sorts an SDK failure into what an operator fixes differently.
    fn error<E, R>(&self, err: SdkError<E, R>) -> SignerError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let backend = self.backend();
        if let SdkError::ServiceError(service) = &err {
            let e = service.err();
            let code = e.code().unwrap_or("an unnamed error");
            let detail = truncate(format!("{code}: {}", e.message().unwrap_or("(no message)")));
            return match code {
                "NotFoundException" => SignerError::KeyNotFound { backend, key: self.uri.key.clone() },
                "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "AccessDeniedException"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "InvalidToken" => {
                    SignerError::CredentialsRefused { backend, credential: self.credential(), reason: detail }
                }
                // GetPublicKey of a symmetric key; Sign with a key that does not sign.
                "UnsupportedOperationException" | "InvalidKeyUsageException" => {
                    SignerError::BadResponse { backend, reason: format!("key {} cannot sign: {detail}", self.uri.key) }
                }
                _ => SignerError::BackendFailed { backend, reason: detail },
            };
        }
        // A credential provider's failure arrives wrapped in a dispatch failure.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = source {
            if let Some(credentials) = e.downcast_ref::<CredentialsError>() {
                return SignerError::NoCredentials {
                    backend,
                    credential: self.credential(),
                    reason: truncate(causes(credentials)),
                };
            }
            source = e.source();
        }
        match err {
            SdkError::TimeoutError(_) => SignerError::Timeout { backend, after: self.uri.timeout },
            SdkError::DispatchFailure(ref failure) if failure.is_timeout() => {
                SignerError::Timeout { backend, after: self.uri.timeout }
            }
            SdkError::DispatchFailure(_) => SignerError::Unreachable { backend, source: Box::new(err) },
            SdkError::ResponseError(_) => SignerError::BadResponse { backend, reason: truncate(causes(&err)) },
            _ => SignerError::Other(Box::new(err)),
        }
    }
}

/// `error: cause: cause`, each text once (SDK errors often repeat their cause in their own text).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let cut = (0..=MAX_DETAIL).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.truncate(cut);
        text.push_str(" [truncated]");
    }
    text
}

#[async_trait]
impl Signer for AwsKmsSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let kms = &self.kms;
        let (input, message_type) = match self.public {
            PublicKey::Ed25519(_) => {
                if message.len() > MAX_RAW_MESSAGE {
                    return Err(SignerError::MessageTooLarge {
                        backend: kms.backend(),
                        key: kms.uri.key.clone(),
                        size: message.len(),
                        limit: MAX_RAW_MESSAGE,
                    });
                }
                (message.to_vec(), MessageType::Raw)
            }
            PublicKey::EcdsaP256(_) => (sha2::Sha256::digest(message).to_vec(), MessageType::Digest),
        };
        let out = kms
            .client
            .sign()
            .key_id(&self.key_arn)
            .message(Blob::new(input))
            .message_type(message_type)
            .signing_algorithm(self.algorithm.clone())
            .send()
            .await
            .map_err(|e| kms.error(e))?;
        let unusable = |reason: String| SignerError::BadResponse { backend: kms.backend(), reason };
        let sig = out.signature().map(|s| s.as_ref().to_vec()).ok_or_else(|| unusable("no signature".to_owned()))?;
        match self.public.verify(message, &sig) {
            Ok(()) => Ok(sig),
            Err(KeyError::BadSignature { .. }) => Err(SignerError::BadSignature {
                key_id: self.key_id(),
                reason: format!("{} signed with a key other than {}", kms.backend(), self.key_arn),
            }),
            Err(e) => Err(unusable(format!("the signature is malformed: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Result<AwsKmsUri, SignerError> {
        AwsKmsUri::parse(uri, uri.strip_prefix("awskms:").unwrap_or(uri))
    }

    #[test]
    fn parses_awskms_uris() {
        let uri = parse("awskms:1234abcd-12ab-34cd-56ef-1234567890ab").expect("key id");
        assert_eq!(
            uri,
            AwsKmsUri {
                key: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                region: None,
                endpoint: None,
                profile: None,
                timeout: DEFAULT_TIMEOUT
            }
        );

        let arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        let uri = parse(&format!("awskms:{arn}")).expect("key ARN");
        assert_eq!((uri.key.as_str(), uri.region.as_deref()), (arn, Some("eu-west-1")));
        let uri = parse(&format!("awskms:{arn}?region=eu-west-1")).expect("the same region twice");
        assert_eq!(uri.region.as_deref(), Some("eu-west-1"));
        let uri = parse("awskms:arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/tuf/timestamp").expect("alias ARN");
        assert_eq!(uri.region.as_deref(), Some("us-gov-west-1"));

        let uri = parse(
            "awskms:alias/tufmirror%2Dtimestamp?region=eu-west-3&endpoint=http://127.0.0.1:4566/&profile=ci&timeout=2.5",
        )
        .expect("alias with every parameter");
        assert_eq!(uri.key, "alias/tufmirror-timestamp");
        assert_eq!(uri.region.as_deref(), Some("eu-west-3"));
        assert_eq!(uri.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!((uri.profile.as_deref(), uri.timeout), (Some("ci"), Duration::from_millis(2500)));
        let uri = parse("awskms:alias/k?endpoint=https://vpce-0a.kms.eu-west-1.vpce.amazonaws.com").expect("https");
        assert_eq!(uri.endpoint.as_deref(), Some("https://vpce-0a.kms.eu-west-1.vpce.amazonaws.com"));
        assert!(parse("awskms:alias/k?endpoint=http://[::1]:4566").is_ok());
        assert!(parse("awskms:alias/k?endpoint=http://localhost:4566").is_ok());

        for bad_uri in [
            "awskms:",
            "awskms://alias/k",
            "awskms:/k",
            "awskms:alias/",
            "awskms:alias/a b",
            "awskms:key id",
            "awskms:arn:aws:kms:eu-west-1:111122223333",
            "awskms:arn:aws:s3:eu-west-1:111122223333:key/k",
            "awskms:arn:aws:kms:eu-west-1:1111:key/k",
            "awskms:arn:aws:kms::111122223333:key/k",
            "awskms:arn:aws:kms:eu-west-1:111122223333:grant/k",
            "awskms:arn:aws:kms:eu-west-1:111122223333:key/k?region=us-east-1",
            "awskms:k?region=EU",
            "awskms:k?region=",
            "awskms:k?region=a&region=a",
            "awskms:k?endpoint=kms.example.com",
            "awskms:k?endpoint=ftp://kms.example.com",
            "awskms:k?endpoint=http://kms.example.com",
            "awskms:k?endpoint=https://user:pw@kms.example.com",
            "awskms:k?endpoint=https://kms.example.com/path",
            "awskms:k?profile=",
            "awskms:k?profile=a%20b",
            "awskms:k?timeout=0",
            "awskms:k?key=alias/x",
            "awskms:k?secret-access-key=abc",
        ] {
            assert!(matches!(parse(bad_uri), Err(SignerError::BadUri { .. })), "{bad_uri}: {:?}", parse(bad_uri));
        }
        let err = parse("awskms:k?aws_secret_access_key=s3cr3t").expect_err("secret in URI");
        assert!(err.to_string().contains("credential chain"), "{err}");
        assert!(!err.to_string().contains("s3cr3t") && !format!("{err:?}").contains("s3cr3t"), "{err:?}");
        let err = parse("awskms:k?endpoint=http://kms.example.com").expect_err("plain http");
        assert!(err.to_string().contains("loopback"), "{err}");
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let text = truncate("é".repeat(400));
        assert!(text.ends_with(" [truncated]") && text.len() <= MAX_DETAIL + 12, "{}", text.len());
        assert_eq!(truncate("short".to_owned()), "short");
    }
}
