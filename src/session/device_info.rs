//! What the device says about itself: the leaves of `./DevInfo` and `./DevDetail`
//! (OMA-TS-DM_StdObj 1.2 §5.1, §5.2) that only the integrator knows. The DDF declares every
//! one of them mandatory, so a device is set up with all of them, and a session does not
//! start while one is missing: a server never reads an empty `FwV` or `OEM`.
//!
//! The other DevDetail leaves are the engine's own and need nothing from the integrator:
//! `URI/MaxDepth`, `URI/MaxTotLen` and `URI/MaxSegLen` are the tree's limits, and `LrgObj`
//! is `true` when the session receives and sends large objects (the feature
//! `large-objects`), `false` without.

use embedded_storage::nor_flash::NorFlash;

use crate::codes::StatusCode;
use crate::limits::SERVER_ID_LEN;
use crate::tree::{Handlers, Principal, Tree};

/// The device's identity and versions, as `./DevInfo` and `./DevDetail` report them.
///
/// ```
/// use iotadm::session::DeviceInfo;
///
/// let info = DeviceInfo {
///     dev_id: "MEID:A0000012345678",
///     man: "Example Handsets",
///     model: "EH-100",
///     dm_version: "1.2",
///     lang: "en-US",
///     dev_type: "phone",
///     oem: "Example Handsets",
///     fw_version: "1.0.3",
///     sw_version: "BB-2.4",
///     hw_version: "rev C",
/// };
/// assert_eq!(info.check(), Ok(()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo<'a> {
    /// `DevInfo/DevId`: the device's unique id as a URN, e.g. `MEID:A0000012345678`,
    /// `IMEI:490154203237518`; the `Source/LocURI` of every client message.
    pub dev_id: &'a str,
    /// `DevInfo/Man`: the manufacturer.
    pub man: &'a str,
    /// `DevInfo/Mod`: the model.
    pub model: &'a str,
    /// `DevInfo/DmV`: the DM client's version, a string of the maker's.
    pub dm_version: &'a str,
    /// `DevInfo/Lang`: the language in use (RFC 1766), e.g. `en-US`.
    pub lang: &'a str,
    /// `DevDetail/DevTyp`: the kind of device, e.g. `phone`.
    pub dev_type: &'a str,
    /// `DevDetail/OEM`: the original equipment manufacturer.
    pub oem: &'a str,
    /// `DevDetail/FwV`: the firmware version.
    pub fw_version: &'a str,
    /// `DevDetail/SwV`: the software version.
    pub sw_version: &'a str,
    /// `DevDetail/HwV`: the hardware version.
    pub hw_version: &'a str,
}

/// The leaves a [`DeviceInfo`] sets, in the order of its fields.
const LEAVES: [&str; 10] = [
    "./DevInfo/DevId",
    "./DevInfo/Man",
    "./DevInfo/Mod",
    "./DevInfo/DmV",
    "./DevInfo/Lang",
    "./DevDetail/DevTyp",
    "./DevDetail/OEM",
    "./DevDetail/FwV",
    "./DevDetail/SwV",
    "./DevDetail/HwV",
];

/// Why a [`DeviceInfo`] cannot be used, or a tree lacks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DeviceInfoError {
    /// The leaf has no value.
    Missing(&'static str),
    /// `DevId` is not a URN (`<scheme>:<id>`), or is longer than a session keeps.
    BadDevId,
    /// The tree refused the value (its status).
    Refused(&'static str, StatusCode),
}

impl core::fmt::Display for DeviceInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Missing(leaf) => write!(f, "{leaf} has no value (set it with DeviceInfo)"),
            Self::BadDevId => write!(
                f,
                "./DevInfo/DevId must be a URN such as IMEI:... or MEID:..., at most {SERVER_ID_LEN} bytes"
            ),
            Self::Refused(leaf, s) => write!(f, "{leaf} refused ({})", u16::from(*s)),
        }
    }
}

impl core::error::Error for DeviceInfoError {}

impl<'a> DeviceInfo<'a> {
    /// The URIs of the leaves, in the order of the fields (and of [`values`](Self::values)).
    pub const LEAVES: [&'static str; 10] = LEAVES;

    /// The values, in the order of the fields.
    pub fn values(&self) -> [&'a str; 10] {
        [
            self.dev_id,
            self.man,
            self.model,
            self.dm_version,
            self.lang,
            self.dev_type,
            self.oem,
            self.fw_version,
            self.sw_version,
            self.hw_version,
        ]
    }

    /// The information from its values, in the order of [`LEAVES`](Self::LEAVES).
    pub fn from_values(v: [&'a str; 10]) -> Self {
        let [dev_id, man, model, dm_version, lang, dev_type, oem, fw_version, sw_version, hw_version] =
            v;
        DeviceInfo {
            dev_id,
            man,
            model,
            dm_version,
            lang,
            dev_type,
            oem,
            fw_version,
            sw_version,
            hw_version,
        }
    }

    /// Whether every value is given and `DevId` is a URN.
    pub fn check(&self) -> Result<(), DeviceInfoError> {
        for (leaf, value) in LEAVES.iter().zip(self.values()) {
            if value.is_empty() {
                return Err(DeviceInfoError::Missing(leaf));
            }
        }
        check_dev_id(self.dev_id)
    }

    /// Writes the values into the tree, as the device; a value already stored writes
    /// nothing, so a device calls this at every start with what its build says (a firmware
    /// update changes `FwV` then). A leaf a node handler keeps is the handler's to serve
    /// and is not written.
    pub fn store<F: NorFlash, H: Handlers>(
        &self,
        tree: &mut Tree<'_, F, H>,
    ) -> Result<(), DeviceInfoError> {
        self.check()?;
        for (leaf, value) in LEAVES.iter().zip(self.values()) {
            let refused = |s| DeviceInfoError::Refused(leaf, s);
            if !tree.handler_keeps(leaf).map_err(refused)? {
                tree.replace(Principal::Device, leaf, value.as_bytes(), None, None)
                    .map_err(refused)?;
            }
        }
        Ok(())
    }
}

fn check_dev_id(id: &str) -> Result<(), DeviceInfoError> {
    let urn = id
        .split_once(':')
        .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty());
    if urn && id.len() <= SERVER_ID_LEN {
        Ok(())
    } else {
        Err(DeviceInfoError::BadDevId)
    }
}

/// Checks that the tree holds a device information: every leaf set, `DevId` a URN.
/// Out of line, as the session's other set-up steps are.
#[inline(never)]
pub(crate) fn check_tree<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
) -> Result<(), DeviceInfoError> {
    for leaf in LEAVES {
        let total = tree
            .get(Principal::Device, leaf, 0, &mut [])
            .map_or(0, |r| r.total);
        if total == 0 {
            return Err(DeviceInfoError::Missing(leaf));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_ids_are_urns() {
        assert!(check_dev_id("IMEI:490154203237518").is_ok());
        assert!(check_dev_id("MEID:A0000012345678").is_ok());
        for bad in ["490154203237518", ":123", "IMEI:", ""] {
            assert_eq!(check_dev_id(bad), Err(DeviceInfoError::BadDevId), "{bad}");
        }
    }
}
