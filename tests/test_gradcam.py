import torch

from benchbench.analysis.gradcam import heatmaps
from benchbench.analysis.gradcam import last_conv


class Spot(torch.nn.Module):
    """Class 1's logit is the evidence in the top-left quarter, class 0's elsewhere."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 1, bias=False)
        torch.nn.init.ones_(self.conv.weight)

    def forward(self, x):
        a = self.conv(x)
        top_left = a[:, :, :4, :4].mean(dim=(1, 2, 3))
        return torch.stack([a.mean(dim=(1, 2, 3)) - top_left, top_left], 1)


def test_grad_cam_lights_up_where_the_evidence_is():
    image = torch.zeros(1, 1, 8, 8)
    image[..., :4, :4] = 1.0
    model = Spot()
    assert last_conv(model) == "conv"
    maps = heatmaps(model, image, torch.tensor([1]))
    assert maps.shape == (1, 8, 8)
    assert maps[0, :4, :4].mean() > 0.9 and maps[0, 4:, 4:].mean() < 0.1
