"""Compute the layer profiles of AlexNet, VGG-16 and MobileNetV2 from their published architectures.

Run ``python3 -m wsnmec.offload.profiles.build`` to rewrite the CSV files beside this script. No
deep-learning framework is needed: each network is written down below as the list of its layers (as in
the papers), and the output shape and the multiply-accumulates (MACs) of every layer follow from the
layer's kernel, stride, padding and channels. Inputs are ImageNet images, 3 x 224 x 224.

Counting rules (the usual ones, e.g. of the published totals): a convolution costs
``H_out * W_out * C_out * (k_h * k_w * C_in / groups)`` MACs, a fully connected layer ``in * out``;
biases, activations, pooling, batch normalization and residual additions cost nothing.

Each CSV row is one layer: ``layer`` (1-based index), ``name``, ``type``, ``output_elements`` (elements
of the layer's output tensor), ``output_shape`` (C x H x W), ``macs`` and ``cut`` (1 where a partitioned
inference may cut after this layer). Row 0 is the input. The candidate cuts are where published
partitioning studies cut: after pooling (or, for MobileNetV2, after each stage of inverted-residual
blocks, where the tensor is narrowest) and after the fully connected layers (Kang et al., Neurosurgeon,
ASPLOS 2017; Li et al., Edgent, 2018; Hu et al., DADS, INFOCOM 2019).

References
----------
- A. Krizhevsky, I. Sutskever, G. Hinton, "One weird trick for parallelizing convolutional neural
  networks", arXiv:1404.5997, 2014 (the single-tower AlexNet, 64-192-384-256-256 channels, as in
  torchvision; published total about 0.71 G MACs).
- K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
  ICLR 2015 (configuration D; about 15.5 G MACs).
- M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018 (Table 2,
  width 1.0, 224 x 224; 300 M multiply-adds).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

SOURCES = {
    "alexnet": "Krizhevsky, arXiv:1404.5997 (2014), single-tower AlexNet (torchvision layout); published ~0.71 G MACs",
    "vgg16": "Simonyan & Zisserman, ICLR 2015, configuration D; published ~15.5 G MACs",
    "mobilenetv2": "Sandler et al., CVPR 2018, Table 2, width 1.0, 224x224; published 300 M multiply-adds",
}


class _Builder:
    """Tracks the tensor shape (C, H, W) through a sequence of layers and records each layer's row."""

    def __init__(self, channels=3, size=224):
        self.c, self.h, self.w = channels, size, size
        self.rows = [("input", "input", self.c * self.h * self.w, f"{self.c}x{self.h}x{self.w}", 0, 1)]

    def _add(self, name, kind, macs, cut):
        self.rows.append((name, kind, self.c * self.h * self.w, f"{self.c}x{self.h}x{self.w}", int(macs), int(cut)))

    def conv(self, name, out, k, stride=1, pad=0, groups=1, cut=False, record=True):
        h = (self.h + 2 * pad - k) // stride + 1
        w = (self.w + 2 * pad - k) // stride + 1
        macs = h * w * out * k * k * self.c // groups
        self.c, self.h, self.w = out, h, w
        if record:
            self._add(name, "conv", macs, cut)
        return macs

    def pool(self, name, k, stride, pad=0, cut=True, kind="maxpool"):
        self.h = (self.h + 2 * pad - k) // stride + 1
        self.w = (self.w + 2 * pad - k) // stride + 1
        self._add(name, kind, 0, cut)

    def global_pool(self, name, cut=True):
        self.h = self.w = 1
        self._add(name, "avgpool", 0, cut)

    def fc(self, name, out, cut=True):
        macs = self.c * self.h * self.w * out
        self.c, self.h, self.w = out, 1, 1
        self._add(name, "fc", macs, cut)

    def block(self, name, expand, out, stride, cut):
        """MobileNetV2 inverted residual: 1x1 expansion (if t > 1), 3x3 depthwise, 1x1 projection."""
        c_in = self.c
        hidden = c_in * expand
        macs = 0
        if expand != 1:
            macs += self.conv("", hidden, 1, record=False)
        macs += self.conv("", hidden, 3, stride=stride, pad=1, groups=hidden, record=False)
        macs += self.conv("", out, 1, record=False)
        self._add(name, "bottleneck", macs, cut)


def alexnet():
    b = _Builder()
    b.conv("conv1", 64, 11, stride=4, pad=2)
    b.pool("pool1", 3, 2)
    b.conv("conv2", 192, 5, pad=2)
    b.pool("pool2", 3, 2)
    b.conv("conv3", 384, 3, pad=1)
    b.conv("conv4", 256, 3, pad=1)
    b.conv("conv5", 256, 3, pad=1)
    b.pool("pool5", 3, 2)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)
    return b.rows


def vgg16():
    b = _Builder()
    for stage, (channels, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for i in range(1, convs + 1):
            b.conv(f"conv{stage}_{i}", channels, 3, pad=1)
        b.pool(f"pool{stage}", 2, 2)
    b.fc("fc6", 4096)
    b.fc("fc7", 4096)
    b.fc("fc8", 1000)
    return b.rows


def mobilenetv2():
    b = _Builder()
    b.conv("conv0", 32, 3, stride=2, pad=1)
    # (expansion t, output channels c, repeats n, first stride s), Sandler et al. Table 2
    stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for stage, (t, c, n, s) in enumerate(stages, start=1):
        for i in range(n):
            b.block(f"block{stage}_{i + 1}", t, c, s if i == 0 else 1, cut=(i == n - 1))
    b.conv("conv_last", 1280, 1)
    b.global_pool("avgpool")
    b.fc("fc", 1000)
    return b.rows


NETWORKS = {"alexnet": alexnet, "vgg16": vgg16, "mobilenetv2": mobilenetv2}


def write_csv(name: str, directory: Path = HERE) -> Path:
    """Write ``NAME.csv`` (with '#' provenance lines) atomically; return its path."""
    rows = NETWORKS[name]()
    total = sum(r[4] for r in rows)
    lines = [
        f"# {name}: per-layer output size and multiply-accumulates, ImageNet input 3x224x224",
        f"# source: {SOURCES[name]}",
        "# computed by wsnmec/offload/profiles/build.py (python3 -m wsnmec.offload.profiles.build)",
        f"# total MACs: {total} ({total / 1e9:.4f} G)",
        "layer,name,type,output_elements,output_shape,macs,cut",
    ]
    for i, (lname, kind, elements, shape, macs, cut) in enumerate(rows):
        lines.append(f"{i},{lname},{kind},{elements},{shape},{macs},{cut}")
    path = directory / f"{name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def main():
    for name in NETWORKS:
        path = write_csv(name)
        total = sum(r[4] for r in NETWORKS[name]())
        print(f"{path.name}: {len(NETWORKS[name]()) - 1} layers, {total / 1e9:.4f} G MACs")


if __name__ == "__main__":
    main()
