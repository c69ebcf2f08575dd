//! The vendor crate's session against iotadm's scripted DM server on 127.0.0.1: the
//! handset mounts its tree (with `./Vendor`), and its own transport frames every message
//! over a link whose other end, here, relays it to the server with `iotadm-host`'s HTTP
//! transport. The server's script manages `./Vendor`; the test checks the statuses and
//! results the server recorded and what the vendor's handler saw.

use std::collections::VecDeque;

use iotadm::auth::AuthScheme;
use iotadm::codec::Encoding;
use iotadm::transport::{Request, Transport};
use iotadm::tree::Principal;
use iotadm_host::sim::{self, AccountSpec, CredSpec, SeededRng};
use iotadm_host::testserver::{Account, Cmd, Script, SessionState, TestServer, Transcript};
use iotadm_host::{HttpError, HttpTransport};
use vendor_mo::{
    Device, Link, LinkTransport, SessionMemory, TreeMemory, VendorObject, ERASED, FLASH_BYTES,
};

/// The handset's `DevId`.
const DEV_ID: &str = "IMEI:490154203237518";
/// The counter's value when the handset starts.
const INITIAL: i32 = 7;

/// The other end of the handset's link, as the application processor would be: it reads
/// each request frame (parsed here independently of the crate's own code), posts it to
/// the DM server over HTTP and frames the reply back.
struct HttpBridge {
    http: HttpTransport,
    from_device: Vec<u8>,
    to_device: VecDeque<u8>,
    /// Requests relayed.
    relayed: usize,
}

impl HttpBridge {
    fn new() -> Self {
        HttpBridge {
            http: HttpTransport::new(),
            from_device: Vec::new(),
            to_device: VecDeque::new(),
            relayed: 0,
        }
    }

    /// Relays the request frame the device wrote, and queues the answer for it.
    fn relay(&mut self) -> Result<(), String> {
        let frame = std::mem::take(&mut self.from_device);
        let mut rest = frame.as_slice();
        let mut take = |n: usize| -> Result<&[u8], String> {
            if rest.len() < n {
                return Err(format!("request frame cut short: {frame:02x?}"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        if take(3)? != b"VM\x01" {
            return Err("not a request frame".into());
        }
        let encoding = match take(1)?[0] {
            0 => Encoding::Xml,
            1 => Encoding::Wbxml,
            e => return Err(format!("encoding byte {e}")),
        };
        let url_len = u16::from_be_bytes(take(2)?.try_into().unwrap());
        let url = String::from_utf8(take(usize::from(url_len))?.to_vec()).unwrap();
        let hmac = match u16::from_be_bytes(take(2)?.try_into().unwrap()) {
            0xFFFF => None,
            n => Some(String::from_utf8(take(usize::from(n))?.to_vec()).unwrap()),
        };
        let body_len = u32::from_be_bytes(take(4)?.try_into().unwrap());
        let body = take(body_len as usize)?.to_vec();
        if !rest.is_empty() {
            return Err(format!("{} bytes after the request frame", rest.len()));
        }
        let request = Request {
            url: &url,
            encoding,
            hmac: hmac.as_deref(),
            body: &body,
        };
        let (mut rx, mut header) = (vec![0u8; 64 * 1024], vec![0u8; 256]);
        self.relayed += 1;
        match self.http.exchange(&request, &mut rx, &mut header) {
            Ok(reply) => {
                self.to_device.extend(*b"VM\x81");
                self.to_device.push_back(match reply.encoding {
                    Some(Encoding::Xml) => 0,
                    Some(Encoding::Wbxml) => 1,
                    None => 0xFF,
                });
                match reply.hmac_len {
                    Some(n) => {
                        self.to_device.extend((n as u16).to_be_bytes());
                        self.to_device.extend(&header[..n]);
                    }
                    None => self.to_device.extend(0xFFFFu16.to_be_bytes()),
                }
                self.to_device.extend((reply.len as u32).to_be_bytes());
                self.to_device.extend(&rx[..reply.len]);
            }
            Err(e) => {
                let status = match e {
                    HttpError::Status(s) => s,
                    _ => 0,
                };
                self.to_device.extend(*b"VM\xE1");
                self.to_device.extend(status.to_be_bytes());
            }
        }
        Ok(())
    }
}

impl Link for HttpBridge {
    type Error = String;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.from_device.extend_from_slice(bytes);
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        if self.to_device.is_empty() {
            self.relay()?;
        }
        for b in buf {
            *b = self.to_device.pop_front().ok_or("reply frame cut short")?;
        }
        Ok(())
    }
}

/// What one run leaves behind: the server's transcript and the handset's parts.
struct Run {
    transcript: Transcript,
    vendor: VendorObject,
    /// `./Vendor/Counter` as the tree serves it after the session, remounted.
    counter: String,
    relayed: usize,
}

/// A factory-fresh handset with account `srv1` at the server runs one client-initiated
/// session through its own transport, against `script`.
fn run(script: Script) -> Run {
    let server = TestServer::start(
        vec![Account::new("srv1").client_basic("dev", "devpw")],
        script,
    )
    .expect("test server starts");
    let url = server.url("srv1");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let mut storage = Box::new(TreeMemory::new());
    let mut flash: Box<[u8; FLASH_BYTES]> = Box::new(ERASED);
    let mut vendor = VendorObject::new(INITIAL);
    let mut device = Device {
        storage: &mut storage,
        flash: &mut flash,
        vendor: &mut vendor,
        info: sim::device_info(DEV_ID),
    };

    // The factory: the first mount formats the flash, and a trusted bootstrap provisions
    // the DM account, which stays on flash for the mount of the session.
    {
        let mut tree = device.mount().expect("tree mounts");
        AccountSpec {
            node: "srv1",
            server_id: "srv1",
            addr: &url,
            client: Some(CredSpec {
                scheme: AuthScheme::Basic,
                name: "dev",
                secret: "devpw",
                nonce: b"",
            }),
            server: None,
            acl: None,
        }
        .provision(&mut tree)
        .expect("account provisioned");
    }

    let mut memory = Box::new(SessionMemory::new());
    let mut bridge = HttpBridge::new();
    let outcome = device.run_session(
        &mut memory,
        LinkTransport::new(&mut bridge),
        &mut SeededRng::new(7),
        "srv1",
    );
    let transcript = server.finish();
    assert!(outcome.is_ok(), "{outcome:?}\n{}", transcript.render());
    assert!(
        transcript.violations().is_empty(),
        "{:#?}\n{}",
        transcript.violations(),
        transcript.render()
    );
    assert_eq!(transcript.sessions().len(), 1);
    assert_eq!(
        transcript.sessions()[0].state,
        SessionState::Completed,
        "{}",
        transcript.render()
    );

    // A restart: the tree serves the counter from the handler.
    let counter = {
        let mut tree = device.mount().expect("tree mounts again");
        let mut buf = [0u8; 16];
        let read = tree
            .get(Principal::Device, "./Vendor/Counter", 0, &mut buf)
            .expect("counter readable");
        String::from_utf8(buf[..read.len].to_vec()).unwrap()
    };
    Run {
        transcript,
        vendor,
        counter,
        relayed: bridge.relayed,
    }
}

/// The data of the only result item of the command labelled `label`.
fn result(t: &Transcript, label: &str) -> String {
    let items = t.results_for(label);
    assert_eq!(items.len(), 1, "{label}: {items:#?}");
    items[0].data_str().into_owned()
}

fn status(t: &Transcript, label: &str) -> Option<u16> {
    t.status(label)
}

#[test]
fn server_reads_sets_and_reboots_through_the_vendor_object() {
    let script = Script::new().package([
        Cmd::get("./Vendor/Counter").label("initial"),
        Cmd::replace("./Vendor/Counter", "42")
            .format("int")
            .label("replace"),
        Cmd::get("./Vendor/Counter").label("changed"),
        Cmd::exec("./Vendor/Reboot").label("reboot"),
    ]);
    let mut run = run(script);
    let t = &run.transcript;
    for label in ["initial", "replace", "changed", "reboot"] {
        assert_eq!(status(t, label), Some(200), "{label}\n{}", t.render());
    }
    assert_eq!(result(t, "initial"), INITIAL.to_string());
    assert_eq!(result(t, "changed"), "42");
    let format = t.results_for("changed")[0].format.as_deref().map(str::trim);
    assert_eq!(format, Some("int"), "the result names the DDF's format");

    // What the handler saw.
    assert_eq!(run.vendor.counter(), 42);
    assert_eq!(run.vendor.replaces(), 1);
    assert!(run.vendor.take_reboot_request(), "the Exec was noted");
    assert_eq!(run.counter, "42");
    assert!(run.relayed >= 2, "every message went over the link");
}

#[test]
fn a_counter_that_is_not_an_integer_is_refused_and_kept() {
    let script = Script::new().package([
        Cmd::replace("./Vendor/Counter", "forty-two").label("not-a-number"),
        Cmd::replace("./Vendor/Counter", "4294967296")
            .format("int")
            .label("out-of-range"),
        // Declared as text: not the node's format.
        Cmd::replace("./Vendor/Counter", "42")
            .format("chr")
            .label("wrong-format"),
        Cmd::get("./Vendor/Counter").label("after"),
        // Reboot takes Exec only, and Counter no Exec.
        Cmd::replace("./Vendor/Reboot", "1").label("replace-reboot"),
        Cmd::exec("./Vendor/Counter").label("exec-counter"),
        // A node the DDF does not describe.
        Cmd::get("./Vendor/Missing").label("missing"),
    ]);
    let mut run = run(script);
    let t = &run.transcript;
    // 400 Bad request: the value is not a value of the node's format (`int`).
    assert_eq!(status(t, "not-a-number"), Some(400), "{}", t.render());
    assert_eq!(status(t, "out-of-range"), Some(400));
    // 415 Unsupported media type: the command's format is not the node's.
    assert_eq!(status(t, "wrong-format"), Some(415));
    assert_eq!(status(t, "after"), Some(200));
    assert_eq!(result(t, "after"), INITIAL.to_string());
    // 405 Command not allowed: the DDF's access types.
    assert_eq!(status(t, "replace-reboot"), Some(405));
    assert_eq!(status(t, "exec-counter"), Some(405));
    assert_eq!(status(t, "missing"), Some(404));

    assert_eq!(run.vendor.counter(), INITIAL, "the value is unchanged");
    assert_eq!(
        run.vendor.replaces(),
        0,
        "no refused value reached the handler"
    );
    assert!(!run.vendor.take_reboot_request());
    assert_eq!(run.counter, INITIAL.to_string());
}
