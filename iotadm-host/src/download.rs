//! A host [`Downloader`]: FUMO's alternate download as an HTTP `GET` on the `ureq` client,
//! `http://` and `https://`, with a `Range` request to resume.
//!
//! The agent is built like the [`HttpTransport`](crate::HttpTransport)'s, from the same
//! [`HttpConfig`]: an `https://` `PkgURL` is trusted, or refused, exactly as a DM server's
//! address is (platform roots plus [`TlsSettings::extra_roots`](crate::TlsSettings), the
//! client certificate shown to a server that asks). A body may be delimited by
//! `Content-Length`, chunked or delimited by the connection's end.
//!
//! * Resuming from `offset` sends `Range: bytes=offset-`. A `206` reply's `Content-Range`
//!   says where the body really starts and the whole package's length; a `200` reply is
//!   the whole package, from 0, whatever was asked.
//! * Any other status is a refusal: 401, 403 and 407 are
//!   [`DownloadError::Authentication`], 408 and 504 [`DownloadError::Timeout`], 502 and 503
//!   [`DownloadError::Unreachable`], the rest [`DownloadError::Server`]. Redirects are not
//!   followed (a 3xx is a refusal too): the package is fetched from where the DM server
//!   said, never from a host it did not name, nor over plain HTTP when it named `https://`.
//! * A body that ends before its `Content-Length` (or before its last chunk) is
//!   [`DownloadError::Network`]: the core keeps what it has and resumes.
//! * A failed TLS handshake is [`DownloadError::Authentication`] (FUMO result 406): one
//!   side did not prove who it is, the server with its certificate or the device with its
//!   own, and trying again cannot change that, whereas the transient
//!   [`DownloadError::Unreachable`] would have the device retry a server it will never
//!   trust. The reason ([`TlsFailure`](crate::TlsFailure)) stays readable through
//!   [`HttpDownloader::failure`].
//! * [`HttpConfig::timeout`] bounds each wait on the server (a read or a write), not the
//!   whole transfer; [`HttpConfig::connect_timeout`] bounds the connection and handshake.

use std::io::{self, Read};

use iotadm::fumo::{DownloadError, Downloader, Opened};

use crate::http::{configured_agent, default_agent, read_error, Use};
use crate::{HttpConfig, HttpError};

/// HTTP(S) `GET` with `Range` on `ureq`. See the module docs.
///
/// ```no_run
/// use iotadm::fumo::Downloader;
/// use iotadm_host::{HttpConfig, HttpDownloader};
///
/// let mut config = HttpConfig::new();
/// config.tls.extra_roots.push(std::fs::read("operator-ca.pem")?);
/// let mut downloader = HttpDownloader::with_config(config)?;
/// let opened = downloader.open("https://updates.example.com/fw/v2.bin", 0)?;
/// # let _ = opened;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpDownloader {
    agent: ureq::Agent,
    config: HttpConfig,
    /// The body of the download open, until it ends or fails.
    body: Option<ureq::BodyReader<'static>>,
    /// What the client said of the last failure.
    failure: Option<HttpError>,
}

impl std::fmt::Debug for HttpDownloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDownloader")
            .field("config", &self.config)
            .field("open", &self.body.is_some())
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Default for HttpDownloader {
    fn default() -> Self {
        Self::new(std::time::Duration::from_secs(30))
    }
}

impl HttpDownloader {
    /// A downloader with the default [`HttpConfig`] (the platform's roots, no proxy),
    /// whose connects and reads give up after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Self {
        let config = HttpConfig {
            connect_timeout: Some(timeout),
            timeout: Some(timeout),
            ..HttpConfig::new()
        };
        HttpDownloader {
            agent: default_agent(&config, Use::Download),
            config,
            body: None,
            failure: None,
        }
    }

    /// A downloader with explicit settings, the ones a [`HttpTransport`](crate::HttpTransport)
    /// takes; fails on a malformed proxy address ([`HttpError::Connection`]) and on TLS
    /// settings that cannot be used ([`TlsFailure::Settings`](crate::TlsFailure)).
    pub fn with_config(config: HttpConfig) -> Result<Self, HttpError> {
        Ok(HttpDownloader {
            agent: configured_agent(&config, Use::Download)?,
            config,
            body: None,
            failure: None,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The HTTP client's account of the last failed `open` or `read` (a TLS failure with
    /// its reason, the I/O error, the status), which the [`DownloadError`] it was reported
    /// as cannot carry; `None` when the last call succeeded or failed on what the server
    /// sent (a `Content-Range` not understood).
    pub fn failure(&self) -> Option<&HttpError> {
        self.failure.as_ref()
    }

    /// Keeps `e` for [`failure`](Self::failure) and reports it as the core's kind.
    fn fail(&mut self, e: HttpError) -> DownloadError {
        let kind = kind_of(&e);
        self.body = None;
        self.failure = Some(e);
        kind
    }
}

/// The kind of failure the core acts on, for an error of the HTTP client.
fn kind_of(e: &HttpError) -> DownloadError {
    match e {
        HttpError::Timeout => DownloadError::Timeout,
        HttpError::Tls(_) => DownloadError::Authentication,
        HttpError::Status(code) => refusal(*code),
        HttpError::Connection(inner) => {
            if let Some(e) = inner.downcast_ref::<ureq::Error>() {
                match e {
                    ureq::Error::BadUri(_) | ureq::Error::Http(_) => DownloadError::BadUrl,
                    ureq::Error::HostNotFound
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::InvalidProxyUrl => DownloadError::Unreachable,
                    ureq::Error::Protocol(_) => DownloadError::Protocol,
                    _ => DownloadError::Network,
                }
            } else if let Some(e) = inner.downcast_ref::<io::Error>() {
                match e.kind() {
                    io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::NetworkDown
                    | io::ErrorKind::AddrNotAvailable => DownloadError::Unreachable,
                    _ => DownloadError::Network,
                }
            } else {
                DownloadError::Network
            }
        }
        _ => DownloadError::Protocol,
    }
}

/// The kind of failure a status other than 200 and 206 is.
fn refusal(status: u16) -> DownloadError {
    match status {
        401 | 403 | 407 => DownloadError::Authentication,
        408 | 504 => DownloadError::Timeout,
        502 | 503 => DownloadError::Unreachable,
        code => DownloadError::Server(code),
    }
}

/// `Content-Range: bytes first-last/total`: the first byte's offset and the total, when
/// the server knows it (`*` otherwise).
fn content_range(value: &str) -> Option<(u32, Option<u32>)> {
    let (span, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let first = span.split_once('-')?.0.trim().parse().ok()?;
    Some((first, total.trim().parse().ok()))
}

/// Whether `url` names a scheme this downloader speaks, in any case.
fn supported(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

impl Downloader for HttpDownloader {
    fn open(&mut self, url: &str, offset: u32) -> Result<Opened, DownloadError> {
        self.close();
        self.failure = None;
        if !supported(url) {
            return Err(DownloadError::BadUrl);
        }
        let mut get = self.agent.get(url);
        if offset > 0 {
            get = get.header("Range", std::format!("bytes={offset}-"));
        }
        let response = get.call().map_err(|e| self.fail(HttpError::from(e)))?;
        let status = response.status().as_u16();
        let opened = match status {
            200 => Opened {
                offset: 0,
                total: response
                    .body()
                    .content_length()
                    .and_then(|l| u32::try_from(l).ok()),
            },
            206 => {
                let (offset, total) = response
                    .headers()
                    .get("Content-Range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range)
                    .ok_or(DownloadError::Protocol)?;
                Opened { offset, total }
            }
            code => return Err(self.fail(HttpError::Status(code))),
        };
        self.body = Some(response.into_body().into_reader());
        Ok(opened)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DownloadError> {
        let Some(body) = self.body.as_mut() else {
            return Ok(0);
        };
        loop {
            match body.read(buf) {
                Ok(0) => {
                    // The body is whole: its connection may serve the next download.
                    self.body = None;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(read_error(e))),
            }
        }
    }

    fn close(&mut self) {
        self.body = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_give_the_first_offset_and_the_total() {
        assert_eq!(content_range("bytes 10-19/20"), Some((10, Some(20))));
        assert_eq!(content_range(" bytes 0-0/*"), Some((0, None)));
        assert_eq!(content_range("bytes */20"), None);
        assert_eq!(content_range("items 1-2/3"), None);
    }

    #[test]
    fn statuses_map_to_the_fumo_failures() {
        for (status, kind) in [
            (401, DownloadError::Authentication),
            (403, DownloadError::Authentication),
            (407, DownloadError::Authentication),
            (408, DownloadError::Timeout),
            (504, DownloadError::Timeout),
            (502, DownloadError::Unreachable),
            (503, DownloadError::Unreachable),
            (302, DownloadError::Server(302)),
            (404, DownloadError::Server(404)),
            (500, DownloadError::Server(500)),
        ] {
            assert_eq!(refusal(status), kind, "{status}");
        }
    }

    #[test]
    fn only_http_and_https_urls_are_tried() {
        let mut http = HttpDownloader::new(std::time::Duration::from_secs(1));
        for bad in ["ftp://127.0.0.1/x", "127.0.0.1/x", "file:///x"] {
            assert_eq!(http.open(bad, 0), Err(DownloadError::BadUrl), "{bad}");
        }
        assert_eq!(http.open("http:///x", 0), Err(DownloadError::BadUrl));
        assert!(supported("HTTPS://127.0.0.1/x"));
    }
}
