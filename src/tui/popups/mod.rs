//! Popups, one file each, drawn above the body.

pub mod confirm;
pub mod help;
pub mod messages;
pub mod secret;
