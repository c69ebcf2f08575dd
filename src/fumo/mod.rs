//! The FUMO management object (OMA-TS-DM-FUMO 1.0): its state machine, its result codes and
//! the Generic Alert reports that carry them. It decides what happens to a firmware package;
//! how bytes reach the device and how they reach flash belong to the session and to
//! [`crate::firmware`].

mod codes;

pub use codes::{ResultCode, State};

use crate::codes::StatusCode;

/// Whether a server may start a firmware update now. The device's protection of service
/// programming (CDMA SPL and SPASM, IOTA FOTA-2 and FOTA-3) decides; a refusal is the
/// status the `Exec` gets.
pub trait FirmwareGate {
    /// May `server` (`None`: the device itself) execute a firmware update now?
    fn allow_update(&mut self, server: Option<&str>) -> Result<(), StatusCode>;
}

/// A device that does not gate firmware updates beyond the ACL.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ungated;

impl FirmwareGate for Ungated {
    fn allow_update(&mut self, _server: Option<&str>) -> Result<(), StatusCode> {
        Ok(())
    }
}
