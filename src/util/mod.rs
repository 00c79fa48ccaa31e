//! Utilities below every layer: the seeded random generator every split, draw and initial
//! weight uses, and the mean/std helpers of tables and results. They import nothing but the
//! error type.

pub mod rng;
pub mod stats;
