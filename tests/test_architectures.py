import pytest
import torch

from benchbench.errors import BenchError
from benchbench.plugins.builtin import architectures as archs
from benchbench.plugins.builtin import nets
from benchbench.plugins.manager import load_components

CIFAR, DIGITS = (3, 32, 32), (1, 8, 8)
BUILTIN = [
    "cnn_small",
    "cnn_large",
    "cnn_5x5",
    "mlp",
    "lenet",
    "resnet_skip",
    "vgg_blocks",
    "vgg16",
    "resnet50",
    "efficientnet_b0",
    "efficientnet_b2",
    "mobilenet_v3_small",
    "torchvision:convnext_tiny",
]


@pytest.fixture(scope="module")
def registry():
    return load_components(use_entry_points=False).architectures


def count(model, trainable_only=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def test_parameter_counts_match_the_reports():
    assert count(nets.cnn_small(num_classes=10, input_shape=CIFAR)) == 5_851_338
    assert count(nets.cnn_large(num_classes=10, input_shape=CIFAR)) == 92_351_050
    assert count(nets.mlp(num_classes=3, input_shape=(3, 300, 300))) == 68_851_023
    assert count(nets.lenet(num_classes=3, input_shape=(3, 300, 300))) == 9_966_691


def test_batch_norm_sits_before_each_pool():
    model = nets.cnn_small(num_classes=10, input_shape=CIFAR, bn=True)
    layers = list(model.features)
    pools = [i for i, layer in enumerate(layers) if isinstance(layer, torch.nn.MaxPool2d)]
    assert len(pools) == 3
    assert all(isinstance(layers[i - 1], torch.nn.BatchNorm2d) for i in pools)


def test_pools_stop_at_one_pixel_so_tiny_images_fit():
    model = nets.cnn_large(num_classes=10, input_shape=(3, 8, 8))
    pools = [m for m in model.features if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3 and model.head[1].in_features == 2048  # 8 -> 4 -> 2 -> 1


def test_seven_by_seven_kernels_keep_the_size():
    model = nets.cnn_small(num_classes=10, input_shape=CIFAR, kernel=7)
    assert model.features[0].kernel_size == (7, 7) and model.features[0].padding == (3, 3)


def test_cnn_5x5_has_the_reported_shapes_and_improvements():
    base = nets.cnn_5x5(num_classes=10, input_shape=CIFAR)
    assert base.head[1].in_features == 576  # 64 x 3 x 3
    improved = nets.cnn_5x5(num_classes=10, input_shape=CIFAR, bn=True, dropout=0.2)
    kinds = [type(layer).__name__ for layer in improved.features]
    assert kinds[:4] == ["Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d"]  # BN before pool 1
    assert kinds == [
        "Conv2d",
        "ReLU",
        "BatchNorm2d",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Dropout",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
    ]  # after pool 2


def test_vgg_blocks_dropout_and_head():
    model = nets.vgg_blocks(num_classes=10, input_shape=CIFAR, dropout=0.3)
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [64, 32, 10]
    assert all(m.p == 0.3 for m in model.head if isinstance(m, torch.nn.Dropout))
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.features)


def test_lenet_dropout_is_reported_then_switchable():
    rates = lambda m: [x.p for x in m.modules() if isinstance(x, torch.nn.Dropout)]  # noqa: E731
    assert rates(nets.lenet(num_classes=3, input_shape=CIFAR)) == [0.25, 0.5]
    assert rates(nets.lenet(num_classes=3, input_shape=CIFAR, dropout=0.0)) == [0.0, 0.0]


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("shape", [CIFAR, DIGITS])
def test_builds_for_cifar_and_digits_and_trains_one_step(registry, name, shape):
    torch.manual_seed(0)
    model = registry.get(name).create({}, num_classes=10, input_shape=shape)
    x, y = torch.rand(4, *shape), torch.tensor([0, 1, 2, 3])
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    model.eval()
    assert model(x).shape == (4, 10)
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_resnet_skip_has_the_strided_skip_from_after_the_first_bn():
    model = nets.resnet_skip(num_classes=10, input_shape=CIFAR, widths="16")
    stage = model.features[0]
    assert isinstance(stage.conv1[1], torch.nn.BatchNorm2d)
    assert stage.skip.stride == (2, 2) and stage.skip.kernel_size == (1, 1)
    seen = {}
    stage.skip.register_forward_hook(lambda m, i, o: seen.update(skip_input=i[0]))
    stage.conv1.register_forward_hook(lambda m, i, o: seen.update(bn1=o))
    model.eval()(torch.rand(2, *CIFAR))
    assert torch.equal(seen["skip_input"], seen["bn1"])


@pytest.mark.parametrize(("merge", "channels"), [("concat", 32), ("add", 16)])
def test_resnet_skip_concatenates_the_skip_as_the_report_says_or_adds_it(merge, channels):
    model = nets.resnet_skip(num_classes=10, input_shape=CIFAR, widths="16", merge=merge)
    stage = model.features[0]
    out = stage.eval()(torch.rand(2, *CIFAR))
    assert out.shape == (2, channels, 16, 16)
    skip = stage.skip(stage.conv1(torch.rand(2, *CIFAR)))
    if merge == "concat":  # ReLU(conv3) first, then the skip's own channels, unchanged
        x = torch.rand(2, *CIFAR)
        out = stage(x)
        assert torch.equal(out[:, 16:], stage.skip(stage.conv1(x)))
        assert (out[:, :16] >= 0).all()
    assert skip.shape == (2, 16, 16, 16)
    assert model(torch.rand(2, *CIFAR)).shape == (2, 10)
    with pytest.raises(BenchError, match="merge='sum'"):
        nets.resnet_skip(num_classes=10, input_shape=CIFAR, merge="sum")


# -- torchvision backbones ----------------------------------------------------------------


def test_frozen_backbone_trains_the_head_alone_and_keeps_bn_statistics():
    model = archs.torchvision_model(
        num_classes=10, input_shape=CIFAR, variant="mobilenet_v3_small", freeze=True, head="dense"
    )
    assert count(model, trainable_only=True) == count(model.head)
    assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == [64, 32, 10]
    assert model.head[1].in_features == 576  # the pooled features, classifier removed
    bn = next(m for m in model.features.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    model.train()
    model(torch.rand(4, *CIFAR))
    assert torch.equal(bn.running_mean, before) and not model.features.training


def test_heads_of_report_002():
    mlp = archs.torchvision_model(num_classes=3, input_shape=CIFAR, variant="resnet50", head="mlp")
    assert [m.out_features for m in mlp.head if isinstance(m, torch.nn.Linear)] == [256, 3]
    assert mlp.head[1].in_features == 2048
    linear = archs.torchvision_model(num_classes=3, input_shape=CIFAR, variant="efficientnet_b2")
    assert [m.out_features for m in linear.head if isinstance(m, torch.nn.Linear)] == [3]
    assert count(linear, trainable_only=True) == count(linear)  # fully fine-tuned


def test_inputs_are_resized_on_the_device():
    model = archs.torchvision_model(
        num_classes=10, input_shape=CIFAR, variant="efficientnet_b0", resize=64
    )
    seen = {}
    model.features.register_forward_hook(lambda m, i, o: seen.update(shape=i[0].shape))
    model.eval()(torch.rand(2, *CIFAR))
    assert tuple(seen["shape"]) == (2, 3, 64, 64)


def test_weights_from_a_file_are_loaded(tmp_path):
    import torchvision

    torch.manual_seed(1)
    source = torchvision.models.get_model("mobilenet_v3_small", weights=None)
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    model = archs.torchvision_model(
        num_classes=10,
        input_shape=CIFAR,
        variant="mobilenet_v3_small",
        weights=str(tmp_path / "weights.pt"),
    )
    first = source.features[0][0].weight
    assert torch.equal(model.features.features[0][0].weight, first)
    torch.save({"not": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(BenchError, match="do not fit mobilenet_v3_small"):
        archs.torchvision_model(
            num_classes=10,
            input_shape=CIFAR,
            variant="mobilenet_v3_small",
            weights=str(tmp_path / "wrong.pt"),
        )


def test_pretrained_weights_offline_and_missing_say_what_to_do(tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(BenchError, match=r"not in the torch hub cache.*arch.weights=PATH"):
        archs.torchvision_model(
            num_classes=10, input_shape=CIFAR, variant="resnet50", pretrained=True
        )


def test_any_torchvision_model_by_name_and_typos(registry):
    model = registry.get("torchvision:resnet18").create({}, num_classes=4, input_shape=CIFAR)
    assert model(torch.rand(2, *CIFAR)).shape == (2, 4)
    with pytest.raises(BenchError, match="Did you mean 'resnet18'"):
        registry.get("torchvision:resnet81").create({}, num_classes=4, input_shape=CIFAR)


def test_bad_options_are_refused():
    with pytest.raises(BenchError, match="kernel"):
        nets.cnn_small(num_classes=10, input_shape=CIFAR, kernel=4)
    with pytest.raises(BenchError, match="widths"):
        nets.resnet_skip(num_classes=10, input_shape=CIFAR, widths="a,b")
    with pytest.raises(BenchError, match="head='huge'"):
        archs.torchvision_model(num_classes=10, input_shape=CIFAR, variant="resnet18", head="huge")


def test_cnn_5x5_can_start_as_matlab_does():
    torch.manual_seed(0)
    glorot = nets.cnn_5x5(num_classes=10, input_shape=CIFAR, init="glorot")
    torch.manual_seed(0)
    default = nets.cnn_5x5(num_classes=10, input_shape=CIFAR)
    conv = glorot.features[0]
    bound = (6 / (conv.in_channels * 25 + conv.out_channels * 25)) ** 0.5
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(conv.bias) == 0

    def second_conv(model):
        return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][1].weight

    deep, deep_default = second_conv(glorot), second_conv(default)  # 32 -> 32
    assert deep.std() > 1.5 * deep_default.std()  # wider than PyTorch's where fan-in is large
    with pytest.raises(BenchError, match="arch init='he'"):
        nets.cnn_5x5(num_classes=10, input_shape=CIFAR, init="he")


def test_report_004s_custom_cnn_can_start_as_keras_does():
    model = nets.vgg_blocks(num_classes=10, input_shape=CIFAR, init="glorot")
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 9  # six convolutions, the three dense layers of the head
    for layer in layers:
        fan_in, fan_out = layer.weight[0].numel(), layer.weight[:, 0].numel()
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert layer.weight.abs().max() <= bound and torch.count_nonzero(layer.bias) == 0
    with pytest.raises(BenchError, match="glorot .*Keras"):
        nets.vgg_blocks(num_classes=10, input_shape=CIFAR, init="keras")


def test_the_whitening_stem_whitens_the_patches_it_was_set_from():
    import torch

    from benchbench.plugins.builtin.nets import Whitening

    generator = torch.Generator().manual_seed(0)
    mixing = torch.randn(3, 3, generator=generator)  # correlated colour channels
    images = torch.einsum("ij,njhw->nihw", mixing, torch.randn(200, 3, 12, 12, generator=generator))
    images = torch.nn.functional.avg_pool2d(images, 3, 1, 1) * 4  # neighbouring pixels alike
    stem = Whitening(3, 24, eps=1e-9)
    stem.init_from_data(images)
    with torch.no_grad():
        out = torch.nn.functional.conv2d(images, stem.weight)  # without the bias
    channels = out[:, :12].permute(1, 0, 2, 3).reshape(12, -1)
    covariance = channels @ channels.T / channels.shape[1]
    assert torch.allclose(covariance, torch.eye(12), atol=0.05), "whitened: identity covariance"
    assert torch.equal(stem.weight[12:], -stem.weight[:12]), "each filter and its negative"
    assert not stem.weight.requires_grad, "frozen once set from the data"


def test_a_model_is_initialized_from_normalized_training_images(bench, tmp_path, monkeypatch):
    """A plugin's model with init_from_data sees training images, normalized as training
    sees them, once, before training."""
    plugin = tmp_path / "seen_plugin.py"
    plugin.write_text(
        "import torch\n"
        "from benchbench import hookimpl\n"
        "SEEN = []\n"
        "class Net(torch.nn.Module):\n"
        "    def __init__(self, n, shape):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(shape[0] * shape[1] * shape[2], n)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x.flatten(1))\n"
        "    def init_from_data(self, inputs):\n"
        "        SEEN.append(inputs.clone())\n"
        "@hookimpl\n"
        "def benchbench_register_architectures(registry):\n"
        "    registry.add('seen', lambda *, num_classes, input_shape: Net(num_classes,\n"
        "                                                               input_shape))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("BENCH_PLUGINS", "seen_plugin")
    monkeypatch.delitem(__import__("sys").modules, "seen_plugin", raising=False)
    result = bench("run", "--arch", "seen", "--epochs", "1", "--normalize", "dataset")
    assert result.code == 0, result.err
    import seen_plugin

    (inputs,) = seen_plugin.SEEN
    assert inputs.shape[1:] == (1, 8, 8) and 1000 < len(inputs) <= 5000
    assert abs(float(inputs.mean())) < 0.1, "normalized as the training batches are"


def test_the_speedrun_net_can_freeze_its_batchnorm_scales_and_start_as_identities():
    import torch

    from benchbench.plugins.builtin.nets import speedrun

    plain = speedrun(num_classes=10, input_shape=(3, 32, 32), widths="32,64")
    airbench = speedrun(
        num_classes=10, input_shape=(3, 32, 32), widths="32,64", bn_weights=False, dirac=True
    )
    frozen = [n for n, p in airbench.named_parameters() if not p.requires_grad]
    assert frozen and all(n.endswith("weight") for n in frozen)
    assert all(p.requires_grad for p in plain.parameters())
    bn = [m for m in airbench.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not m.weight.requires_grad and m.bias.requires_grad for m in bn)
    convs = [
        m for m in airbench.modules() if type(m) is torch.nn.Conv2d and m.kernel_size == (3, 3)
    ]
    for conv in convs:  # the first in_channels filters pass their own input channel through
        x = torch.randn(1, conv.in_channels, 5, 5)
        y = torch.nn.functional.conv2d(x, conv.weight[: conv.in_channels], padding=1)
        assert torch.allclose(y, x)
