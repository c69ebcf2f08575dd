//! The std HTTP downloader against a tiny server on 127.0.0.1: a whole download through
//! the FUMO object, a connection cut mid-body and resumed with a `Range` request, the
//! same over HTTPS (the test server's TLS front before it, with a certificate `openssl`
//! made), and the server's refusals mapped to FUMO result codes.

mod common;
mod firmware_common;
mod fumo_common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::certs::pki;
use firmware_common::*;
use fumo_common::*;
use iotadm::fumo::{Config, DownloadError, Downloader, Io, Poll, Progress, ResultCode, State};
use iotadm::session::NoUi;
use iotadm::tree::Principal;
use iotadm_host::testserver::{ServerTls, TlsFront};
use iotadm_host::{HttpConfig, HttpDownloader, HttpError, TlsFailure, TlsIdentity};

/// Serves `body` (one request a connection, as each response says) at `/fw.bin`, chunked at `/chunked.bin` (whole, in two chunks), a
/// redirect to `/fw.bin` at `/moved`, 404 elsewhere, for `connections` requests. The
/// first response is cut after `cut_first` body bytes. Returns the port and the Range
/// header of each request.
fn serve(
    body: Vec<u8>,
    connections: usize,
    cut_first: Option<usize>,
) -> (u16, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    thread::spawn(move || {
        for i in 0..connections {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut range = None;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                // Header names in any case, as HTTP has them.
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("Range") {
                        let v = value.trim().strip_prefix("bytes=").unwrap();
                        range = Some(v.trim_end_matches('-').to_string());
                    }
                }
            }
            seen.lock().unwrap().push(range.clone());
            if request_line.starts_with("GET /moved ") {
                let _ = conn.write_all(
                    b"HTTP/1.1 302 Found\r\nConnection: close\r\nLocation: /fw.bin\r\nContent-Length: 0\r\n\r\n",
                );
                continue;
            }
            if request_line.starts_with("GET /chunked.bin ") {
                let (a, b) = body.split_at(body.len() / 2);
                let mut reply =
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .to_vec();
                for chunk in [a, b] {
                    reply.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    reply.extend_from_slice(chunk);
                    reply.extend_from_slice(b"\r\n");
                }
                reply.extend_from_slice(b"0\r\n\r\n");
                let _ = conn.write_all(&reply);
                continue;
            }
            if !request_line.starts_with("GET /fw.bin ") {
                let _ = conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                );
                continue;
            }
            let from: usize = range.as_deref().map_or(0, |r| r.parse().unwrap());
            let part = &body[from..];
            let head = if from > 0 {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nConnection: close\r\nContent-Range: bytes {from}-{}/{}\r\nContent-Length: {}\r\n\r\n",
                    body.len() - 1,
                    body.len(),
                    part.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    part.len()
                )
            };
            conn.write_all(head.as_bytes()).unwrap();
            let n = match (i, cut_first) {
                (0, Some(cut)) => cut,
                _ => part.len(),
            };
            let _ = conn.write_all(&part[..n]);
        }
    });
    (port, ranges)
}

/// `serve`, over HTTPS with `identity`: the TLS front (the server runs while it lives),
/// its port and the Range header of each request that got through the handshake.
fn serve_tls(
    identity: &TlsIdentity,
    body: Vec<u8>,
    connections: usize,
    cut_first: Option<usize>,
) -> (TlsFront, u16, Arc<Mutex<Vec<Option<String>>>>) {
    let (port, ranges) = serve(body, connections, cut_first);
    let front = TlsFront::start(
        &ServerTls::new(identity.clone()),
        "127.0.0.1:0".parse().unwrap(),
        ([127, 0, 0, 1], port).into(),
    )
    .unwrap();
    let port = front.addr().port();
    (front, port, ranges)
}

/// Downloads `pkg` from `url` through the FUMO object with `http`, the server cutting the
/// first response after 3000 bytes: the first poll is to be retried, the second
/// completes the download, resumed with a Range request (`ranges` is what the server saw).
fn download_cut_and_resumed(
    pkg: &[u8],
    url: &str,
    http: &mut HttpDownloader,
    ranges: &Mutex<Vec<Option<String>>>,
) {
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    let srv = Principal::Server("srv1");
    tree.replace(srv, "./FUMO/fw/Download/PkgURL", url.as_bytes(), None, None)
        .unwrap();
    tree.exec(srv, "./FUMO/fw/Download", b"", Some("h"))
        .unwrap();
    let fumo = tree.handlers_mut();
    let mut ui = NoUi;
    let mut seen: Vec<Progress> = Vec::new();
    let mut buf = [0u8; 512];
    let mut results = Vec::new();
    for _ in 0..2 {
        let mut progress = |p: Progress| seen.push(p);
        let mut io = Io {
            downloader: &mut *http,
            ui: &mut ui,
            progress: &mut progress,
            buf: &mut buf,
        };
        results.push(fumo.poll(&mut io).unwrap());
    }
    assert_eq!(results, [Poll::Retry, Poll::Report]);
    assert_eq!(fumo.state(), State::DownloadComplete);
    assert_eq!(
        fumo.pending_report().unwrap().result(),
        ResultCode::Successful
    );
    let ranges = ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2);
    assert_eq!(ranges[0], None);
    let resumed: u32 = ranges[1].as_deref().unwrap().parse().unwrap();
    assert!(resumed > 0 && resumed <= 3000, "resumed at {resumed}");
    assert_eq!(seen.last().unwrap().received, pkg.len() as u32);
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    let pkg = package(2, &payload(2, 7000));
    let (port, ranges) = serve(pkg.clone(), 2, Some(3000));
    let url = format!("http://127.0.0.1:{port}/fw.bin");
    let mut http = HttpDownloader::new(Duration::from_secs(5));
    download_cut_and_resumed(&pkg, &url, &mut http, &ranges);
}

/// Trusts the test CA alone.
fn trusting_the_test_ca(ca: &[u8]) -> HttpConfig {
    let mut config = HttpConfig::new();
    config.tls.platform_roots = false;
    config.tls.extra_roots.push(ca.to_vec());
    config
}

#[test]
fn an_https_download_with_the_test_ca_trusted_is_cut_and_resumed() {
    let Some(pki) = pki() else { return };
    let pkg = package(2, &payload(2, 7000));
    let (_front, port, ranges) = serve_tls(&pki.server, pkg.clone(), 2, Some(3000));
    let url = format!("https://127.0.0.1:{port}/fw.bin");
    let mut http = HttpDownloader::with_config(trusting_the_test_ca(&pki.ca)).unwrap();
    download_cut_and_resumed(&pkg, &url, &mut http, &ranges);
}

#[test]
fn an_https_package_server_is_refused_without_its_ca_and_the_reason_kept() {
    let Some(pki) = pki() else { return };
    let (_front, port, ranges) = serve_tls(&pki.server, vec![1, 2, 3], 1, None);
    let url = format!("https://127.0.0.1:{port}/fw.bin");
    // The platform's roots alone: the test CA is not among them.
    let mut http = HttpDownloader::with_config(HttpConfig::new()).unwrap();
    assert_eq!(http.open(&url, 0), Err(DownloadError::Authentication));
    assert!(
        matches!(
            http.failure(),
            Some(HttpError::Tls(TlsFailure::UnknownIssuer))
        ),
        "{:?}",
        http.failure()
    );
    assert_eq!(
        DownloadError::Authentication.result_code(),
        ResultCode::DownloadAuthenticationFailure
    );
    assert!(!DownloadError::Authentication.is_transient());
    // A certificate from the trusted CA for another name is refused the same way.
    let (_other, port, other_ranges) = serve_tls(&pki.other_name, vec![1, 2, 3], 1, None);
    let mut http = HttpDownloader::with_config(trusting_the_test_ca(&pki.ca)).unwrap();
    assert_eq!(
        http.open(&format!("https://127.0.0.1:{port}/fw.bin"), 0),
        Err(DownloadError::Authentication)
    );
    assert!(matches!(
        http.failure(),
        Some(HttpError::Tls(TlsFailure::WrongName { .. }))
    ));
    // Neither file server saw a request.
    assert!(ranges.lock().unwrap().is_empty());
    assert!(other_ranges.lock().unwrap().is_empty());
}

/// Reads a whole body through the trait.
fn read_all(http: &mut HttpDownloader) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        let n = http.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn a_chunked_body_is_read_whole_and_a_redirect_is_not_followed() {
    let body: Vec<u8> = (0..=255u8).collect();
    let (port, ranges) = serve(body.clone(), 2, None);
    let mut http = HttpDownloader::new(Duration::from_secs(5));
    let opened = http
        .open(&format!("http://127.0.0.1:{port}/chunked.bin"), 0)
        .unwrap();
    assert_eq!((opened.offset, opened.total), (0, None));
    assert_eq!(read_all(&mut http), body);
    assert_eq!(
        http.open(&format!("http://127.0.0.1:{port}/moved"), 0),
        Err(DownloadError::Server(302))
    );
    assert!(matches!(http.failure(), Some(HttpError::Status(302))));
    assert_eq!(ranges.lock().unwrap().len(), 2, "/fw.bin was not asked for");
}

#[test]
fn refusals_and_unreachable_servers_map_to_download_errors() {
    let (port, _) = serve(vec![1, 2, 3], 1, None);
    let mut http = HttpDownloader::new(Duration::from_secs(5));
    assert_eq!(
        http.open(&format!("http://127.0.0.1:{port}/missing"), 0),
        Err(DownloadError::Server(404))
    );
    assert_eq!(
        DownloadError::Server(404).result_code(),
        ResultCode::DownloadServerError
    );
    // Nothing listens on a port just freed.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_eq!(
        http.open(&format!("http://127.0.0.1:{port}/fw.bin"), 0),
        Err(DownloadError::Unreachable)
    );
    assert_eq!(
        http.open("ftp://127.0.0.1/fw.bin", 0),
        Err(DownloadError::BadUrl)
    );
    // A whole body read through the trait.
    let (port, _) = serve((0..=255u8).collect(), 1, None);
    let opened = http
        .open(&format!("http://127.0.0.1:{port}/fw.bin"), 0)
        .unwrap();
    assert_eq!((opened.offset, opened.total), (0, Some(256)));
    assert_eq!(read_all(&mut http), (0..=255u8).collect::<Vec<_>>());
}

#[test]
fn a_body_cut_before_its_content_length_is_a_network_failure() {
    let (port, _) = serve((0..=255u8).collect(), 1, Some(100));
    let mut http = HttpDownloader::new(Duration::from_secs(5));
    let opened = http
        .open(&format!("http://127.0.0.1:{port}/fw.bin"), 0)
        .unwrap();
    assert_eq!(opened.total, Some(256));
    let mut buf = [0u8; 64];
    let mut got = 0;
    let failure = loop {
        match http.read(&mut buf) {
            Ok(0) => panic!("the cut body ended as if whole after {got} bytes"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!((failure, got), (DownloadError::Network, 100));
    assert!(failure.is_transient());
}
