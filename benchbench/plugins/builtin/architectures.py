"""Built-in architectures. Factories import torch lazily, so listing them costs nothing.

Every factory takes ``num_classes`` and ``input_shape`` and adapts to them; its other
keyword arguments are the options ``--set arch.OPTION=VALUE`` reaches.
"""

from __future__ import annotations

import functools
from pathlib import Path

from benchbench import hookimpl
from benchbench.errors import BenchError
from benchbench.settings import parse_size

BACKBONES = {
    "vgg16": "report 002: VGG16 from torchvision; options pretrained, weights, freeze, head, "
    "resize",
    "resnet50": "report 002: ResNet-50 from torchvision; options pretrained, weights, freeze, "
    "head, resize",
    "efficientnet_b0": "report 004: EfficientNet-B0 from torchvision (resize=64 in the "
    "report); options pretrained, weights, freeze, head, resize",
    "efficientnet_b2": "report 002: EfficientNet-B2 from torchvision (frozen in the "
    "report); options pretrained, weights, freeze, head, resize",
    "mobilenet_v3_small": "report 004: MobileNetV3-small from torchvision (resize=128 in "
    "the report); options pretrained, weights, freeze, head, resize",
}
HEADS = ("linear", "mlp", "dense")
NETS = "benchbench.plugins.builtin.nets:"  # the networks, imported when one is built


@hookimpl
def benchbench_register_architectures(registry):
    add = registry.add
    add(
        "cnn_small",
        NETS + "cnn_small",
        description="report 000: three Conv-ReLU-Conv-ReLU-[BN]-Pool "
        "blocks (32-64, 128, 256) and FC 1024-512; options bn, kernel 3|7",
    )
    add(
        "cnn_large",
        NETS + "cnn_large",
        description="report 000: four pooled blocks up to 2048 "
        "channels, FC 2048-1024-512 (92M parameters); options bn, kernel 3|7",
    )
    add(
        "cnn_5x5",
        NETS + "cnn_5x5",
        description="report 001: three Conv5x5-ReLU-MaxPool3/2 stages, "
        "FC64; options bn (after the first ReLU), dropout (after the second pool)",
    )
    add(
        "speedrun",
        NETS + "speedrun",
        description="the speedrun recipe's net (after airbench): a 2x2 stem, Conv-Pool-BN-"
        "GELU groups, max pooling, a scaled linear head; options widths, stem, scale",
    )
    add(
        "mlp",
        NETS + "mlp",
        description="report 002: Flatten-FC255-ReLU-FC baseline; options hidden, dropout",
    )
    add(
        "lenet",
        NETS + "lenet",
        description="report 002: the PyTorch tutorial CNN (Conv5x5 6, 16; FC "
        "120-84) with dropout 0.25/0.5",
    )
    add(
        "resnet_skip",
        NETS + "resnet_skip",
        description="report 003: conv-BN-ReLU stages with a "
        "strided 1x1 skip from after the first BN, concatenated; options widths, kernel, stride, "
        "merge (concat or add)",
    )
    add(
        "vgg_blocks",
        NETS + "vgg_blocks",
        description="report 004: three [Conv3x3-ReLU]x2-Pool VGG "
        "blocks (32/64/128) and the dense head 64-32; options filters, dropout",
    )
    for name, description in BACKBONES.items():
        add(name, functools.partial(torchvision_model, variant=name), description=description)
    add(
        "torchvision",
        torchvision_model,
        description="any torchvision classification model "
        "as torchvision:NAME, e.g. torchvision:convnext_tiny; same options as vgg16",
        variants=_torchvision_models,
    )
    add(
        "timm",
        timm_model,
        description="any timm model as timm:NAME (bench list archs --filter 'timm:resnet*'); "
        "options pretrained, freeze, head, resize, dropout (extra: benchbench-harness[timm])",
        variants=_timm_models,
    )


# -- option checks (shared with the networks in nets.py) ------------------------------


def kernel_size(kernel: int) -> int:
    if kernel not in (3, 5, 7):
        raise BenchError(f"arch kernel={kernel}: use 3, 5 or 7 (padding keeps the size).")
    return kernel


def dropout_rate(dropout: float) -> float:
    if not 0 <= dropout < 1:
        raise BenchError(f"dropout={dropout}: must be in [0, 1).")
    return float(dropout)


def positive_ints(name: str, values) -> list[int]:
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    try:
        out = [int(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise BenchError(f"arch {name}={values!r}: give positive numbers, e.g. 32,64,128.")
    return out


# -- report 000 -----------------------------------------------------------------------


# -- torchvision backbones ---------------------------------------------------------------


def _load_weights(model, name: str, weights: str | None, pretrained: bool):
    """torchvision's pretrained weights (from the torch hub cache, or downloaded), or a file."""
    import torch
    import torchvision

    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise BenchError(f"arch weights={weights}: no such file.")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise BenchError(
                f"arch weights={weights}: not a loadable state dict ({exc})."
            ) from None
        for key in ("state_dict", "model"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).splitlines()[:3]
            raise BenchError(
                f"arch weights={weights} do not fit {name}: {' '.join(first)}"
            ) from None
        return
    if not pretrained:
        return
    default = torchvision.models.get_model_weights(name).DEFAULT
    try:
        model.load_state_dict(default.get_state_dict(progress=False, check_hash=True))
    except Exception as exc:
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(default.url).name
        raise BenchError(
            f"Pretrained weights for {name} are not in the torch hub cache ({cache}) and "
            f"could not be downloaded ({type(exc).__name__}: {exc}). Copy the file "
            f"{Path(default.url).name} there, pass --set arch.weights=PATH, or train from "
            "scratch with --set arch.pretrained=false."
        ) from None


def _last_linear(model):
    """(parent module, attribute name, layer) of the model's last nn.Linear."""
    from torch import nn

    found = None
    for parent in model.modules():
        for attr, child in parent.named_children():
            if isinstance(child, nn.Linear):
                found = (parent, attr, child)
    if found is None:
        raise BenchError("this torchvision model has no linear classifier layer to replace.")
    return found


def _classifier(model):
    """(attribute, first nn.Linear) of the classifier that follows the pooled features."""
    from torch import nn

    for attr in ("fc", "classifier", "head", "heads"):
        module = getattr(model, attr, None)
        if module is None:
            continue
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        if linears:
            return attr, linears[0]
    raise BenchError("head=dense: this torchvision model has no fc/classifier/head module.")


def _torchvision_models() -> list[str]:
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def _timm_models() -> list[str]:
    import timm

    return timm.list_models()


def timm_model(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    variant: str | None = None,
    pretrained: bool = False,
    freeze: bool = False,
    head: str = "linear",
    resize=None,
    dropout: float = 0.0,
):
    """A timm model (``timm.create_model``) without its classifier, plus a new head as for
    torchvision models. ``pretrained`` fetches timm's weights (Hugging Face Hub, or its
    cache); random initialization otherwise."""
    try:
        import timm
    except ImportError:
        raise BenchError(
            "--arch timm:NAME needs timm: pip install 'benchbench-harness[timm]'."
        ) from None
    from torch import nn

    from benchbench.plugins.builtin import nets

    if variant is None:
        raise BenchError("Name the timm model: --arch timm:NAME, e.g. timm:resnet18.")
    if variant not in timm.list_models():
        from benchbench.errors import did_you_mean

        raise BenchError(
            f"timm has no model {variant!r}.{did_you_mean(variant, timm.list_models())} "
            "`bench list archs --filter 'timm:*'` lists them."
        )
    if head not in HEADS:
        raise BenchError(f"arch head={head!r}: use one of {', '.join(HEADS)}.")
    channels = input_shape[0]
    size = parse_size(resize, what="arch resize")
    try:
        model = timm.create_model(variant, pretrained=bool(pretrained), num_classes=0, in_chans=3)
    except Exception as exc:
        if pretrained:
            raise BenchError(
                f"timm could not load the pretrained weights of {variant!r} ({exc}). Run "
                "where the Hugging Face Hub is reachable once (they are cached), or drop "
                "arch.pretrained."
            ) from None
        raise
    features, dropout = model.num_features, dropout_rate(dropout)
    if head == "dense":
        new_head = nets.dense_head(features, num_classes, dropout)
    elif head == "mlp":
        new_head = nets.mlp_head(features, [256], num_classes, dropout)
    else:
        new_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, num_classes))
    return nets.Backbone(model, new_head, resize=size, channels=channels, frozen=bool(freeze))


def torchvision_model(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    variant: str | None = None,
    pretrained: bool = False,
    weights: str | None = None,
    freeze: bool = False,
    head: str = "linear",
    resize=None,
    dropout: float = 0.0,
):
    """A torchvision classification model with a new head.

    ``pretrained`` loads torchvision's ImageNet weights (torch hub cache, else download);
    ``weights=PATH`` loads a state dict saved from the same torchvision model instead
    (``weights_only=True``). ``freeze`` trains the head alone. ``head``: ``linear`` replaces
    the last layer; ``mlp`` puts FC256-ReLU-FC there (report 002); ``dense`` replaces the
    whole classifier with report 004's Dense64-ReLU-Dense32-ReLU-Dense head (``dropout``
    inside it). ``resize`` resizes inputs on the device (64 or 128 in report 004); inputs
    under 32 pixels are resized to 32. Grey images are repeated to three channels.
    """
    import torchvision
    from torch import nn

    from benchbench.plugins.builtin import nets

    available = torchvision.models.list_models(module=torchvision.models)
    if variant is None:
        raise BenchError(
            "Name the torchvision model: --arch torchvision:NAME, e.g. torchvision:convnext_tiny."
        )
    if variant not in available:
        from benchbench.errors import did_you_mean

        raise BenchError(
            f"torchvision has no classification model {variant!r}."
            f"{did_you_mean(variant, available)}"
        )
    if head not in HEADS:
        raise BenchError(f"arch head={head!r}: use one of {', '.join(HEADS)}.")
    channels = input_shape[0]
    if channels not in (1, 3):
        raise BenchError(f"{variant} takes RGB (or grey) images, not {channels} channels.")
    size = parse_size(resize, what="arch resize")
    if size is None and min(input_shape[1:]) < 32:
        size = (max(32, input_shape[1]), max(32, input_shape[2]))
    dropout = dropout_rate(dropout)

    model = torchvision.models.get_model(variant, weights=None)
    _load_weights(model, variant, weights, bool(pretrained))
    if head == "dense":
        attr, first = _classifier(model)
        setattr(model, attr, nn.Identity())
        new_head = nets.dense_head(first.in_features, num_classes, dropout)
    else:
        parent, attr, last = _last_linear(model)
        setattr(parent, attr, nn.Identity())
        if head == "mlp":
            new_head = nets.mlp_head(last.in_features, [256], num_classes, dropout)
        else:
            new_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(last.in_features, num_classes))
    return nets.Backbone(model, new_head, resize=size, channels=channels, frozen=bool(freeze))
