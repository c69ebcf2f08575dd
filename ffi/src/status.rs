//! The integers every function returns, and their names.
//!
//! `IOTADM_OK` is 0. Local failures are negative `IOTADM_ERR_*` constants. When the tree
//! refuses an operation (a missing node, a value of the wrong format), the function
//! returns the positive DM status code a server would get for it, so C code can tell "not
//! found" (404) from "not allowed" (405) without another table. Node handlers return DM
//! status codes too (`IOTADM_STATUS_*`). `iotadm_strerror` names any of these. This module
//! never touches a device.

use core::ffi::{c_char, c_int, CStr};

use iotadm::codes::StatusCode;
use iotadm::session;
use iotadm::tree::TreeError;

/// Success.
pub const IOTADM_OK: c_int = 0;
/// A pointer that must not be `NULL` is, a string is not UTF-8, or a value is out of range.
pub const IOTADM_ERR_INVALID_ARGUMENT: c_int = -1;
/// The device storage is smaller than `iotadm_build_info.device_size` or not aligned to
/// `device_align`.
pub const IOTADM_ERR_STORAGE: c_int = -2;
/// A flash callback reported a failure.
pub const IOTADM_ERR_FLASH: c_int = -3;
/// A flash region does not suit its use: its size, write or erase size.
pub const IOTADM_ERR_FLASH_LAYOUT: c_int = -4;
/// A fixed capacity is exceeded: the stored tree does not fit the build's tree capacities,
/// or more node handlers than the build binds.
pub const IOTADM_ERR_CAPACITY: c_int = -5;
/// A node handler names a node that the static tree (the DDF) does not have, or one
/// already bound.
pub const IOTADM_ERR_UNKNOWN_NODE: c_int = -6;
/// A buffer is too small: the receive buffer for the session's MaxMsgSize, the transmit
/// buffer for one command, or an output buffer for its value.
pub const IOTADM_ERR_BUFFER_TOO_SMALL: c_int = -7;
/// The transport callback reported a failure.
pub const IOTADM_ERR_TRANSPORT: c_int = -8;
/// The server sent a message that does not decode, or one of another session or protocol.
pub const IOTADM_ERR_PROTOCOL: c_int = -9;
/// The server refused the client's credentials after every retry.
pub const IOTADM_ERR_CREDENTIALS_REJECTED: c_int = -10;
/// The server failed to authenticate itself too often.
pub const IOTADM_ERR_SERVER_NOT_AUTHENTICATED: c_int = -11;
/// The DM account is missing or unusable (a field too long, no server credentials).
pub const IOTADM_ERR_ACCOUNT: c_int = -12;
/// A package 0 is forged, truncated or not for this device.
pub const IOTADM_ERR_NOTIFICATION: c_int = -13;
/// The user declined the session a package 0 asked for.
pub const IOTADM_ERR_DECLINED: c_int = -14;
/// A bootstrap could not be applied; nothing of it was stored.
pub const IOTADM_ERR_BOOTSTRAP: c_int = -15;
/// A bootstrap is not authentic; nothing of it was stored.
pub const IOTADM_ERR_BOOTSTRAP_AUTH: c_int = -16;
/// Credentials could not be computed or checked.
pub const IOTADM_ERR_AUTH: c_int = -17;
/// A client message could not be written.
pub const IOTADM_ERR_ENCODE: c_int = -18;
/// The device was opened without FUMO.
pub const IOTADM_ERR_NO_FUMO: c_int = -19;
/// The call does not fit the current state (e.g. confirming an update that is not on
/// trial); nothing changed.
pub const IOTADM_ERR_BAD_STATE: c_int = -20;
/// The firmware installer failed; the update goes on from where it stopped after a
/// restart.
pub const IOTADM_ERR_INSTALLER: c_int = -21;
/// The device information (`iotadm_device_info`) is missing a value, or `dev_id` is not a
/// URN; or a session found `./DevInfo` or `./DevDetail` incomplete.
pub const IOTADM_ERR_DEVICE_INFO: c_int = -22;
/// The server challenged for a weaker authentication scheme than the account names; the
/// session ended without sending such credentials.
pub const IOTADM_ERR_AUTH_DOWNGRADE: c_int = -23;
/// The server's MaxMsgSize cannot hold a message header and the next command.
pub const IOTADM_ERR_SERVER_MAX_MSG_SIZE: c_int = -24;
/// The session reached its bound of messages or of time before the server ended it.
pub const IOTADM_ERR_SESSION_LIMIT: c_int = -25;
/// The tree's store was written by a newer library, or holds a record that cannot be
/// read; it was left as it is.
pub const IOTADM_ERR_STORE_FORMAT: c_int = -26;

/// DM status 200: done. What a node handler returns on success.
pub const IOTADM_STATUS_OK: c_int = 200;
/// DM status 202: accepted, the result follows later. An `exec` handler's answer for work
/// it finishes after the command.
pub const IOTADM_STATUS_ACCEPTED: c_int = 202;
/// DM status 400: the request is malformed (e.g. a value out of range).
pub const IOTADM_STATUS_BAD_REQUEST: c_int = 400;
/// DM status 404: no such node.
pub const IOTADM_STATUS_NOT_FOUND: c_int = 404;
/// DM status 405: the command is not allowed on this node.
pub const IOTADM_STATUS_COMMAND_NOT_ALLOWED: c_int = 405;
/// DM status 413: the value is larger than the node can hold.
pub const IOTADM_STATUS_REQUEST_ENTITY_TOO_LARGE: c_int = 413;
/// DM status 425: the one asking may not do this (what an ACL refusal answers).
pub const IOTADM_STATUS_PERMISSION_DENIED: c_int = 425;
/// DM status 500: the command failed.
pub const IOTADM_STATUS_COMMAND_FAILED: c_int = 500;

/// A DM status code as a result.
pub(crate) fn status(code: StatusCode) -> c_int {
    c_int::from(u16::from(code))
}

/// A DM status code returned by C code: codes outside 100-599 become 500.
pub(crate) fn status_from_c(code: c_int) -> StatusCode {
    u16::try_from(code)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .map_or(StatusCode::CommandFailed, StatusCode::from)
}

/// The result for a session failure.
pub(crate) fn session_error(e: &session::Error) -> c_int {
    use session::Error as E;
    match e {
        E::Decode(_) | E::WrongSession | E::PackageInterrupted => IOTADM_ERR_PROTOCOL,
        E::Encode(_) => IOTADM_ERR_ENCODE,
        E::MessageTooSmall => IOTADM_ERR_BUFFER_TOO_SMALL,
        E::Rejected(_) => IOTADM_ERR_CREDENTIALS_REJECTED,
        E::ServerNotAuthenticated => IOTADM_ERR_SERVER_NOT_AUTHENTICATED,
        E::Account(_) => IOTADM_ERR_ACCOUNT,
        E::DeviceInfo(_) => IOTADM_ERR_DEVICE_INFO,
        E::AuthDowngrade(_) => IOTADM_ERR_AUTH_DOWNGRADE,
        E::ServerMaxMsgSize { .. } => IOTADM_ERR_SERVER_MAX_MSG_SIZE,
        E::Limit(_) => IOTADM_ERR_SESSION_LIMIT,
        E::Auth(_) => IOTADM_ERR_AUTH,
        E::Notification(_) => IOTADM_ERR_NOTIFICATION,
        E::Declined => IOTADM_ERR_DECLINED,
        E::Bootstrap(_) => IOTADM_ERR_BOOTSTRAP,
        E::BootstrapAuth(_) => IOTADM_ERR_BOOTSTRAP_AUTH,
        E::Finished => IOTADM_ERR_BAD_STATE,
        _ => IOTADM_ERR_BAD_STATE,
    }
}

/// The result for a tree that could not be mounted.
pub(crate) fn tree_error(e: TreeError) -> c_int {
    use iotadm::tree::StoreError;
    match e {
        TreeError::Store(StoreError::Flash(_)) => IOTADM_ERR_FLASH,
        TreeError::Store(StoreError::Layout) => IOTADM_ERR_FLASH_LAYOUT,
        TreeError::Store(StoreError::Full) | TreeError::Capacity(_) => IOTADM_ERR_CAPACITY,
        TreeError::Format(_) | TreeError::Corrupt => IOTADM_ERR_STORE_FORMAT,
        _ => IOTADM_ERR_FLASH,
    }
}

/// The result for a firmware installer failure.
pub(crate) fn installer_error(e: iotadm::firmware::Error) -> c_int {
    use iotadm::firmware::Error as E;
    match e {
        E::Layout => IOTADM_ERR_FLASH_LAYOUT,
        E::Flash(_) => IOTADM_ERR_FLASH,
        E::BadState => IOTADM_ERR_BAD_STATE,
        _ => IOTADM_ERR_INSTALLER,
    }
}

/// The result for a FUMO failure.
pub(crate) fn fumo_error(e: iotadm::fumo::Error) -> c_int {
    use iotadm::fumo::Error as E;
    match e {
        E::Flash(_) => IOTADM_ERR_FLASH,
        E::Layout => IOTADM_ERR_FLASH_LAYOUT,
        E::Installer(e) => installer_error(e),
        E::BadState => IOTADM_ERR_BAD_STATE,
        E::Schema => IOTADM_ERR_UNKNOWN_NODE,
        _ => IOTADM_ERR_INSTALLER,
    }
}

/// The name of every negative result, by `-code`.
const ERRORS: [&CStr; 27] = [
    c"success",
    c"invalid argument",
    c"device storage too small or misaligned",
    c"flash operation failed",
    c"flash region unsuitable",
    c"capacity exceeded",
    c"no such node in the static tree, or already bound",
    c"buffer too small",
    c"transport failed",
    c"server message malformed or of another session",
    c"server refused the credentials",
    c"server failed to authenticate",
    c"DM account missing or unusable",
    c"package 0 forged, truncated or not for this device",
    c"user declined the session",
    c"bootstrap refused",
    c"bootstrap not authentic",
    c"credentials could not be computed",
    c"client message could not be written",
    c"device opened without FUMO",
    c"not allowed in the current state",
    c"firmware installer failed",
    c"device information missing or invalid",
    c"server asked for weaker authentication",
    c"server's MaxMsgSize too small",
    c"session went on too long",
    c"tree store of a newer format or unreadable",
];

/// The DM status codes with a name.
const STATUSES: [(u16, &CStr); 34] = [
    (101, c"in progress"),
    (200, c"OK"),
    (202, c"accepted for processing"),
    (212, c"authentication accepted"),
    (213, c"chunked item accepted"),
    (214, c"operation cancelled"),
    (215, c"not executed"),
    (216, c"atomic roll back OK"),
    (304, c"not modified"),
    (400, c"bad request"),
    (401, c"invalid credentials"),
    (403, c"forbidden"),
    (404, c"not found"),
    (405, c"command not allowed"),
    (406, c"optional feature not supported"),
    (407, c"missing credentials"),
    (408, c"request timeout"),
    (412, c"incomplete command"),
    (413, c"request entity too large"),
    (414, c"URI too long"),
    (415, c"unsupported media type or format"),
    (416, c"requested range not satisfiable"),
    (418, c"already exists"),
    (420, c"device full"),
    (424, c"size mismatch"),
    (425, c"permission denied"),
    (500, c"command failed"),
    (501, c"command not implemented"),
    (503, c"service unavailable"),
    (506, c"processing error"),
    (507, c"atomic failed"),
    (510, c"data store failure"),
    (516, c"atomic roll back failed"),
    (517, c"atomic response too large"),
];

/// The name of a result: `IOTADM_OK`, an `IOTADM_ERR_*` code, or a DM status code.
///
/// Returns a static, NUL-terminated string that is never `NULL` and never freed; codes
/// without a name get a generic one.
#[no_mangle]
pub extern "C" fn iotadm_strerror(code: c_int) -> *const c_char {
    let name = if code <= 0 {
        code.checked_neg()
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| ERRORS.get(i))
            .copied()
            .unwrap_or(c"unknown error")
    } else {
        match u16::try_from(code) {
            Ok(c) if (100..=599).contains(&c) => STATUSES
                .iter()
                .find(|(s, _)| *s == c)
                .map_or(c"DM status", |(_, n)| *n),
            _ => c"unknown error",
        }
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: c_int) -> &'static str {
        // SAFETY: iotadm_strerror returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(iotadm_strerror(code)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn every_error_code_has_its_own_name() {
        let codes = [
            IOTADM_OK,
            IOTADM_ERR_INVALID_ARGUMENT,
            IOTADM_ERR_STORAGE,
            IOTADM_ERR_FLASH,
            IOTADM_ERR_FLASH_LAYOUT,
            IOTADM_ERR_CAPACITY,
            IOTADM_ERR_UNKNOWN_NODE,
            IOTADM_ERR_BUFFER_TOO_SMALL,
            IOTADM_ERR_TRANSPORT,
            IOTADM_ERR_PROTOCOL,
            IOTADM_ERR_CREDENTIALS_REJECTED,
            IOTADM_ERR_SERVER_NOT_AUTHENTICATED,
            IOTADM_ERR_ACCOUNT,
            IOTADM_ERR_NOTIFICATION,
            IOTADM_ERR_DECLINED,
            IOTADM_ERR_BOOTSTRAP,
            IOTADM_ERR_BOOTSTRAP_AUTH,
            IOTADM_ERR_AUTH,
            IOTADM_ERR_ENCODE,
            IOTADM_ERR_NO_FUMO,
            IOTADM_ERR_BAD_STATE,
            IOTADM_ERR_INSTALLER,
            IOTADM_ERR_DEVICE_INFO,
            IOTADM_ERR_AUTH_DOWNGRADE,
            IOTADM_ERR_SERVER_MAX_MSG_SIZE,
            IOTADM_ERR_SESSION_LIMIT,
            IOTADM_ERR_STORE_FORMAT,
        ];
        // The codes run from 0 down without a gap, one name each.
        assert_eq!(codes.len(), ERRORS.len());
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(*code, -(i as c_int));
        }
        let mut names: std::vec::Vec<&str> = codes.iter().map(|&c| name(c)).collect();
        assert_eq!(names[0], "success");
        assert_eq!(name(IOTADM_ERR_TRANSPORT), "transport failed");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), codes.len(), "names are distinct");
    }

    #[test]
    fn status_codes_are_named_and_others_are_not_misnamed() {
        assert_eq!(name(404), "not found");
        assert_eq!(
            name(IOTADM_STATUS_COMMAND_NOT_ALLOWED),
            "command not allowed"
        );
        assert_eq!(name(299), "DM status");
        assert_eq!(name(-27), "unknown error");
        assert_eq!(name(c_int::MIN), "unknown error");
        assert_eq!(name(70_000), "unknown error");
        assert_eq!(name(42), "unknown error");
        // The table agrees with the core's status codes.
        for (code, _) in STATUSES {
            assert!(
                !matches!(StatusCode::from(code), StatusCode::Unknown(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn statuses_from_c_stay_in_range() {
        assert_eq!(status_from_c(404), StatusCode::NotFound);
        assert_eq!(status_from_c(0), StatusCode::CommandFailed);
        assert_eq!(status_from_c(-3), StatusCode::CommandFailed);
        assert_eq!(status_from_c(600), StatusCode::CommandFailed);
        assert_eq!(status(StatusCode::PermissionDenied), 425);
    }
}
