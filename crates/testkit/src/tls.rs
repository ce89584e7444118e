//! A throw-away CA and an HTTPS server on loopback whose certificate it signed (for 127.0.0.1),
//! offering HTTP/2 and HTTP/1.1 by ALPN. For tests of clients that must trust a private CA (a
//! TLS-intercepting proxy, a Vault with its own CA).

use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

#[derive(Debug)]
pub struct TestPki {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    pub server: Arc<ServerConfig>,
}

/// A new CA and a server certificate for `127.0.0.1` and `localhost` signed by it.
pub fn test_pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "tufmirror test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-signed CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let server_cert = params.signed_by(&server_key, &issuer).expect("signed server certificate");

    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let key = PrivatePkcs8KeyDer::from(server_key.serialize_der());
    let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key.into())
        .expect("server certificate");
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TestPki { ca_pem: ca_cert.pem(), server: Arc::new(server) }
}

/// The ALPN protocol of each completed handshake, in order (`none` when none was agreed).
pub type Negotiated = Arc<Mutex<Vec<String>>>;

/// Serves `router` over TLS on 127.0.0.1; returns `https://127.0.0.1:PORT/`.
pub async fn serve_tls(router: Router, pki: &TestPki) -> (String, Negotiated) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = tcp.local_addr().expect("local address");
    let negotiated = Negotiated::default();
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(pki.server.clone()), negotiated: negotiated.clone() };
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("https://{addr}/"), negotiated)
}

struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    negotiated: Negotiated,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            // A failed handshake (a client that does not trust the CA) is just skipped.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                let alpn = tls.get_ref().1.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
                self.negotiated.lock().expect("lock").push(alpn.unwrap_or_else(|| "none".to_owned()));
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
