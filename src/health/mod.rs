//! System health: the `overview` snapshot, its figures, what costs the most
//! right now, and the `doctor` checks.

pub mod doctor;
pub mod figures;
pub mod hot;
pub mod overview;
