//! opsdeck's core: connections, safety and audit, and the domain operations
//! shared by the CLI and the TUI. Nothing here draws or prints.

#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod advisor;
pub mod audit;
pub mod cache;
pub mod cli;
pub mod config;
pub mod conn;
pub mod drills;
pub mod error;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod migrations;
pub mod queries;
pub mod safety;
pub mod sandbox;
pub mod session;
pub mod signals;
pub mod stop;
pub mod tenants;
pub mod tui;
pub mod units;

pub use error::{Error, ExitCode, Result};
