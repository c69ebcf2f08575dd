//! The DM client firmware linked for slot A: the factory image.
#![no_std]
#![no_main]

use iotadm::firmware::Slot;

#[cortex_m_rt::entry]
fn main() -> ! {
    iotadm_qemu::app::main(Slot::A)
}
