//! NOR flash helpers shared by the layers that persist data: a flash simulated in RAM
//! ([`MemFlash`]), a wrapper that injects power loss and failures ([`FaultyFlash`]), and
//! windows that split one physical part into regions ([`Partition`]). With the `std`
//! feature, `FileFlash` keeps a flash in a host file.
//!
//! Everything here speaks `embedded_storage::nor_flash`, so the installer and the tree
//! store run unchanged on these and on a vendor's flash driver. Nothing here allocates
//! (except `FileFlash`, on the host) and no input makes it panic: misaligned or
//! out-of-range requests are errors.
//!
//! ```
//! use core::cell::RefCell;
//! use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
//! use iotadm::flash::{MemFlash, Partition};
//!
//! let mut mem: MemFlash<[u8; 4096], 1024, 8> = MemFlash::new([0; 4096]);
//! mem.erase_all();
//! let flash = RefCell::new(mem);
//! let mut state = Partition::new(&flash, 3072, 1024).unwrap();
//! state.write(0, b"iotadm!!").unwrap();
//! let mut back = [0u8; 8];
//! state.read(0, &mut back).unwrap();
//! assert_eq!(&back, b"iotadm!!");
//! assert_eq!(&flash.borrow().as_bytes()[3072..3080], b"iotadm!!");
//! ```

mod faulty;
mod mem;
mod partition;
pub(crate) mod ring;

pub use faulty::{FaultPlan, FaultyError, FaultyFlash, Tear};
pub use mem::{FlashStats, MemFlash, MemFlashError};
pub use partition::{Partition, PartitionError};
