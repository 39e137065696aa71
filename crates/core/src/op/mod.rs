//! Layers' forward and backward passes over flat NCHW buffers.

pub mod activation;
pub mod adaptive_pool;
pub mod avgpool;
pub mod conv2d;
pub mod conv2d_implicit;
pub mod conv2d_pointwise;
pub mod conv2d_winograd;
pub mod conv_transpose2d;
pub mod dense;
pub mod depthwise;
pub mod dropout;
pub mod geom;
pub mod im2col;
pub mod loss;
pub mod merge;
pub mod norm;
pub mod pool;
