//! Creating a suggested index.
pub struct CreatePlan;
pub struct Created;
