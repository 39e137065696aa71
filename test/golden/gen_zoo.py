"""The state_dict keys and shapes of the model zoo's torch twins, for test/zoo.test.ts.

torchvision 0.14's resnet18, resnet34 and mobilenet_v2 (at two width multipliers), and He et al.'s CIFAR
ResNet-20 written in torchvision's style (BasicBlock with projection shortcuts), which the zoo mirrors.
Run: /usr/bin/python3 test/golden/gen_zoo.py (Debian python3-torch 1.13 + python3-torchvision 0.14).
"""
import json
import os

import torch
import torch.nn as nn
import torchvision

from torchvision.models.resnet import BasicBlock


class ResNetCifar(nn.Module):
    """He et al. 2016, section 4.2: 3×3 conv of 16, three stages of n blocks (16, 32, 64), avgpool, fc."""

    def __init__(self, depth=20, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.inplanes = 16
        self.layer1 = self._stage(16, n, 1)
        self.layer2 = self._stage(32, n, 2)
        self.layer3 = self._stage(64, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def _stage(self, planes, n, stride):
        layers = []
        for i in range(n):
            s = stride if i == 0 else 1
            down = None
            if s != 1 or self.inplanes != planes:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, s, bias=False), nn.BatchNorm2d(planes))
            layers.append(BasicBlock(self.inplanes, planes, s, down))
            self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def keys(m):
    return [[k, list(v.shape)] for k, v in m.state_dict().items()]


def main():
    out = {
        "resnet18": keys(torchvision.models.resnet18(num_classes=10)),
        "resnet34": keys(torchvision.models.resnet34()),
        "mobilenet_v2": keys(torchvision.models.mobilenet_v2()),
        "mobilenet_v2_0.5": keys(torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10)),
        "resnet20": keys(ResNetCifar(20)),
        "resnet56": keys(ResNetCifar(56)),
    }
    path = os.path.join(os.path.dirname(__file__), "zoo_keys.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(path, {k: len(v) for k, v in out.items()})


if __name__ == "__main__":
    main()
