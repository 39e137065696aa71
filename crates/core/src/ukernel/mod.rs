//! Microkernels: fixed-tile inner loops that allocate nothing and trust their callers' preconditions.
//! The name is the contract: `f32_gemm_4x8` computes a 4×8 tile of C from packed panels.

pub mod f32_gemm_4x8;
pub mod pack;
