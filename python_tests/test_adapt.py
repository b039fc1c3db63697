"""`adapt`: a user's own classifier as a Classifier, through hooks, unchanged; the README's quick
start on a torchvision-shaped ResNet, run as written; `PaddedReconstructor`."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from ood_ext.detectors import Energy, Mahalanobis, ReAct
from ood_ext.models import Classifier, PaddedReconstructor, adapt

README = Path(__file__).resolve().parents[1] / "README.md"


class Block(nn.Module):
    def __init__(self, channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(channels // stride, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None if stride == 1 else nn.Sequential(nn.Conv2d(channels // stride, channels, 1, stride,
                                                                           bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class TorchvisionStyleResNet(nn.Module):
    """torchvision's ResNet module tree (conv1, bn1, relu, maxpool, layer1–2, avgpool, fc)."""

    def __init__(self, classes=4):
        super().__init__()
        self.conv1, self.bn1, self.relu = nn.Conv2d(1, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.maxpool = nn.MaxPool2d(2)
        self.layer1, self.layer2 = nn.Sequential(Block(8, 1)), nn.Sequential(Block(16, 2))
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(self.layer2(self.layer1(x))), 1))


def test_features_and_head_are_the_users_own_in_one_pass(device):
    torch.manual_seed(0)
    model = TorchvisionStyleResNet().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    classifier = adapt(model)
    assert isinstance(classifier, Classifier)
    x = torch.rand(5, 1, 16, 16)
    model.to(device)
    calls = []
    model.layer1.register_forward_hook(lambda *args: calls.append(1))
    features = classifier.features(x)
    assert len(calls) == 1, "one forward pass of the user's model"
    with torch.no_grad():
        want = torch.flatten(model.avgpool(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(
            model.conv1(x))))))), 1)
    torch.testing.assert_close(features, want)
    torch.testing.assert_close(classifier.head(features), model(x))
    torch.testing.assert_close(classifier(x), model(x))
    assert not model.avgpool._forward_hooks, "no hook left behind"
    assert all(torch.equal(v, before[k].to(v.device)) for k, v in model.state_dict().items())


def test_detectors_run_on_an_adapted_network_and_keep_its_mode(device):
    torch.manual_seed(0)
    model = TorchvisionStyleResNet().to(device)
    x, y = torch.rand(64, 1, 16, 16), torch.arange(64) % 4
    for detector in (Mahalanobis(adapt(model), progress=False), ReAct(adapt(model), progress=False),
                     Energy(adapt(model), progress=False)):
        model.train()
        scores = detector.fit([(x, y)]).score(x[:8])
        assert scores.shape == (8,) and torch.isfinite(scores).all()
        assert model.training and model.bn1.training, "the user's train mode restored"


@pytest.mark.parametrize("names,message", [
    (dict(features="avgpol"), r"no submodule 'avgpol' for features; did you mean 'avgpool'"),
    (dict(head="head"), r"no submodule 'head' for head"),
    (dict(head=""), "for head"),
])
def test_unknown_names_are_refused_with_a_suggestion(names, message):
    with pytest.raises(ValueError, match=message):
        adapt(TorchvisionStyleResNet(), **names)


def test_a_head_that_does_not_take_the_features_says_so():
    classifier = adapt(TorchvisionStyleResNet(), features="layer1", head="fc")
    features = classifier.features(torch.rand(2, 1, 16, 16))
    message = r"head 'fc' does not take the features of 'layer1' \(flattened to \[2, 512\]\)"
    with pytest.raises(ValueError, match=message):
        classifier.head(features)
    with pytest.raises(TypeError, match="needs an nn.Module"):
        adapt(lambda x: x)


def test_the_readme_quick_start_runs_as_written():
    text = README.read_text()
    block = re.search(r"## Your own network.*?```python\n(.*?)```", text, re.S)
    assert block, "README has the quick start"
    namespace: dict = {}
    exec(compile(block.group(1), "README quick start", "exec"), namespace)
    flagged, expected = namespace["flagged"], namespace["x"]
    assert flagged.dtype == torch.bool and flagged.shape == (len(expected),)


# ----- a fixed-size reconstructor on smaller images ------------------------------------------------------------
class _Shift(nn.Module):
    """Reconstructs 32 × 32 images only: adds the row index (so a wrong crop shows)."""

    def reconstruct(self, x):
        assert x.shape[-2:] == (32, 32), x.shape
        return x + torch.arange(32.0).view(32, 1)


def test_padded_reconstructor_pads_centred_and_crops_back():
    from ood_ext.data.images import to_tensor

    images = torch.rand(3, 1, 28, 27)
    wrapped = PaddedReconstructor(_Shift(), 32)
    out = wrapped.reconstruct(images)
    padded = to_tensor(images.numpy(), pad_to=32)  # the padding the 32 × 32 kinds' inputs get
    top = (32 - 28) // 2
    assert out.shape == images.shape
    torch.testing.assert_close(out, images + torch.arange(top, top + 28.0).view(28, 1))
    assert torch.equal(padded[..., top : top + 28, 2:29], images)
    assert list(wrapped.children()) == [wrapped.model]
    with pytest.raises(ValueError, match="do not fit in 32 × 32"):
        wrapped.reconstruct(torch.rand(1, 1, 33, 20))
    with pytest.raises(TypeError, match="reconstruct"):
        PaddedReconstructor(nn.Linear(2, 2), 32)
