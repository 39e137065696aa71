// The model zoo: architectures and names identical to torchvision's (and the papers'), as plain specs
// for `engine.model(spec)`.
export { resnet18, resnet34, resnetCifar, basicBlock, type ResNetOptions, type ResNetCifarOptions } from './resnet.js';
export { mobilenetV2, makeDivisible, type MobileNetV2Options } from './mobilenet.js';
export { lenet, type LeNetOptions } from './lenet.js';
