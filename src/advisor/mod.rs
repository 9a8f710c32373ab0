//! Index advice (DESIGN.md section 6): suggestions from the workload, verified
//! with HypoPG where it exists, and index lint.

pub mod parse;
