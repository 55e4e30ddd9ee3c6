#!/usr/bin/python3
"""tools/ref/nn_ref.py - PyTorch 1.13 golden files for the C training engine.

Builds CNNIQA and (reduced-width) ResNet-18 + MetaIQA head in PyTorch with
weights and inputs from a closed-form integer formula that the C test
(tests/test_nn_torch.c) evaluates identically, runs forward, L1/MSE loss,
backward and one Adam step, and writes small text summaries (outputs, loss,
per-tensor gradient sums and samples, running statistics) to tests/data/nn/.

Run by developers (not CI):  /usr/bin/python3 tools/ref/nn_ref.py
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "nn")


def formula(t, numel):
    """val(t, i) = ((i*7919 + t*104729) mod 2003) / 1001 - 1, exactly as in C."""
    i = torch.arange(numel, dtype=torch.float64)
    v = torch.remainder(i * 7919 + t * 104729, 2003) / 1001.0 - 1.0
    return v.float()


def init_tensor(name, tensor, t):
    """Deterministic init by kind: weights scaled by 1/sqrt(fan_in), biases 0.1,
    batch-norm gamma 1 + 0.1 v, beta 0.1 v, PReLU 0.25 + 0.05 v."""
    v = formula(t, tensor.numel()).reshape(tensor.shape)
    if name.endswith("running_mean"):
        v = torch.zeros_like(v)
    elif name.endswith("running_var"):
        v = torch.ones_like(v)
    elif ".bn" in name or name.startswith("bn") or "downsample.1" in name:
        v = 1.0 + 0.1 * v if name.endswith("weight") else 0.1 * v
    elif "relu" in name:
        v = 0.25 + 0.05 * v
    elif name.endswith("bias"):
        v = 0.1 * v
    else:
        fan_in = tensor[0].numel()
        v = v / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.copy_(v)


def init_model(model):
    for t, (name, tensor) in enumerate(model.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            continue
        init_tensor(name, tensor, t)


def summary(f, tag, name, tensor):
    x = tensor.detach().double().reshape(-1)
    n = x.numel()
    idx = [(j * (n - 1)) // 7 for j in range(8)]
    vals = " ".join("%.9g" % x[i].item() for i in idx)
    f.write("%s %s %d %.9g %.9g %.9g %s\n" % (tag, name, n, x.sum().item(), x.abs().sum().item(),
                                           x.abs().max().item(), vals))


def values(f, tag, tensor):
    x = tensor.detach().double().reshape(-1)
    f.write("%s %d %s\n" % (tag, x.numel(), " ".join("%.9g" % v for v in x.tolist())))


class CNNIQA(nn.Module):
    def __init__(self, filters=50, kernel=7, fc=512):
        super().__init__()
        self.conv1 = nn.Conv2d(1, filters, kernel)
        self.fc1 = nn.Linear(2 * filters, fc)
        self.fc2 = nn.Linear(fc, fc)
        self.fc3 = nn.Linear(fc, 1)

    def forward(self, x):
        h = self.conv1(x)
        h1 = F.max_pool2d(h, (h.size(-2), h.size(-1)))
        h2 = -F.max_pool2d(-h, (h.size(-2), h.size(-1)))
        h = torch.cat((h1, h2), 1).flatten(1)
        h = F.relu(self.fc1(h))
        h = F.relu(self.fc2(h))
        return self.fc3(h)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class ResNet18(nn.Module):
    """torchvision.models.resnet18 layout and names, with a base width."""

    def __init__(self, width=64, classes=1000):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [w, 2 * w, 4 * w, 8 * w]
        cin = w
        for k, c in enumerate(chans):
            stride = 1 if k == 0 else 2
            setattr(self, "layer%d" % (k + 1), nn.Sequential(BasicBlock(cin, c, stride),
                                                             BasicBlock(c, c, 1)))
            cin = c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MetaIQAHead(nn.Module):
    def __init__(self, cin=1000, h1=1024, h2=512):
        super().__init__()
        self.fc1 = nn.Linear(cin, h1)
        self.bn1 = nn.BatchNorm1d(h1)
        self.relu1 = nn.PReLU()
        self.drop1 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(h1, h2)
        self.bn2 = nn.BatchNorm1d(h2)
        self.relu2 = nn.PReLU()
        self.drop2 = nn.Dropout(0.5)
        self.fc3 = nn.Linear(h2, 1)
        self.sig = nn.Sigmoid()

    def forward(self, x):
        x = self.drop1(self.relu1(self.bn1(self.fc1(x))))
        x = self.drop2(self.relu2(self.bn2(self.fc2(x))))
        return self.sig(self.fc3(x))


class MetaIQA(nn.Module):
    def __init__(self, width=64, classes=1000, h1=1024, h2=512):
        super().__init__()
        self.resnet_layer = ResNet18(width, classes)
        self.net = MetaIQAHead(classes, h1, h2)

    def forward(self, x):
        return self.net(self.resnet_layer(x))


BN_FED_BIASES = ("resnet_layer.fc.bias", "net.fc1.bias", "net.fc2.bias")


def golden(path, model, x, target, loss_fn, note):
    torch.manual_seed(0)
    init_model(model)
    model.train()
    # dropout off so both sides see the same function (masks are tested apart)
    for mod in model.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = 0.0
    # Biases feeding a training-mode batch norm have a zero gradient in exact
    # arithmetic: theirs is rounding noise, which Adam would turn into +-lr
    # steps of random sign. They are left out of the step on both sides.
    stepped = [p for n, p in model.named_parameters() if n not in BN_FED_BIASES]
    opt = torch.optim.Adam(stepped, lr=1e-3)
    with open(path, "w") as f:
        f.write("# %s\n# PyTorch %s; written by tools/ref/nn_ref.py\n" % (note, torch.__version__))
        for t, name in enumerate(model.state_dict().keys()):
            f.write("tensor %d %s\n" % (t, name))
        y = model(x)
        loss = loss_fn(y.reshape(-1), target)
        values(f, "out", y)
        values(f, "loss", loss.reshape(1))
        opt.zero_grad()
        loss.backward()
        for name, p in model.named_parameters():
            summary(f, "grad", name, p.grad)
        for name, b in model.named_buffers():
            if not name.endswith("num_batches_tracked"):
                summary(f, "buffer", name, b)
        opt.step()
        model.eval()
        with torch.no_grad():
            values(f, "out_eval_after_step", model(x))
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    # CNNIQA, default architecture, 4 patches
    m = CNNIQA()
    x = formula(100, 4 * 32 * 32).reshape(4, 1, 32, 32) * 2.0
    t = (formula(101, 4) + 1.0) / 2.0
    golden(os.path.join(OUT, "cnniqa_torch.txt"), m, x, t, F.l1_loss,
           "CNNIQA(filters 50, kernel 7, fc 512), x[4,1,32,32], L1 loss, train mode, dropout 0")
    # ResNet-18 (width 8) + MetaIQA head (1000-1024-512-1), 3 images of 64x64
    m = MetaIQA(width=8)
    x = formula(200, 3 * 3 * 64 * 64).reshape(3, 3, 64, 64)
    t = (formula(201, 3) + 1.0) / 2.0
    golden(os.path.join(OUT, "metaiqa_w8_torch.txt"), m, x, t, F.mse_loss,
           "MetaIQA: ResNet-18 width 8 + head 1000-1024-512-1, x[3,3,64,64], MSE, train mode, "
           "dropout 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
