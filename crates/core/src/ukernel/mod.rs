//! Microkernels: fixed-tile inner loops that allocate nothing and trust their callers' preconditions.
//! The name is the contract: `f32_gemm_4x8` computes a 4×8 tile of C from packed panels, `f32_igemm_4x8`
//! the same tile reading B's rows through an offset table, `f32_dwconv_rows` a depthwise convolution's output
//! rows from taps found through an offset table, `f32_dwconv_wgrad_row` one output row's contribution to
//! its weight gradient.

pub mod f32_dwconv_rows;
pub mod f32_dwconv_wgrad_row;
pub mod f32_gemm_4x8;
pub mod f32_igemm_4x8;
pub mod pack;
