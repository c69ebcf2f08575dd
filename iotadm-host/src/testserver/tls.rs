//! HTTPS for the test server: a TLS listener in front of its plain HTTP one, or of any
//! other plain HTTP listener a test runs (a package file server, say: [`TlsFront`]).
//!
//! Each client connection gets a thread that completes the TLS handshake (rustls, the
//! same stack and crypto provider as the client side) and only then opens one plain
//! connection to the HTTP listener, relaying bytes both ways until either side closes. So
//! a client that refuses the server's certificate, or that a server requiring client
//! certificates refuses, never reaches the DM engine: nothing of its request is read.
//! One TLS connection is one HTTP connection; the end of either ends the other (with
//! `close_notify` toward the client).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::vec::Vec;

use rustls::server::WebPkiClientVerifier;
use rustls::{ServerConfig, ServerConnection};

use super::{lock, ServerTls};

/// How long a connection's relay waits for the HTTP side to finish its reply and close,
/// once the client's side has ended.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(5);
use crate::http::{ca_roots, crypto};

/// A connection being relayed: its client socket (to end it when the server stops) and
/// its thread.
type Live = (TcpStream, JoinHandle<()>);

/// A TLS listener relaying each connection, once its handshake succeeded, to a plain
/// HTTP listener: HTTPS for a test's own HTTP server. Dropping it stops it.
///
/// ```no_run
/// # fn identity() -> iotadm_host::TlsIdentity { unimplemented!() }
/// use iotadm_host::testserver::{ServerTls, TlsFront};
///
/// let files = std::net::TcpListener::bind("127.0.0.1:0")?; // a test's HTTP server
/// let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
/// let front = TlsFront::start(&ServerTls::new(identity()), loopback, files.local_addr()?)?;
/// let url = format!("https://{}/fw.bin", front.addr());
/// # let _ = url;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TlsFront {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    live: Arc<Mutex<Vec<Live>>>,
}

/// The server side's rustls settings: the server's identity and, when asked, the CAs a
/// client certificate must come from.
fn server_config(tls: &ServerTls) -> Result<ServerConfig, String> {
    let (chain, key) = tls.identity.decode()?;
    let builder = ServerConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match &tls.client_roots_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let roots = ca_roots(pem)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto())
                .build()
                .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(chain, key)
        .map_err(|e| std::format!("server certificate and key: {e}"))
}

impl TlsFront {
    /// Listens on `listen` and relays each connection to the HTTP listener at `inner`.
    pub fn start(tls: &ServerTls, listen: SocketAddr, inner: SocketAddr) -> io::Result<TlsFront> {
        let config = Arc::new(server_config(tls).map_err(io::Error::other)?);
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, live) = (stop.clone(), live.clone());
            std::thread::Builder::new()
                .name("iotadm-testserver-tls".to_string())
                .spawn(move || accept(&listener, &config, inner, &stop, &live))?
        };
        Ok(TlsFront {
            addr,
            stop,
            accept: Some(accept),
            live,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends every connection and waits for their threads. A reply the
    /// HTTP side has written is still relayed: the server that stops after answering a
    /// session's last message (as `iotadm serve` does) must not cut that answer off.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            // The accept loop is blocked in `accept`: a connection of our own wakes it.
            // Only once: after it, the port may be another listener's.
            let _ = TcpStream::connect(self.addr);
            let _ = t.join();
        }
        let live = std::mem::take(&mut *lock(&self.live));
        // Reading from the client ends (its relay then drains the HTTP side); writing to
        // it goes on until the relay's close_notify.
        for (socket, _) in &live {
            let _ = socket.shutdown(Shutdown::Read);
        }
        for (_, thread) in live {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFront")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        // A second stop finds nothing left to end.
        self.stop();
    }
}

fn accept(
    listener: &TcpListener,
    config: &Arc<ServerConfig>,
    inner: SocketAddr,
    stop: &Arc<AtomicBool>,
    live: &Mutex<Vec<Live>>,
) {
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(client) = client else { continue };
        let Ok(handle) = client.try_clone() else {
            continue;
        };
        let config = config.clone();
        let thread = std::thread::Builder::new()
            .name("iotadm-testserver-tls-conn".to_string())
            .spawn(move || relay(client, config, inner));
        if let Ok(thread) = thread {
            lock(live).push((handle, thread));
        }
    }
}

/// The rustls connection and the client socket's writing side, used by both directions
/// under one lock so that TLS records go out in the order they were made. Neither
/// direction waits for input while holding it.
struct Tls {
    conn: ServerConnection,
    socket: TcpStream,
}

impl Tls {
    /// Writes out every TLS record pending.
    fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.socket)?;
        }
        Ok(())
    }
}

/// One client connection: the handshake, then the relay until either side ends.
fn relay(mut client: TcpStream, config: Arc<ServerConfig>, inner: SocketAddr) {
    let Ok(mut conn) = ServerConnection::new(config) else {
        return;
    };
    // A failed handshake (the client refused the certificate, or sent none that is
    // trusted) ends here, its alert sent: no HTTP connection is opened. What the client
    // sent meanwhile is read and dropped until it closes, so that the connection ends
    // with the alert rather than a reset that could overtake it.
    while conn.is_handshaking() {
        if conn.complete_io(&mut client).is_err() {
            let _ = client.shutdown(Shutdown::Write);
            let _ = io::copy(&mut client, &mut io::sink());
            return;
        }
    }
    let (Ok(http), Ok(socket)) = (TcpStream::connect(inner), client.try_clone()) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let tls = Arc::new(Mutex::new(Tls { conn, socket }));
    let down = {
        let (tls, http) = (tls.clone(), http.try_clone());
        std::thread::Builder::new()
            .name("iotadm-testserver-tls-down".to_string())
            .spawn(move || {
                if let Ok(http) = http {
                    down(http, &tls);
                }
            })
    };
    up(&mut client, &http, &tls);
    // The client is done (or gone, or the server stops): the HTTP side reads the end of
    // its requests, finishes the reply it is writing and closes, which ends `down` once
    // the reply is relayed. Bounded, should the HTTP side not close.
    let _ = http.set_read_timeout(Some(DRAIN));
    let _ = http.shutdown(Shutdown::Write);
    if let Ok(down) = down {
        let _ = down.join();
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Client to HTTP listener: TLS records in, plaintext out, until the client closes.
fn up(client: &mut TcpStream, mut http: &TcpStream, tls: &Mutex<Tls>) {
    let mut buf = std::vec![0u8; 16 * 1024];
    // Bytes of `buf` read from the client and not yet given to the connection. The first
    // round has none, but the handshake may have decrypted a request that came with the
    // client's last handshake flight: it goes out before anything more is awaited.
    let mut n = 0;
    loop {
        let mut plain = Vec::new();
        let mut closed = false;
        {
            let mut tls = lock(tls);
            let mut input = buf.get(..n).unwrap_or_default();
            loop {
                // Everything decrypted so far; it stops at WouldBlock (no more yet) or at
                // the client's close_notify.
                let _ = tls.conn.reader().read_to_end(&mut plain);
                if input.is_empty() || closed {
                    break;
                }
                if tls.conn.read_tls(&mut input).is_err() {
                    closed = true;
                    break;
                }
                match tls.conn.process_new_packets() {
                    Ok(state) => closed = state.peer_has_closed(),
                    Err(_) => closed = true,
                }
            }
            // Alerts, key updates: what the connection has to say back.
            if tls.flush().is_err() {
                closed = true;
            }
        }
        if !plain.is_empty() && http.write_all(&plain).is_err() {
            return;
        }
        if closed {
            return;
        }
        n = match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
    }
}

/// HTTP listener to client: plaintext in, TLS records out, until the HTTP side closes;
/// then `close_notify` and the end of the client connection.
fn down(mut http: TcpStream, tls: &Mutex<Tls>) {
    let mut buf = std::vec![0u8; 16 * 1024];
    loop {
        let n = match http.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut tls = lock(tls);
        let mut data = buf.get(..n).unwrap_or_default();
        let mut failed = false;
        while !data.is_empty() && !failed {
            match tls.conn.writer().write(data) {
                Ok(k) => data = data.get(k..).unwrap_or_default(),
                Err(_) => failed = true,
            }
            failed |= tls.flush().is_err();
        }
        if failed {
            let _ = http.shutdown(Shutdown::Both);
            break;
        }
    }
    let mut tls = lock(tls);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.socket.shutdown(Shutdown::Both);
}
