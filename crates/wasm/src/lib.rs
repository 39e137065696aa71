//! wasmcnn's wasm32 face: `#[no_mangle] extern "C"` exports over `wasmcnn-core`, nothing else.
//!
//! Every function takes raw pointers into the module's linear memory plus sizes; the TypeScript loader
//! validates shapes and values first (so a bad call never reaches here), and owns every allocation made
//! through `wcnn_alloc`. A null pointer means "not given" for optional buffers.

pub mod exports;
pub mod optim_exports;
pub mod optim_table_exports;
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub mod threads;
