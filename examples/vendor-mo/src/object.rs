//! [`VendorObject`]: the node handler of `./Vendor`, which keeps `./Vendor/Counter` and runs
//! `./Vendor/Reboot`.
//!
//! It is bound to `./Vendor` and so serves the whole subtree; it tells its nodes apart by
//! the typed ids the build script generated ([`nodes::vendor`](crate::dm::nodes::vendor)),
//! never by their paths.

use core::fmt::Write as _;

use iotadm::codes::StatusCode;
use iotadm::tree::{parse_int, ExecOutcome, NodeHandler, NodeRef};

use crate::dm::nodes::vendor;

/// The longest text of an `int`: `-2147483648`.
const INT_TEXT_LEN: usize = 11;

/// The vendor's object: the counter's value, and what the servers asked of it.
///
/// The counter lives here, not in the tree store: a real handset would keep it wherever
/// its own code keeps it (a register, a settings store), and the tree asks this handler
/// for it. A change within an `Atomic` is refused (406), since a rollback restores only
/// what the tree keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorObject {
    counter: i32,
    replaces: u32,
    reboot_requested: bool,
    in_atomic: bool,
}

impl VendorObject {
    /// The object with the counter at `counter` and nothing asked yet.
    pub const fn new(counter: i32) -> Self {
        VendorObject {
            counter,
            replaces: 0,
            reboot_requested: false,
            in_atomic: false,
        }
    }

    /// The counter's value.
    pub fn counter(&self) -> i32 {
        self.counter
    }

    /// How many times a server (or the device, through the tree) replaced the counter.
    pub fn replaces(&self) -> u32 {
        self.replaces
    }

    /// Whether a server executed `./Vendor/Reboot` and the reboot has not been taken yet.
    pub fn reboot_requested(&self) -> bool {
        self.reboot_requested
    }

    /// Takes the reboot request: whether there was one. The firmware calls this when the
    /// session is over, and restarts if it answers `true`.
    pub fn take_reboot_request(&mut self) -> bool {
        core::mem::replace(&mut self.reboot_requested, false)
    }

    /// The counter as DM `int` text.
    fn counter_text(&self) -> heapless::String<INT_TEXT_LEN> {
        let mut text = heapless::String::new();
        // Any i32 fits in INT_TEXT_LEN bytes, so this cannot fail.
        let _ = write!(text, "{}", self.counter);
        text
    }
}

impl Default for VendorObject {
    /// The counter at 0.
    fn default() -> Self {
        VendorObject::new(0)
    }
}

impl NodeHandler for VendorObject {
    fn stores_values(&self, node: &NodeRef<'_>) -> bool {
        node.def == vendor::COUNTER
    }

    fn read(
        &mut self,
        node: &NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        if node.def != vendor::COUNTER {
            return Err(StatusCode::CommandNotAllowed);
        }
        let text = self.counter_text();
        let rest = text.as_bytes().get(offset..).unwrap_or(&[]);
        let n = rest.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok((n, text.len()))
    }

    fn write(&mut self, node: &NodeRef<'_>, value: &[u8]) -> Result<(), StatusCode> {
        if node.def != vendor::COUNTER {
            return Err(StatusCode::CommandNotAllowed);
        }
        if self.in_atomic {
            return Err(StatusCode::OptionalFeatureNotSupported);
        }
        // The tree has checked the value against the node's format (`int`) already; the
        // handler checks again, since the number is what it keeps.
        self.counter = parse_int(value).ok_or(StatusCode::BadRequest)?;
        self.replaces = self.replaces.saturating_add(1);
        Ok(())
    }

    fn exec(
        &mut self,
        node: &NodeRef<'_>,
        _data: &[u8],
        _correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        if node.def != vendor::reboot::NODE {
            return Err(StatusCode::CommandNotAllowed);
        }
        // Noted only: the firmware restarts after the session, so that the server gets
        // its status first.
        self.reboot_requested = true;
        Ok(ExecOutcome::Done)
    }

    fn atomic_started(&mut self) {
        self.in_atomic = true;
    }

    fn atomic_ended(&mut self) {
        self.in_atomic = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(def: iotadm::schema::NodeId) -> NodeRef<'static> {
        NodeRef {
            def,
            path: "",
            server: Some("srv1"),
        }
    }

    #[test]
    fn reads_the_counter_from_any_offset() {
        let mut object = VendorObject::new(-1234);
        let mut out = [0u8; 3];
        assert_eq!(object.read(&at(vendor::COUNTER), 0, &mut out), Ok((3, 5)));
        assert_eq!(&out, b"-12");
        assert_eq!(object.read(&at(vendor::COUNTER), 3, &mut out), Ok((2, 5)));
        assert_eq!(&out[..2], b"34");
        assert_eq!(object.read(&at(vendor::COUNTER), 9, &mut out), Ok((0, 5)));
        assert_eq!(
            object.read(&at(vendor::reboot::NODE), 0, &mut out),
            Err(StatusCode::CommandNotAllowed)
        );
    }

    #[test]
    fn writes_only_integers_outside_atomic() {
        let mut object = VendorObject::new(0);
        assert_eq!(object.write(&at(vendor::COUNTER), b"-2147483648"), Ok(()));
        assert_eq!(object.counter(), i32::MIN);
        for bad in [&b"2147483648"[..], b"4x", b"", b"+", b" 1", b"\xff"] {
            assert_eq!(
                object.write(&at(vendor::COUNTER), bad),
                Err(StatusCode::BadRequest)
            );
        }
        object.atomic_started();
        assert_eq!(
            object.write(&at(vendor::COUNTER), b"5"),
            Err(StatusCode::OptionalFeatureNotSupported)
        );
        object.atomic_ended();
        assert_eq!(object.write(&at(vendor::COUNTER), b"+5"), Ok(()));
        assert_eq!((object.counter(), object.replaces()), (5, 2));
    }

    #[test]
    fn exec_of_reboot_is_noted_once() {
        let mut object = VendorObject::default();
        assert_eq!(
            object.exec(&at(vendor::COUNTER), b"", None),
            Err(StatusCode::CommandNotAllowed)
        );
        assert!(!object.reboot_requested());
        assert_eq!(
            object.exec(&at(vendor::reboot::NODE), b"", Some("c1")),
            Ok(ExecOutcome::Done)
        );
        assert!(object.take_reboot_request());
        assert!(!object.take_reboot_request());
    }
}
