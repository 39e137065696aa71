//! wasmcnn's wasm32 face: `#[no_mangle] extern "C"` exports over `wasmcnn-core`, nothing else.
//!
//! Every function takes raw pointers into the module's linear memory plus sizes, and checks them: sizes
//! with checked arithmetic, buffers against the memory's current size. Layers run as operator objects
//! (`op_exports`); the TypeScript loader owns every allocation made through `wcnn_alloc`. A null pointer
//! means "not given" for optional buffers.

pub mod exports;
pub mod op_exports;
pub mod optim_exports;
pub mod optim_table_exports;
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub mod threads;
