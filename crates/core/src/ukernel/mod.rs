//! Microkernels: fixed-tile inner loops that allocate nothing and trust their callers' preconditions.
//! The name is the contract: `f32_gemm_4x8` computes a 4×8 tile of C from packed panels, `f32_igemm_4x8`
//! the same tile reading B's rows through an offset table.

pub mod f32_gemm_4x8;
pub mod f32_igemm_4x8;
pub mod pack;
