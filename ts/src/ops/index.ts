// The low-level functional API: kernels on caller-owned Float32Arrays, for users who bring their own loop
// and for independent verification. Each call copies in, runs one kernel, copies out, frees its temporaries.
export { conv2d, conv2dBackward, type Conv2dArgs, type Conv2dBackwardArgs, type Conv2dGrads, type Conv2dResult } from './conv2d.js';
export { maxPool2d, maxPool2dBackward, type MaxPool2dArgs } from './pool.js';
export { dense, denseBackward, type DenseArgs } from './dense.js';
export { relu, reluBackward, softmaxCrossEntropy } from './activation.js';
