//! CDMA provisioning (3GPP2 C.S0016, IS-683) over DM: the NAM parameters, roaming lists
//! and packet data parameters of `./CDMA` (described by `ddf/CDMA.xml`), their value
//! checks, and the service programming lock (SPL) and SPASM that decide which server may
//! change them.
//!
//! - [`params`]: each parameter as a newtype whose `TryFrom` accepts only values that fit
//!   its C.S0016 field, with the over-the-air encoding the baseband keeps.
//! - [`prl`]: roaming list checks: `PR_LIST_SIZE`, `PR_LIST_CRC`, the extended revision.
//! - [`PrlStore`]: where roaming lists live, with [`FlashPrlStore`], a power-safe flash
//!   store.
//! - [`ServiceLock`]: the SPL and SPASM state, persisted across reboots; it is also the
//!   [`FirmwareGate`](crate::fumo::FirmwareGate) that holds FUMO to FOTA-2 and FOTA-3.
//! - [`SpasmAuthenticator`]: the operator's SPASM algorithm, with [`HmacSpasm`] as a
//!   reference.
//! - [`Cdma`]: the node handler that joins all of it to the tree.
//!
//! The tree keeps the NAM parameters, so a NAM changed in one `Atomic` changes all or
//! nothing, also across a power cut. This module never touches the codec or the session:
//! it sees nodes, values and server ids.
//!
//! Nothing here allocates, and no input makes it panic.
//!
//! ```
//! use iotadm::cdma::params::{ImsiS, Mcc, Sid};
//! use iotadm::cdma::prl::{self, PrlKind};
//!
//! // MCC 310 is 209 in its 10-bit field (C.S0005 §2.3.1).
//! assert_eq!(Mcc::try_from(&b"310"[..]).unwrap().encoded(), 209);
//! assert!(ImsiS::try_from(&b"555012345"[..]).is_err()); // nine digits, not ten
//! assert!(Sid::try_from(&b"32768"[..]).is_err()); // 15 bits
//!
//! // A roaming list must carry its own length and CRC.
//! let mut list = [0u8; 12];
//! list[..2].copy_from_slice(&12u16.to_be_bytes());
//! let crc = prl::crc(&list[..10]);
//! list[10..].copy_from_slice(&crc.to_be_bytes());
//! assert!(prl::check(PrlKind::Prl, &list).is_ok());
//! list[5] ^= 1;
//! assert!(prl::check(PrlKind::Prl, &list).is_err());
//! ```

mod handler;
mod lock;
pub mod params;
pub mod prl;
mod spasm;
mod store;

pub use handler::Cdma;
pub use lock::{LockError, LockState, Policy, ServiceLock};
pub use params::{Limits, Param, ParamError};
pub use prl::{PrlError, PrlKind};
pub use spasm::{HmacSpasm, SpasmAuthenticator, HMAC_CHALLENGE_LEN};
pub use store::{FlashPrlStore, PrlList, PrlStore, PrlStoreError};
