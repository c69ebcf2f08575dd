//! The FUMO management object (OMA-TS-DM-FUMO 1.0): its state machine, its result codes and
//! the Generic Alert reports that carry them. It decides what happens to a firmware package;
//! how bytes reach the device and how they reach flash belong to the session and to
//! [`crate::firmware`].

mod codes;

pub use codes::{ResultCode, State};
