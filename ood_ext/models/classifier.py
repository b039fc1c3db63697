"""A small ResNet classifier for 28×28 / 32×32 images, with its penultimate features exposed."""

import torch
from torch import Tensor, nn


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a (projected when the shape changes) identity shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetClassifier(nn.Module):
    """conv → three stages (width, 2·width, 4·width; strides 1, 2, 2) of `blocks` BasicBlocks →
    global average pool → linear.

    ``features(x)`` [N, 4·width] are the penultimate activations (non-negative, after ReLU) used
    by ReAct and Mahalanobis; ``head(features)`` [N, classes] gives the logits.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16, blocks: int = 1):
        super().__init__()
        self.config = dict(in_channels=in_channels, num_classes=num_classes, width=width, blocks=blocks)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, c = [], width
        for i, c_out in enumerate((width, 2 * width, 4 * width)):
            for j in range(blocks):
                stages.append(BasicBlock(c, c_out, 2 if (i > 0 and j == 0) else 1))
                c = c_out
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(c, num_classes)
        self.feature_dim = c
        # Channels-last weights: oneDNN's convolutions run them about twice as fast on a CPU (4,250
        # against 2,130 images/s in eval, 1,530 against 950 in training, width 16, 2 cores), for
        # inputs in either layout; state dicts are unaffected.
        self.to(memory_format=torch.channels_last)

    def features(self, x: Tensor) -> Tensor:
        """[N, C, H, W] → penultimate features [N, 4·width]."""
        return self.stages(self.stem(x)).mean((2, 3))

    def head(self, features: Tensor) -> Tensor:
        """Penultimate features → logits [N, classes]."""
        return self.fc(features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
