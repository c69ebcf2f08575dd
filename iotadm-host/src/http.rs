//! The HTTP binding of [`Transport`] (OMA DM over HTTP), on the blocking `ureq` client.
//!
//! Each exchange is one `POST` of a client message to the account's address (or the
//! `RespURI` the server gave), with
//!
//! * `Content-Type: application/vnd.syncml.dm+wbxml` or `application/vnd.syncml.dm+xml`,
//!   from the message's encoding;
//! * `Accept:` both DM content types ([`ACCEPT`]), so the server may answer in either;
//! * `x-syncml-hmac`, when the session uses `syncml:auth-MAC`.
//!
//! The reply's body is streamed straight into the caller's receive buffer (a reply that does
//! not fit is an error, never truncated), its `x-syncml-hmac` value is copied into the
//! caller's header buffer, and its encoding is read from its `Content-Type`. A reply in any
//! other status than 2xx is an error: DM servers answer every message with `200 OK`, and
//! redirects are not followed, because a redirected `POST` may lose its body (DM moves a
//! session with `RespURI`, not with HTTP redirects).
//!
//! `https://` addresses (OMA DM 1.2 requires TLS on the HTTP binding) go over rustls
//! with the aws-lc-rs crypto provider; no OpenSSL is involved. The server's certificate
//! must chain to a trusted root, be valid now and name the address's host (DNS name or
//! IP address); there is no switch to skip any of these. The trusted roots are the
//! platform's (read from the operating system's store by `rustls-native-certs`, once per
//! process) plus the CA certificates of [`TlsSettings::extra_roots`]; a client
//! certificate is shown to a server that asks for one ([`TlsSettings::client_identity`],
//! mutual TLS). The handshake ends before any of the request is written, so a server
//! that fails these checks never receives a message; the failure comes back as
//! [`HttpError::Tls`] with its reason ([`TlsFailure`]). `http://` addresses are
//! unchanged. This module never looks inside a message.
//!
//! FUMO downloads ([`HttpDownloader`](crate::HttpDownloader)) go through an agent built
//! here the same way, from the same [`HttpConfig`], so a `PkgURL` is trusted as the DM
//! server's address is.

use std::boxed::Box;
use std::fmt;
use std::io::{self, Read};
use std::string::{String, ToString};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::vec::Vec;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, RootCertStore};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use iotadm::auth::HMAC_HEADER_NAME;
use iotadm::codec::Encoding;
use iotadm::transport::{Reply, Request, Transport};

/// The `Accept` header sent with every request: both DM message types.
pub const ACCEPT: &str = "application/vnd.syncml.dm+wbxml, application/vnd.syncml.dm+xml";

/// Timeouts and identity of an [`HttpTransport`] or an
/// [`HttpDownloader`](crate::HttpDownloader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest time to open the connection; `None` waits as long as the OS does.
    pub connect_timeout: Option<Duration>,
    /// Longest time for a whole exchange, connection, request and reply included; for a
    /// download, longest wait on the server (each read or write), as a package takes as
    /// long as its size and the link make it. `None` for no limit.
    pub timeout: Option<Duration>,
    /// The `User-Agent` header; `None` sends none.
    pub user_agent: Option<String>,
    /// An HTTP proxy (`http://host:port`) to go through; `None` connects directly. Proxy
    /// settings in the environment are ignored, so a handset's traffic goes where its
    /// configuration says and nowhere else.
    pub proxy: Option<String>,
    /// What `https://` connections trust and show.
    pub tls: TlsSettings,
}

impl HttpConfig {
    /// Defaults: 10 s to connect, 60 s for an exchange (a server may take a while to build
    /// a large package), no `User-Agent`, no proxy, the platform's trusted roots and no
    /// client certificate.
    pub fn new() -> Self {
        HttpConfig {
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: Some(Duration::from_secs(60)),
            user_agent: None,
            proxy: None,
            tls: TlsSettings::new(),
        }
    }
}

/// Trust and identity of `https://` connections. Whatever is trusted, the server's
/// certificate must also be valid now and be for the host of the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Trust the platform's root certificates (the operating system's store). On by
    /// default; off, only [`extra_roots`](Self::extra_roots) are trusted (a private DM
    /// deployment, or a test that must not depend on the machine).
    pub platform_roots: bool,
    /// More certificate authorities to trust, each a PEM document of one or more
    /// `CERTIFICATE` blocks (a DM operator's own CA, say).
    pub extra_roots: Vec<Vec<u8>>,
    /// A certificate to show a server that asks for one (mutual TLS); `None` shows none.
    pub client_identity: Option<TlsIdentity>,
}

impl TlsSettings {
    /// The platform's roots, nothing more, and no client certificate.
    pub fn new() -> Self {
        TlsSettings {
            platform_roots: true,
            extra_roots: Vec::new(),
            client_identity: None,
        }
    }
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings::new()
    }
}

/// A certificate chain and its private key, both PEM: what one side of a TLS connection
/// shows the other.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The end certificate first, then any intermediates: `CERTIFICATE` blocks.
    pub chain_pem: Vec<u8>,
    /// The certificate's private key: a `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1) or
    /// `RSA PRIVATE KEY` (PKCS#1) block.
    pub key_pem: Vec<u8>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("chain_pem", &String::from_utf8_lossy(&self.chain_pem))
            .field("key_pem", &"***")
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new()
    }
}

/// Why an exchange failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// A configured timeout ran out.
    Timeout,
    /// The request could not be sent or the reply not read (connection refused or reset,
    /// malformed HTTP, an address that is not `http://`, a bad proxy setting).
    Connection(Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with a status other than 2xx.
    Status(u16),
    /// The reply's body is larger than the receive buffer.
    ReplyTooLarge {
        /// The receive buffer's size.
        capacity: usize,
    },
    /// The reply's `x-syncml-hmac` value is larger than the header buffer.
    HmacTooLarge {
        /// The header value's length.
        required: usize,
    },
    /// No TLS connection: the server was not trusted or refused this client, or the
    /// settings are unusable. The server received no message: a certificate this side
    /// refuses ends the handshake before the request is written, and a server that refuses
    /// this side's certificate never reads what followed its handshake.
    Tls(TlsFailure),
}

/// Why a TLS connection was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate does not chain to a trusted root.
    UnknownIssuer,
    /// The server's certificate (or one in its chain) has expired.
    Expired,
    /// The server's certificate (or one in its chain) is not valid yet.
    NotYetValid,
    /// The server's certificate is for other names than the address's host.
    WrongName {
        /// The host of the address, when known.
        expected: Option<String>,
        /// The names the certificate is for, when known.
        presented: Vec<String>,
    },
    /// The server's certificate has been revoked.
    Revoked,
    /// Another fault of the server's certificate (bad signature, wrong purpose, encoding).
    BadCertificate(String),
    /// The server ended the handshake with this alert (for one, it wants a client
    /// certificate and got none or one it does not trust).
    Refused(String),
    /// The handshake failed otherwise (no common protocol version or cipher suite, a
    /// malformed message).
    Handshake(String),
    /// The TLS settings cannot be used: a PEM document without a certificate, a key that is
    /// not the client certificate's.
    Settings(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::UnknownIssuer => {
                f.write_str("the server's certificate is not issued by a trusted authority")
            }
            TlsFailure::Expired => f.write_str("the server's certificate has expired"),
            TlsFailure::NotYetValid => f.write_str("the server's certificate is not valid yet"),
            TlsFailure::WrongName {
                expected,
                presented,
            } => {
                f.write_str("the server's certificate is for another name")?;
                if !presented.is_empty() {
                    write!(f, " ({})", presented.join(", "))?;
                }
                if let Some(host) = expected {
                    write!(f, ", not {host}")?;
                }
                Ok(())
            }
            TlsFailure::Revoked => f.write_str("the server's certificate has been revoked"),
            TlsFailure::BadCertificate(why) => {
                write!(f, "the server's certificate is not acceptable: {why}")
            }
            TlsFailure::Refused(alert) => write!(f, "the server refused the connection ({alert})"),
            TlsFailure::Handshake(why) => write!(f, "handshake failed: {why}"),
            TlsFailure::Settings(why) => write!(f, "unusable settings: {why}"),
        }
    }
}

impl TlsFailure {
    /// What a rustls error says, in the terms a user acts on.
    fn of(e: &rustls::Error) -> TlsFailure {
        match e {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsFailure::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsFailure::NotYetValid
                }
                CertificateError::NotValidForName => TlsFailure::WrongName {
                    expected: None,
                    presented: Vec::new(),
                },
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => TlsFailure::WrongName {
                    expected: Some(server_name(expected)),
                    presented: presented.iter().map(|n| plain_name(n)).collect(),
                },
                CertificateError::Revoked => TlsFailure::Revoked,
                other => TlsFailure::BadCertificate(other.to_string()),
            },
            rustls::Error::AlertReceived(alert) => TlsFailure::Refused(std::format!("{alert:?}")),
            other => TlsFailure::Handshake(other.to_string()),
        }
    }
}

/// A name as webpki reports it (`DnsName("dm.example.com")`, `IpAddress(10.0.0.1)`),
/// without the kind around it; anything else as it came.
fn plain_name(reported: &str) -> String {
    reported
        .split_once('(')
        .and_then(|(_, inner)| inner.strip_suffix(')'))
        .map(|inner| inner.trim_matches('"'))
        .unwrap_or(reported)
        .to_string()
}

fn server_name(name: &rustls::pki_types::ServerName<'_>) -> String {
    match name {
        rustls::pki_types::ServerName::DnsName(dns) => dns.as_ref().to_string(),
        rustls::pki_types::ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => std::format!("{other:?}"),
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Timeout => f.write_str("HTTP exchange timed out"),
            HttpError::Connection(e) => write!(f, "HTTP exchange failed: {e}"),
            HttpError::Status(code) => write!(f, "server answered HTTP status {code}"),
            HttpError::ReplyTooLarge { capacity } => {
                write!(f, "reply larger than the {capacity}-byte receive buffer")
            }
            HttpError::HmacTooLarge { required } => {
                write!(f, "x-syncml-hmac header of {required} bytes does not fit")
            }
            HttpError::Tls(why) => write!(f, "TLS: {why}"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Connection(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<ureq::Error> for HttpError {
    fn from(e: ureq::Error) -> Self {
        match e {
            ureq::Error::Timeout(_) => HttpError::Timeout,
            ureq::Error::StatusCode(code) => HttpError::Status(code),
            ureq::Error::Io(io) => io_failure(io),
            ureq::Error::Rustls(tls) => HttpError::Tls(TlsFailure::of(&tls)),
            other => HttpError::Connection(Box::new(other)),
        }
    }
}

/// An I/O error that is not ureq's own: a timeout, a TLS failure rustls reports through
/// the stream, or a connection fault.
fn io_failure(e: io::Error) -> HttpError {
    if is_timeout(&e) {
        return HttpError::Timeout;
    }
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => HttpError::Tls(TlsFailure::of(tls)),
        None => HttpError::Connection(Box::new(e)),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// A [`Transport`] over HTTP. One value keeps its connections alive between the exchanges
/// of a session.
///
/// ```no_run
/// use iotadm::codec::Encoding;
/// use iotadm::transport::{Request, Transport};
/// use iotadm_host::HttpTransport;
///
/// let mut http = HttpTransport::new();
/// let body = b"<SyncML>...</SyncML>";
/// let (mut rx, mut hmac) = ([0u8; 16 * 1024], [0u8; 256]);
/// let request = Request { url: "http://127.0.0.1:8080/dm", encoding: Encoding::Xml, hmac: None, body };
/// let reply = http.exchange(&request, &mut rx, &mut hmac)?;
/// let message = &rx[..reply.len];
/// # let _ = message;
/// # Ok::<(), iotadm_host::HttpError>(())
/// ```
///
/// An `https://` server whose certificate comes from an operator's own CA:
///
/// ```no_run
/// use iotadm_host::{HttpConfig, HttpTransport};
///
/// let mut config = HttpConfig::new();
/// config.tls.extra_roots.push(std::fs::read("operator-ca.pem")?);
/// let http = HttpTransport::with_config(config)?;
/// # let _ = http;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpTransport {
    agent: ureq::Agent,
    config: HttpConfig,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport with the default [`HttpConfig`].
    pub fn new() -> Self {
        let config = HttpConfig::new();
        HttpTransport {
            agent: default_agent(&config, Use::Exchange),
            config,
        }
    }

    /// A transport with explicit settings; fails on a malformed proxy address
    /// ([`HttpError::Connection`]) and on TLS settings that cannot be used
    /// ([`TlsFailure::Settings`]).
    pub fn with_config(config: HttpConfig) -> Result<Self, HttpError> {
        Ok(HttpTransport {
            agent: configured_agent(&config, Use::Exchange)?,
            config,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

/// What an agent is for. Both kinds are built alike (same TLS, proxy, redirects and status
/// handling) and differ only in what [`HttpConfig::timeout`] bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// DM exchanges: the timeout bounds each whole exchange, request and reply.
    Exchange,
    /// Package downloads ([`HttpDownloader`](crate::HttpDownloader)): the timeout bounds
    /// each wait on the server (every read and write), not the whole transfer, which takes
    /// as long as the package's size and the link make it.
    Download,
}

/// The agent for `config`, its proxy address and TLS settings checked here: a malformed
/// proxy is [`HttpError::Connection`], unusable TLS settings are [`TlsFailure::Settings`].
pub(crate) fn configured_agent(config: &HttpConfig, usage: Use) -> Result<ureq::Agent, HttpError> {
    let proxy = config
        .proxy
        .as_deref()
        .map(ureq::Proxy::new)
        .transpose()
        .map_err(HttpError::from)?;
    let tls = tls_config(&config.tls).map_err(|why| HttpError::Tls(TlsFailure::Settings(why)))?;
    Ok(agent(config, proxy, tls, usage))
}

/// The agent for `config` with no proxy and the default TLS settings (its own are not
/// read), which cannot fail.
pub(crate) fn default_agent(config: &HttpConfig, usage: Use) -> ureq::Agent {
    // The default settings hold no PEM to reject: the platform's roots are filtered as
    // they are read, and there is no client certificate.
    let tls = tls_config(&TlsSettings::new()).unwrap_or_else(|_| tls_builder().build());
    agent(config, None, tls, usage)
}

/// An agent that follows no redirect, reports every HTTP status as a reply and ignores
/// proxy settings in the environment.
fn agent(
    config: &HttpConfig,
    proxy: Option<ureq::Proxy>,
    tls: TlsConfig,
    usage: Use,
) -> ureq::Agent {
    let builder = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .timeout_connect(config.connect_timeout);
    let builder = match usage {
        Use::Exchange => builder.timeout_global(config.timeout),
        Use::Download => builder
            .timeout_per_read(config.timeout)
            .timeout_per_write(config.timeout),
    };
    let builder = match &config.user_agent {
        Some(ua) => builder.user_agent(ua.as_str()),
        None => builder.user_agent(ureq::config::AutoHeaderValue::None),
    };
    builder.build().into()
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport::new()
    }
}

/// The crypto provider of every TLS connection: aws-lc-rs, rustls's default (with the
/// post-quantum hybrid key exchange).
pub(crate) fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// ureq's TLS settings with rustls on aws-lc-rs and, until told otherwise, no trusted root.
fn tls_builder() -> ureq::tls::TlsConfigBuilder {
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(crypto())
        .root_certs(RootCerts::new_with_certs(&[]))
}

/// The platform's trusted roots, read once per process. Certificates the store holds but
/// rustls cannot parse are left out, as a store that cannot be read at all is: the
/// handshake then reports an unknown issuer.
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let mut usable = Vec::new();
        for cert in found.certs {
            if store.add(cert.clone()).is_ok() {
                usable.push(cert);
            }
        }
        usable
    })
}

/// The certificates of a PEM document: at least one.
fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| std::format!("unreadable PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block in the PEM document".to_string());
    }
    Ok(certs)
}

/// The certificates of a PEM document of trusted CAs: at least one, each usable as a
/// trust anchor.
pub(crate) fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = pem_certificates(pem)?;
    trust_anchors(&certs)?;
    Ok(certs)
}

/// The trusted CAs of a PEM document as rustls's root store: at least one, each usable
/// as a trust anchor.
pub(crate) fn ca_roots(pem: &[u8]) -> Result<RootCertStore, String> {
    trust_anchors(&pem_certificates(pem)?)
}

/// `certs` as trust anchors; any that cannot be one is an error.
fn trust_anchors(certs: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for cert in certs {
        store
            .add(cert.clone())
            .map_err(|e| std::format!("not usable as a trusted root: {e}"))?;
    }
    Ok(store)
}

/// ureq's TLS settings for `settings`, each part checked here so that a bad one is an
/// error now rather than at the first `https://` exchange.
fn tls_config(settings: &TlsSettings) -> Result<TlsConfig, String> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    if settings.platform_roots {
        roots.extend(
            platform_roots()
                .iter()
                .map(|c| Certificate::from_der(c).to_owned()),
        );
    }
    for (i, pem) in settings.extra_roots.iter().enumerate() {
        let certs = ca_certificates(pem).map_err(|e| std::format!("CA document {}: {e}", i + 1))?;
        roots.extend(certs.iter().map(|c| Certificate::from_der(c).to_owned()));
    }
    let client_cert = settings
        .client_identity
        .as_ref()
        .map(client_cert)
        .transpose()?;
    Ok(tls_builder()
        .root_certs(RootCerts::new_with_certs(&roots))
        .client_cert(client_cert)
        .build())
}

impl TlsIdentity {
    /// The chain and key, decoded; the key is not yet matched to the certificate.
    pub(crate) fn decode(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        let chain =
            pem_certificates(&self.chain_pem).map_err(|e| std::format!("certificate: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| std::format!("private key: {e}"))?;
        Ok((chain, key))
    }
}

/// The client certificate as ureq takes it, once rustls has accepted the chain and key
/// together (the key must be the certificate's).
fn client_cert(identity: &TlsIdentity) -> Result<ClientCert, String> {
    let (chain, key) = identity.decode().map_err(|e| std::format!("client {e}"))?;
    // ureq takes the key in its own type; it reads the same PEM block.
    let ureq_key = PrivateKey::from_pem(&identity.key_pem)
        .map_err(|e| std::format!("client private key: {e}"))?;
    rustls::ClientConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(chain.clone(), key)
        .map_err(|e| std::format!("client certificate and key: {e}"))?;
    let chain: Vec<Certificate<'static>> = chain
        .iter()
        .map(|c| Certificate::from_der(c).to_owned())
        .collect();
    Ok(ClientCert::new_with_certs(&chain, ureq_key))
}

/// The encoding a `Content-Type` value names, parameters and case ignored.
pub(crate) fn encoding_of(content_type: &[u8]) -> Option<Encoding> {
    let mime = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii();
    [Encoding::Wbxml, Encoding::Xml]
        .into_iter()
        .find(|e| mime.eq_ignore_ascii_case(e.content_type().as_bytes()))
}

impl Transport for HttpTransport {
    type Error = HttpError;

    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, HttpError> {
        let mut post = self
            .agent
            .post(request.url)
            .header("Content-Type", request.encoding.content_type())
            .header("Accept", ACCEPT);
        if let Some(value) = request.hmac {
            post = post.header(HMAC_HEADER_NAME, value);
        }
        let mut response = post.send(request.body)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(HttpError::Status(status));
        }
        let encoding = response
            .headers()
            .get("Content-Type")
            .and_then(|v| encoding_of(v.as_bytes()));
        let hmac_len = match response.headers().get(HMAC_HEADER_NAME) {
            Some(value) => {
                let value = value.as_bytes();
                let dest = hmac.get_mut(..value.len()).ok_or(HttpError::HmacTooLarge {
                    required: value.len(),
                })?;
                dest.copy_from_slice(value);
                Some(value.len())
            }
            None => None,
        };
        let capacity = rx.len();
        if response
            .body()
            .content_length()
            .is_some_and(|n| n > capacity as u64)
        {
            return Err(HttpError::ReplyTooLarge { capacity });
        }
        let len = read_into(&mut response.body_mut().as_reader(), rx)?;
        Ok(Reply {
            len,
            hmac_len,
            encoding,
        })
    }
}

/// Reads a whole body into `rx`; a body with a byte more than `rx` holds is an error.
fn read_into(reader: &mut impl Read, rx: &mut [u8]) -> Result<usize, HttpError> {
    let capacity = rx.len();
    let mut len = 0;
    while let Some(free) = rx.get_mut(len..) {
        if free.is_empty() {
            // Full: the body must end here.
            let mut probe = [0u8; 1];
            return match reader.read(&mut probe) {
                Ok(0) => Ok(len),
                Ok(_) => Err(HttpError::ReplyTooLarge { capacity }),
                Err(e) => Err(read_error(e)),
            };
        }
        match reader.read(free) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
    Ok(len)
}

/// What a failed read of a reply's body was.
pub(crate) fn read_error(e: io::Error) -> HttpError {
    // ureq wraps its own errors (a timeout, a broken chunked encoding) in io::Error.
    match e.downcast::<ureq::Error>() {
        Ok(inner) => HttpError::from(inner),
        Err(e) => io_failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_encoding() {
        assert_eq!(
            encoding_of(b"application/vnd.syncml.dm+wbxml"),
            Some(Encoding::Wbxml)
        );
        assert_eq!(
            encoding_of(b"Application/VND.SyncML.DM+XML; charset=UTF-8"),
            Some(Encoding::Xml)
        );
        assert_eq!(encoding_of(b"text/html"), None);
        assert_eq!(encoding_of(b""), None);
    }

    #[test]
    fn a_name_mismatch_names_both_sides_plainly() {
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("127.0.0.1")
                .unwrap()
                .to_owned(),
            presented: std::vec![
                "DnsName(\"dm.example.com\")".to_string(),
                "IpAddress(10.0.0.1)".to_string(),
                "DirectoryName".to_string(),
            ],
        });
        assert_eq!(
            TlsFailure::of(&e).to_string(),
            "the server's certificate is for another name (dm.example.com, 10.0.0.1, \
             DirectoryName), not 127.0.0.1"
        );
    }

    #[test]
    fn a_body_that_overflows_the_buffer_is_refused_not_cut() {
        let mut rx = [0u8; 4];
        assert_eq!(read_into(&mut &b"abcd"[..], &mut rx).ok(), Some(4));
        assert!(matches!(
            read_into(&mut &b"abcde"[..], &mut rx),
            Err(HttpError::ReplyTooLarge { capacity: 4 })
        ));
        let mut empty = [0u8; 0];
        assert_eq!(read_into(&mut &b""[..], &mut empty).ok(), Some(0));
    }
}
