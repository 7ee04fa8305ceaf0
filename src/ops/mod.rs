//! Operating firebreak: `setup` (the evidence bucket, keys and queue) and `drill` (every
//! playbook end to end against real or emulated AWS).

pub mod drill;
pub mod setup;
