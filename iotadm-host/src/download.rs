//! A host [`Downloader`]: HTTP/1.1 `GET` over a plain TCP connection, with a `Range`
//! request to resume. It is small on purpose (host tools, tests and demos): `http://`
//! only, one request per connection, and a body delimited by `Content-Length` or by the
//! connection's end; a chunked body is refused as a protocol error.

use std::borrow::ToOwned;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::string::String;
use std::time::Duration;
use std::vec::Vec;

use iotadm::fumo::{DownloadError, Downloader, Opened};

/// Largest response head accepted.
const MAX_HEAD: usize = 8192;

/// HTTP `GET` with `Range` over `std::net::TcpStream`. See the module docs.
#[derive(Debug)]
pub struct HttpDownloader {
    timeout: Duration,
    conn: Option<TcpStream>,
    /// Body bytes that arrived with the head.
    early: Vec<u8>,
    /// Body bytes still to come, when the server said.
    left: Option<u64>,
}

impl Default for HttpDownloader {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl HttpDownloader {
    /// A downloader whose connects and reads give up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            conn: None,
            early: Vec::new(),
            left: None,
        }
    }
}

/// `http://host[:port]/path` split into the address to connect to, the `Host` header and
/// the request target.
fn split_url(url: &str) -> Result<(String, String, String), DownloadError> {
    let rest = url.strip_prefix("http://").ok_or(DownloadError::BadUrl)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.contains(char::is_whitespace) {
        return Err(DownloadError::BadUrl);
    }
    let addr = if authority.rsplit_once(':').is_some_and(|(_, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
    }) {
        authority.to_owned()
    } else {
        std::format!("{authority}:80")
    };
    Ok((addr, authority.to_owned(), path.to_owned()))
}

fn io_error(e: &std::io::Error) -> DownloadError {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => DownloadError::Timeout,
        _ => DownloadError::Network,
    }
}

/// A header's value, by case-insensitive name.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

impl Downloader for HttpDownloader {
    fn open(&mut self, url: &str, offset: u32) -> Result<Opened, DownloadError> {
        self.close();
        let (addr, host, path) = split_url(url)?;
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map_err(|_| DownloadError::Unreachable)?
            .collect();
        let mut conn = addrs
            .iter()
            .find_map(|a| TcpStream::connect_timeout(a, self.timeout).ok())
            .ok_or(DownloadError::Unreachable)?;
        conn.set_read_timeout(Some(self.timeout))
            .and_then(|()| conn.set_write_timeout(Some(self.timeout)))
            .map_err(|e| io_error(&e))?;
        let mut request = std::format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: iotadm\r\nAccept: */*\r\nConnection: close\r\n"
        );
        if offset > 0 {
            request.push_str(&std::format!("Range: bytes={offset}-\r\n"));
        }
        request.push_str("\r\n");
        conn.write_all(request.as_bytes())
            .map_err(|e| io_error(&e))?;

        // The head, and whatever body bytes came with it.
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        let end = loop {
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if raw.len() > MAX_HEAD {
                return Err(DownloadError::Protocol);
            }
            let n = conn.read(&mut buf).map_err(|e| io_error(&e))?;
            if n == 0 {
                return Err(DownloadError::Network);
            }
            raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        };
        let head = std::str::from_utf8(raw.get(..end).unwrap_or_default())
            .map_err(|_| DownloadError::Protocol)?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(DownloadError::Protocol)?;
        if header(head, "Transfer-Encoding").is_some_and(|v| !v.eq_ignore_ascii_case("identity")) {
            return Err(DownloadError::Protocol);
        }
        let length: Option<u64> = match header(head, "Content-Length") {
            Some(v) => Some(v.parse().map_err(|_| DownloadError::Protocol)?),
            None => None,
        };
        let opened = match status {
            200 => Opened {
                offset: 0,
                total: length.and_then(|l| u32::try_from(l).ok()),
            },
            206 => {
                // Content-Range: bytes first-last/total
                let range = header(head, "Content-Range").ok_or(DownloadError::Protocol)?;
                let spec = range
                    .strip_prefix("bytes ")
                    .ok_or(DownloadError::Protocol)?;
                let (span, total) = spec.split_once('/').ok_or(DownloadError::Protocol)?;
                let first = span
                    .split_once('-')
                    .and_then(|(f, _)| f.trim().parse::<u32>().ok())
                    .ok_or(DownloadError::Protocol)?;
                Opened {
                    offset: first,
                    total: total.trim().parse().ok(),
                }
            }
            401 | 403 | 407 => return Err(DownloadError::Authentication),
            408 | 504 => return Err(DownloadError::Timeout),
            502 | 503 => return Err(DownloadError::Unreachable),
            code => return Err(DownloadError::Server(code)),
        };
        self.early = raw.split_off(end);
        self.left = length.map(|l| l.saturating_sub(self.early.len() as u64));
        self.conn = Some(conn);
        Ok(opened)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DownloadError> {
        if !self.early.is_empty() {
            let n = self.early.len().min(buf.len());
            buf.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(self.early.get(..n).unwrap_or_default());
            self.early.drain(..n);
            return Ok(n);
        }
        if self.left == Some(0) {
            return Ok(0);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(0);
        };
        let want = match self.left {
            Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        let n = conn
            .read(buf.get_mut(..want).unwrap_or_default())
            .map_err(|e| io_error(&e))?;
        match (n, self.left.as_mut()) {
            // The connection ended before Content-Length: the body was cut.
            (0, Some(_)) if want > 0 => Err(DownloadError::Network),
            (n, Some(left)) => {
                *left -= n as u64;
                Ok(n)
            }
            (n, None) => Ok(n),
        }
    }

    fn close(&mut self) {
        self.conn = None;
        self.early.clear();
        self.left = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_host_and_target() {
        let (a, h, p) = split_url("http://127.0.0.1:8080/fw/v2.bin?x=1").unwrap();
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/fw/v2.bin?x=1")
        );
        let (a, _, p) = split_url("http://localhost").unwrap();
        assert_eq!((a.as_str(), p.as_str()), ("localhost:80", "/"));
        for bad in [
            "https://127.0.0.1/x",
            "ftp://a/b",
            "http:///x",
            "http://u@h/x",
            "http://h/a b",
        ] {
            assert_eq!(split_url(bad), Err(DownloadError::BadUrl), "{bad}");
        }
    }

    #[test]
    fn headers_are_found_by_name_in_any_case() {
        let head = "HTTP/1.1 206 Partial\r\ncontent-range: bytes 10-19/20\r\nX: y\r\n\r\n";
        assert_eq!(header(head, "Content-Range"), Some("bytes 10-19/20"));
        assert_eq!(header(head, "Content-Length"), None);
    }
}
