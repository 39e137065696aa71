//! wasmcnn's core: CNN layers' forward/backward passes and fused optimizer steps over flat f32 buffers.
//!
//! `op` holds the kernels (a layer's forward and backward over slices); `operator` the operator objects
//! the ABI creates and runs (descriptors validated once, io blocks of buffer addresses checked per call).
//!
//! Layout: activations NCHW, conv weights OIHW, dense weights `out × in` (PyTorch's conventions, so PyTorch
//! weights load as they are). Everything is plain Rust that builds and tests natively; the wasm crate only
//! adds `extern "C"` exports. SIMD comes from `simd::F32x4`, which is wasm SIMD128 on wasm32 and a portable
//! array elsewhere.

pub mod error;
pub mod gemm;
pub mod op;
pub mod operator;
pub mod optim;
pub mod par;
pub mod simd;
pub mod ukernel;
pub mod vmath;

#[cfg(test)]
pub(crate) mod testutil;
