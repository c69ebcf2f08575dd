//! Node handlers through the public API: values kept outside the tree, value checks,
//! read and change gates, Exec, add/delete hooks, and large values written in chunks.

use std::collections::HashMap;

use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::schema::STANDARD;
use iotadm::tree::{
    ExecOutcome, HandlerTable, NodeHandler, NodeRef, Principal, Tree, TreeStorage, UriLimits,
};

/// Tree storage that lives as long as the test process.
fn storage<const N: usize, const A: usize, const R: usize>() -> &'static mut TreeStorage<N, A, R> {
    Box::leak(Box::new(TreeStorage::new()))
}

type Flash = MemFlash<Vec<u8>, 1024, 8>;

const DEVICE: Principal<'static> = Principal::Device;
const SRV1: Principal<'static> = Principal::Server("srv1");

fn blank() -> Flash {
    let mut f = MemFlash::new(vec![0u8; 16 * 1024]);
    f.erase_all();
    f
}

fn id(uri: &str) -> u16 {
    STANDARD
        .find(uri)
        .unwrap_or_else(|| panic!("no node {uri}"))
}

/// Device details kept by the platform: the tree only passes them through.
#[derive(Default)]
struct Platform {
    values: HashMap<String, Vec<u8>>,
    streamed: Vec<u8>,
    stream_open: bool,
    execs: Vec<(String, Vec<u8>, Option<String>)>,
}

impl NodeHandler for Platform {
    fn stores_values(&self, _: &NodeRef<'_>) -> bool {
        true
    }

    fn read(
        &mut self,
        node: &NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        let v = self.values.get(node.path).ok_or(StatusCode::NotFound)?;
        let from = &v[offset.min(v.len())..];
        let n = from.len().min(out.len());
        out[..n].copy_from_slice(&from[..n]);
        Ok((n, v.len()))
    }

    fn begin_write(&mut self, _: &NodeRef<'_>, _: Option<u64>) -> Result<(), StatusCode> {
        self.streamed.clear();
        self.stream_open = true;
        Ok(())
    }

    fn write_chunk(
        &mut self,
        _: &NodeRef<'_>,
        offset: u64,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        assert_eq!(offset as usize, self.streamed.len());
        self.streamed.extend_from_slice(chunk);
        Ok(())
    }

    fn end_write(&mut self, node: &NodeRef<'_>, commit: bool) -> Result<(), StatusCode> {
        self.stream_open = false;
        if commit {
            self.values
                .insert(node.path.to_string(), std::mem::take(&mut self.streamed));
        }
        Ok(())
    }

    fn exec(
        &mut self,
        node: &NodeRef<'_>,
        data: &[u8],
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        self.execs.push((
            node.path.to_string(),
            data.to_vec(),
            correlator.map(str::to_string),
        ));
        Ok(ExecOutcome::Accepted)
    }
}

/// Checks account addresses and keeps secrets out of reach.
#[derive(Default)]
struct AccountPolicy {
    added: Vec<String>,
    deleted: Vec<String>,
}

impl NodeHandler for AccountPolicy {
    fn check(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        if node.path.ends_with("/Addr") && !value.starts_with(b"https://") {
            return Err(StatusCode::BadRequest);
        }
        Ok(())
    }

    fn allow_read(&mut self, node: &NodeRef<'_>) -> Result<(), StatusCode> {
        if node.path.ends_with("AAuthName") && node.server.is_some() {
            return Err(StatusCode::PermissionDenied);
        }
        Ok(())
    }

    fn added(&mut self, node: &NodeRef<'_>) {
        self.added.push(node.path.to_string());
    }

    fn deleted(&mut self, node: &NodeRef<'_>) {
        self.deleted.push(node.path.to_string());
    }
}

#[test]
fn handlers_keep_check_gate_and_execute() {
    let mut platform = Platform::default();
    platform
        .values
        .insert("DevDetail/FwV".into(), b"1.0.7".to_vec());
    let mut policy = AccountPolicy::default();
    {
        let handlers = HandlerTable::new([
            (id("./DevDetail"), &mut platform as &mut dyn NodeHandler),
            (id("./DMAcc/<x>"), &mut policy as &mut dyn NodeHandler),
        ]);
        let mut t: Tree<Flash, _> = Tree::mount(
            storage::<64, 4096, 512>(),
            &STANDARD,
            blank(),
            handlers,
            UriLimits::DEFAULT,
        )
        .unwrap();
        let mut buf = [0u8; 64];
        // A value the platform keeps.
        let r = t.get(SRV1, "./DevDetail/FwV", 0, &mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"1.0.7");
        assert_eq!(
            t.get(SRV1, "./DevDetail/HwV", 0, &mut buf),
            Err(StatusCode::NotFound)
        );
        // Values the tree keeps, checked by the handler.
        t.add(DEVICE, "./DMAcc/a1", None, None, None).unwrap();
        t.replace(
            DEVICE,
            "./DMAcc/a1?prop=ACL",
            b"Add=srv1&Get=srv1&Replace=srv1&Delete=srv1",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            t.add(
                SRV1,
                "./DMAcc/a1/AppAddr/1/Addr",
                Some(b"http://127.0.0.1/"),
                None,
                None
            ),
            Err(StatusCode::BadRequest)
        );
        // Refused, and nothing of it is left: not even the AppAddr/1 on the way.
        assert_eq!(
            t.get(DEVICE, "./DMAcc/a1/AppAddr", 0, &mut buf)
                .unwrap()
                .len,
            0
        );
        t.add(
            SRV1,
            "./DMAcc/a1/AppAddr/1/Addr",
            Some(b"https://127.0.0.1/"),
            None,
            None,
        )
        .unwrap();
        t.add(
            SRV1,
            "./DMAcc/a1/AppAuth/c/AAuthName",
            Some(b"me"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            t.get(SRV1, "./DMAcc/a1/AppAuth/c/AAuthName", 0, &mut buf),
            Err(StatusCode::PermissionDenied)
        );
        assert_eq!(
            t.get(DEVICE, "./DMAcc/a1/AppAuth/c/AAuthName", 0, &mut buf)
                .unwrap()
                .len,
            2
        );
        // Exec reaches the handler with its data and correlator.
        assert_eq!(
            t.exec(DEVICE, "./DevDetail/Ext", b"go", Some("c-1")),
            Ok(ExecOutcome::Accepted)
        );
        // A node without a handler has nothing to execute.
        assert_eq!(
            t.exec(DEVICE, "./DevInfo/Ext", b"", None),
            Err(StatusCode::CommandNotAllowed)
        );
        t.delete(SRV1, "./DMAcc/a1/AppAuth/c", None).unwrap();
        // A large value streamed to the handler, chunk by chunk.
        let mut w = t
            .begin_write(DEVICE, "./DevDetail/SwV", false, Some(10), None)
            .unwrap();
        t.write_chunk(&mut w, b"2.0.").unwrap();
        t.write_chunk(&mut w, b"0-rc1").unwrap();
        t.write_chunk(&mut w, b"X").unwrap();
        assert_eq!(t.write_chunk(&mut w, b"Y"), Err(StatusCode::SizeMismatch));
        t.end_write(DEVICE, w, true, None).unwrap();
        let r = t.get(SRV1, "./DevDetail/SwV", 0, &mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"2.0.0-rc1X");
        // A short one is refused and not kept.
        let mut w = t
            .begin_write(DEVICE, "./DevDetail/OEM", false, Some(10), None)
            .unwrap();
        t.write_chunk(&mut w, b"abc").unwrap();
        assert_eq!(
            t.end_write(DEVICE, w, true, None),
            Err(StatusCode::SizeMismatch)
        );
        assert_eq!(
            t.get(SRV1, "./DevDetail/OEM", 0, &mut buf),
            Err(StatusCode::NotFound)
        );
    }
    assert_eq!(
        platform.execs,
        [(
            "DevDetail/Ext".to_string(),
            b"go".to_vec(),
            Some("c-1".to_string())
        )]
    );
    assert!(
        policy
            .added
            .contains(&"DMAcc/a1/AppAddr/1/Addr".to_string()),
        "{:?}",
        policy.added
    );
    assert_eq!(policy.deleted, ["DMAcc/a1/AppAuth/c"]);
}

#[test]
fn a_gate_refuses_every_change_while_closed() {
    let lock = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut gate = Gate(lock.clone());
    let handlers = HandlerTable::new([(id("./DMAcc/<x>"), &mut gate as &mut dyn NodeHandler)]);
    let mut t: Tree<Flash, _> = Tree::mount(
        storage::<64, 4096, 512>(),
        &STANDARD,
        blank(),
        handlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    t.add(DEVICE, "./DMAcc/a1/AppID", Some(b"w7"), None, None)
        .unwrap();
    lock.set(true);
    let denied = Err(StatusCode::PermissionDenied);
    assert_eq!(
        t.replace(DEVICE, "./DMAcc/a1/AppID", b"w8", None, None),
        denied
    );
    assert_eq!(
        t.add(DEVICE, "./DMAcc/a1/Name", Some(b"x"), None, None),
        denied
    );
    assert_eq!(t.delete(DEVICE, "./DMAcc/a1", None), denied);
    assert_eq!(t.add(DEVICE, "./DMAcc/a2", None, None, None), denied);
    // Reading is not a change.
    let mut buf = [0u8; 8];
    assert_eq!(
        t.get(DEVICE, "./DMAcc/a1/AppID", 0, &mut buf).unwrap().len,
        2
    );
    lock.set(false);
    t.replace(DEVICE, "./DMAcc/a1/AppID", b"w8", None, None)
        .unwrap();
}

/// Refuses every change while its lock is set.
struct Gate(std::rc::Rc<std::cell::Cell<bool>>);

impl NodeHandler for Gate {
    fn allow_change(&mut self, _: &NodeRef<'_>) -> Result<(), StatusCode> {
        if self.0.get() {
            Err(StatusCode::PermissionDenied)
        } else {
            Ok(())
        }
    }
}

#[test]
fn large_values_the_tree_keeps_are_staged_then_stored() {
    let mut t: Tree<Flash, iotadm::tree::NoHandlers> = Tree::mount(
        storage::<64, 4096, 512>(),
        &STANDARD,
        blank(),
        iotadm::tree::NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    t.add(
        DEVICE,
        "./DMAcc/a1/AppAuth/c/AAuthLevel",
        Some(b"CLCRED"),
        None,
        None,
    )
    .unwrap();
    let secret: Vec<u8> = (0..200u8).collect();
    let mut w = t
        .begin_write(
            DEVICE,
            "./DMAcc/a1/AppAuth/c/AAuthData",
            true,
            Some(secret.len() as u64),
            None,
        )
        .unwrap();
    for chunk in secret.chunks(33) {
        t.write_chunk(&mut w, chunk).unwrap();
    }
    t.end_write(DEVICE, w, true, Some(1)).unwrap();
    let mut buf = [0u8; 256];
    let r = t
        .get(DEVICE, "./DMAcc/a1/AppAuth/c/AAuthData", 0, &mut buf)
        .unwrap();
    assert_eq!(&buf[..r.len], &secret[..]);
    // Too big to keep: refused before a byte is taken.
    assert_eq!(
        t.begin_write(
            DEVICE,
            "./DMAcc/a1/AppAuth/c/AAuthData",
            false,
            Some(100_000),
            None
        )
        .err(),
        Some(StatusCode::RequestEntityTooLarge)
    );
    // A write without a size cannot be staged.
    assert_eq!(
        t.begin_write(DEVICE, "./DMAcc/a1/AppAuth/c/AAuthData", false, None, None)
            .err(),
        Some(StatusCode::IncompleteCommand)
    );
    // Survives a restart.
    let (flash, _) = t.into_parts();
    let mut t: Tree<Flash, iotadm::tree::NoHandlers> = Tree::mount(
        storage::<64, 4096, 512>(),
        &STANDARD,
        flash,
        iotadm::tree::NoHandlers,
        UriLimits::DEFAULT,
    )
    .unwrap();
    let r = t
        .get(DEVICE, "./DMAcc/a1/AppAuth/c/AAuthData", 0, &mut buf)
        .unwrap();
    assert_eq!(&buf[..r.len], &secret[..]);
}
