//! Index lint.
