//! Connections on the hot path: tokio TCP, rustls TLS, and hyper's connection API for HTTP/1.1
//! and HTTP/2.
//!
//! Each engine thread owns its connections ([`super::pool`]): no pool lookups across threads,
//! no locks. Origins are resolved once before the load starts, so DNS never sits on the request
//! path.

pub use crate::format::error_chain;
pub use crate::tls::install_crypto_provider;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::metrics::ErrorClass;
use crate::profile::HttpVersion;

/// The body type every request uses.
pub type ReqBody = Full<Bytes>;

/// Scheme, host and port of requests, resolved once.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `true` for https.
    pub tls: bool,
    /// Host name (for SNI and certificate checks).
    pub host: String,
    /// `host[:port]` as sent in `Host` / `:authority`.
    pub authority: http::uri::Authority,
    /// `http` or `https`.
    pub scheme: http::uri::Scheme,
    /// Resolved addresses.
    pub addrs: Vec<SocketAddr>,
}

impl Origin {
    /// Parses `scheme://host[:port]` and resolves the host.
    pub async fn resolve(base: &str) -> Result<Origin, String> {
        let uri: http::Uri = base
            .parse()
            .map_err(|e| format!("invalid URL `{base}`: {e}"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| format!("URL `{base}` has no scheme"))?;
        let tls = match scheme.as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "unsupported scheme `{other}` in `{base}`: use http or https"
                ));
            }
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("URL `{base}` has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = crate::profile::url::explicit_port(authority.as_str())
            .map_err(|p| format!("{p} in `{base}`: {}", crate::profile::url::PORT_EXPECTED))?
            .unwrap_or(if tls { 443 } else { 80 });
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("`{host}` resolves to no address"));
        }
        Ok(Origin {
            tls,
            host,
            authority,
            scheme,
            addrs,
        })
    }
}

/// Settings shared by every connection of a run.
#[derive(Clone)]
pub struct ClientSettings {
    /// Protocol choice.
    pub version: HttpVersion,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// TLS settings (ALPN per `version`).
    pub tls: Arc<rustls::ClientConfig>,
    /// Local addresses to open connections from, in turn (`http.source_addresses`).
    pub source_addresses: Arc<[std::net::IpAddr]>,
    /// The next source address to use, shared by every engine thread.
    next_source: Arc<std::sync::atomic::AtomicUsize>,
}

impl ClientSettings {
    /// Builds the TLS configuration once per run.
    pub fn new(
        version: HttpVersion,
        connect_timeout: Duration,
        insecure_tls: bool,
    ) -> Result<Self, String> {
        let _ = open_file_limit();
        Ok(Self {
            version,
            connect_timeout,
            tls: Arc::new(tls_config(version, insecure_tls)?),
            source_addresses: Arc::new([]),
            next_source: Arc::default(),
        })
    }

    /// Opens connections from `addresses`, in turn.
    #[must_use]
    pub fn with_source_addresses(mut self, addresses: &[std::net::IpAddr]) -> Self {
        self.source_addresses = addresses.into();
        self
    }

    /// The next source address of `addr`'s family; `Ok(None)` without source addresses.
    fn source_for(&self, addr: std::net::SocketAddr) -> Result<Option<std::net::IpAddr>, String> {
        let n = self.source_addresses.len();
        if n == 0 {
            return Ok(None);
        }
        let start = self
            .next_source
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (0..n)
            .map(|k| self.source_addresses[(start + k) % n])
            .find(|ip| ip.is_ipv4() == addr.is_ipv4())
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "no source address for {addr}: `http.source_addresses` has no IPv{} address",
                    if addr.is_ipv4() { 4 } else { 6 }
                )
            })
    }
}

/// The TLS configuration of a run: the built-in webpki roots (no CA certificates are read from
/// the machine), or no certificate check with `insecure_tls`; ALPN per `version`.
fn tls_config(version: HttpVersion, insecure_tls: bool) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut config = if insecure_tls {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .cloned()
            .collect::<rustls::RootCertStore>();
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = match version {
        HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        HttpVersion::Http2 | HttpVersion::H2c => vec![b"h2".to_vec()],
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
    };
    Ok(config)
}

/// A reqwest client builder for the requests around the load (readiness probe, setup steps):
/// TLS exactly as the load's own connections have it ([`tls_config`]), so these requests trust
/// what the load trusts and need no CA certificates on the machine (an image without them runs
/// a plain-http target as well as an https one).
pub fn reqwest_builder(insecure_tls: bool) -> Result<reqwest::ClientBuilder, String> {
    let tls = tls_config(HttpVersion::Auto, insecure_tls)?;
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
}

/// A connection's request side.
pub enum Sender {
    /// HTTP/1.1 over plain TCP, loadgate's own client (`h1`): the hot path.
    Raw(super::h1::Conn),
    /// HTTP/1.1 over TLS (hyper): one request at a time.
    H1(http1::SendRequest<ReqBody>),
    /// HTTP/2: multiplexed, cloneable.
    H2(http2::SendRequest<ReqBody>),
}

impl Sender {
    /// True for HTTP/2 (requests need the absolute URI).
    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }
}

/// Why a connection could not be made.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// `Connect` or `Tls`.
    pub class: ErrorClass,
    /// What happened.
    pub message: String,
    /// The generator itself ran out of something every connection needs (open files, local
    /// ports) or was told to use an address it does not have: what to change. The run stops
    /// with this reason rather than count every later request as the service's failure.
    pub exhausted: Option<String>,
}

/// Opens a TCP connection to `addr`, from the next source address when the run has them.
async fn open_tcp(
    addr: std::net::SocketAddr,
    settings: &ClientSettings,
) -> std::io::Result<TcpStream> {
    let Some(ip) = settings
        .source_for(addr)
        .map_err(|m| std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, m))?
    else {
        return TcpStream::connect(addr).await;
    };
    let socket = if ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(std::net::SocketAddr::new(ip, 0)).map_err(|e| {
        if e.raw_os_error() == Some(EADDRNOTAVAIL) {
            std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!(
                    "cannot open connections from {ip} (`http.source_addresses`): it is not an address of this machine (on loopback any `127.x.y.z` works)"
                ),
            )
        } else {
            e
        }
    })?;
    socket.connect(addr).await
}

const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
const EADDRNOTAVAIL: i32 = 99;

/// What to change when a connection failed for want of the generator's own resources; `None`
/// for a failure of the target (refused, reset, timed out).
fn exhausted(error: &std::io::Error, addr: std::net::SocketAddr) -> Option<String> {
    match error.raw_os_error() {
        Some(EMFILE | ENFILE) => Some(format!(
            "the generator ran out of open files{} while connecting to {addr}: every connection takes one. Send the load from fewer connections (the closed model's users share them; lower `load.max_in_flight` in the open model), split it over processes or machines (`--shard`), or raise the limit (`ulimit -n`)",
            open_file_limit().map_or_else(String::new, |n| format!(" (limit {n})"))
        )),
        Some(EADDRNOTAVAIL) => Some(format!(
            "the generator ran out of local ports toward {addr} (one source address has about 28,000): open connections from more source addresses with `http.source_addresses` (on loopback any `127.x.y.z` works), or use fewer connections"
        )),
        _ if error.kind() == std::io::ErrorKind::AddrNotAvailable => Some(error.to_string()),
        _ => None,
    }
}

/// The soft limit on open files (Linux: `/proc/self/limits`), read once when the first
/// [`ClientSettings`] is made: once the files run out, the file cannot be read any more.
fn open_file_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    })
}

/// Opens a connection to `origin`: TCP, then TLS when https, then the HTTP handshake. The
/// connection's driver runs as a task of the current thread's `LocalSet`.
pub async fn connect(origin: &Origin, settings: &ClientSettings) -> Result<Sender, ConnectError> {
    let fail = |class, message: String| ConnectError {
        class,
        message,
        exhausted: None,
    };
    let mut last = None;
    let mut tcp = None;
    for addr in &origin.addrs {
        match tokio::time::timeout(settings.connect_timeout, open_tcp(*addr, settings)).await {
            Ok(Ok(stream)) => {
                tcp = Some(stream);
                break;
            }
            Ok(Err(e)) => {
                if let Some(what) = exhausted(&e, *addr) {
                    return Err(ConnectError {
                        class: ErrorClass::Connect,
                        message: format!("connect to {addr}: {e}"),
                        exhausted: Some(what),
                    });
                }
                last = Some(format!("connect to {addr}: {e}"));
            }
            Err(_) => {
                last = Some(format!(
                    "connect to {addr}: timed out after {:?}",
                    settings.connect_timeout
                ));
            }
        }
    }
    let tcp = tcp.ok_or_else(|| {
        fail(
            ErrorClass::Connect,
            last.unwrap_or_else(|| "no address".into()),
        )
    })?;
    let _ = tcp.set_nodelay(true);
    if origin.tls {
        let name = ServerName::try_from(origin.host.clone()).map_err(|e| {
            fail(
                ErrorClass::Tls,
                format!("invalid TLS server name `{}`: {e}", origin.host),
            )
        })?;
        let connector = tokio_rustls::TlsConnector::from(settings.tls.clone());
        let stream = tokio::time::timeout(settings.connect_timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| fail(ErrorClass::Tls, "TLS handshake timed out".into()))?
            .map_err(|e| {
                fail(
                    ErrorClass::Tls,
                    format!("TLS handshake with `{}`: {e}", origin.host),
                )
            })?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        if settings.version == HttpVersion::Http2 && !h2 {
            return Err(fail(
                ErrorClass::Tls,
                format!(
                    "`{}` did not agree to HTTP/2 in ALPN (set `http.version: auto`)",
                    origin.host
                ),
            ));
        }
        handshake(TokioIo::new(stream), h2).await
    } else {
        match settings.version {
            HttpVersion::H2c => handshake(TokioIo::new(tcp), true).await,
            HttpVersion::Auto | HttpVersion::Http1 => Ok(Sender::Raw(super::h1::Conn::new(tcp))),
            // Refused when the profile loads: HTTP/2 needs TLS or `h2c`.
            HttpVersion::Http2 => handshake(TokioIo::new(tcp), false).await,
        }
    }
}

async fn handshake<T>(io: T, h2: bool) -> Result<Sender, ConnectError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let closed = |e: hyper::Error| ConnectError {
        class: ErrorClass::Connect,
        message: format!("HTTP handshake failed: {e}"),
        exhausted: None,
    };
    if h2 {
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .handshake(io)
            .await
            .map_err(closed)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Sender::H2(sender))
    } else {
        let (sender, conn) = http1::Builder::new().handshake(io).await.map_err(closed)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Sender::H1(sender))
    }
}

/// Accepts any server certificate (`http.insecure_tls: true`), while still checking that the
/// handshake signatures are valid for the certificate presented.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    }

    #[test]
    fn error_chains_end_with_the_root_cause() {
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let error = Layer {
            text: "error sending request",
            source: Some(Box::new(Layer {
                text: "client error (Connect)",
                source: Some(Box::new(root)),
            })),
        };
        assert_eq!(
            error_chain(&error),
            "error sending request: client error (Connect): Connection refused"
        );
        let repeated = Layer {
            text: "tls: invalid peer certificate",
            source: Some(Box::new(Layer {
                text: "invalid peer certificate",
                source: None,
            })),
        };
        assert_eq!(error_chain(&repeated), "tls: invalid peer certificate");
    }

    #[test]
    fn the_client_around_the_load_builds_without_ca_certificates() {
        // No roots are read from the machine, so this holds wherever the binary runs.
        for insecure in [false, true] {
            let client = reqwest_builder(insecure).expect("TLS set-up").build();
            assert!(
                client.is_ok(),
                "{:?}",
                client.err().map(|e| error_chain(&e))
            );
        }
    }
}
