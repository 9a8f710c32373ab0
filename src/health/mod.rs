//! System health: the `overview` snapshot and the `doctor` checks.

pub mod doctor;
pub mod overview;
