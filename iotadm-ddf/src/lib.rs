//! The static shape of an OMA DM management tree, as DDF documents describe it.
#![no_std]
