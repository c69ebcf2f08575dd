//! The std HTTP downloader against a tiny server on 127.0.0.1: a whole download through
//! the FUMO object, a connection cut mid-body and resumed with a `Range` request, and the
//! server's refusals mapped to FUMO result codes.

mod firmware_common;
mod fumo_common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use firmware_common::*;
use fumo_common::*;
use iotadm::fumo::{Config, DownloadError, Downloader, Io, Poll, Progress, ResultCode, State};
use iotadm::session::NoUi;
use iotadm::tree::Principal;
use iotadm_host::HttpDownloader;

/// Serves `body` at `/fw.bin` (404 elsewhere) for `connections` requests. The first
/// response is cut after `cut_first` body bytes. Returns the port and the Range header
/// of each request.
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
                if let Some(v) = line.strip_prefix("Range: bytes=") {
                    range = Some(v.trim().trim_end_matches('-').to_string());
                }
            }
            seen.lock().unwrap().push(range.clone());
            if !request_line.starts_with("GET /fw.bin ") {
                let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                continue;
            }
            let from: usize = range.as_deref().map_or(0, |r| r.parse().unwrap());
            let part = &body[from..];
            let head = if from > 0 {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{}\r\nContent-Length: {}\r\n\r\n",
                    body.len() - 1,
                    body.len(),
                    part.len()
                )
            } else {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", part.len())
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

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    let pkg = package(2, &payload(2, 7000));
    let (port, ranges) = serve(pkg.clone(), 2, Some(3000));
    let url = format!("http://127.0.0.1:{port}/fw.bin");
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    let srv = Principal::Server("srv1");
    tree.replace(srv, "./FUMO/fw/Download/PkgURL", url.as_bytes(), None, None)
        .unwrap();
    tree.exec(srv, "./FUMO/fw/Download", b"", Some("h"))
        .unwrap();
    let fumo = tree.handlers_mut();
    let mut http = HttpDownloader::new(Duration::from_secs(5));
    let mut ui = NoUi;
    let mut seen: Vec<Progress> = Vec::new();
    let mut buf = [0u8; 512];
    let mut results = Vec::new();
    for _ in 0..2 {
        let mut progress = |p: Progress| seen.push(p);
        let mut io = Io {
            downloader: &mut http,
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
        http.open("https://127.0.0.1/fw.bin", 0),
        Err(DownloadError::BadUrl)
    );
    // A whole body read through the trait.
    let (port, _) = serve((0..=255u8).collect(), 1, None);
    let opened = http
        .open(&format!("http://127.0.0.1:{port}/fw.bin"), 0)
        .unwrap();
    assert_eq!((opened.offset, opened.total), (0, Some(256)));
    let mut got = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        let n = http.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, (0..=255u8).collect::<Vec<_>>());
}
