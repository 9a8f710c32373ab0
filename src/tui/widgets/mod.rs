//! Shared widgets, one file each, used by every screen.

pub mod detail;
pub mod fit;
pub mod line_input;
pub mod progress;
pub mod sparkline;
pub mod table;
