import pytest
import torch

from benchbench.builtin import architectures as archs
from benchbench.errors import BenchError

CIFAR, DIGITS = (3, 32, 32), (1, 8, 8)


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_match_report_000():
    assert count(archs.cnn_small(num_classes=10, input_shape=CIFAR)) == 5_851_338
    assert count(archs.cnn_large(num_classes=10, input_shape=CIFAR)) == 92_351_050


def test_batch_norm_sits_before_each_pool():
    model = archs.cnn_small(num_classes=10, input_shape=CIFAR, bn=True)
    layers = list(model[0])
    pools = [i for i, layer in enumerate(layers) if isinstance(layer, torch.nn.MaxPool2d)]
    assert all(isinstance(layers[i - 1], torch.nn.BatchNorm2d) for i in pools)


@pytest.mark.parametrize(
    "name,options",
    [
        ("cnn_small", {}),
        ("cnn_small", {"kernel": 7, "bn": True}),
        ("resnet_skip", {}),
        ("resnet_skip", {"widths": "8,16", "dropout": 0.2}),
    ],
)
@pytest.mark.parametrize("shape", [CIFAR, DIGITS])
def test_builds_for_cifar_and_digits_and_trains_one_step(name, options, shape):
    torch.manual_seed(0)
    model = getattr(archs, name)(num_classes=10, input_shape=shape, **options)
    x, y = torch.rand(4, *shape), torch.tensor([0, 1, 2, 3])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert model(x).shape == (4, 10)
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_cnn_large_adapts_to_small_inputs():
    model = archs.cnn_large(num_classes=3, input_shape=(3, 16, 16))
    assert model(torch.rand(2, 3, 16, 16)).shape == (2, 3)


def test_resnet_skip_has_the_strided_skip_from_after_the_first_bn():
    model = archs.resnet_skip(num_classes=10, input_shape=CIFAR, widths="16")
    stage = model.features[0]
    assert isinstance(stage.conv1[1], torch.nn.BatchNorm2d)
    assert stage.skip.stride == (2, 2) and stage.skip.kernel_size == (1, 1)
    seen = {}
    stage.skip.register_forward_hook(lambda m, i, o: seen.update(skip_input=i[0]))
    stage.conv1.register_forward_hook(lambda m, i, o: seen.update(bn1=o))
    model.eval()(torch.rand(2, *CIFAR))
    assert torch.equal(seen["skip_input"], seen["bn1"])


def test_bad_options_are_refused():
    with pytest.raises(BenchError, match="kernel"):
        archs.cnn_small(num_classes=10, input_shape=CIFAR, kernel=4)
    with pytest.raises(BenchError, match="widths"):
        archs.resnet_skip(num_classes=10, input_shape=CIFAR, widths="a,b")
