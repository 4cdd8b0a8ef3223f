"""The code panel of a CNN or RNN race shows its own layers: /api/layers serves the forward and
backward of Conv2d, MaxPool2d, Flatten and the Elman RNN beside the torch.nn module each equals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("name", "title", "torch", "in_forward", "in_backward"),
    [
        ("conv2d", "Conv2d", "torch.nn.Conv2d(", "matmul", "_scatter"),
        ("maxpool2d", "MaxPool2d", "torch.nn.MaxPool2d(", "window > y", "cache.index == o"),
        ("flatten", "Flatten", "torch.nn.Flatten()", "reshape", "reshape"),
        ("rnn", "ElmanRNN", "torch.nn.RNN(", "np.tanh", "w_hh"),
    ],
)
def test_deep_layers_are_served_with_their_code(
    client: TestClient, name: str, title: str, torch: str, in_forward: str, in_backward: str
) -> None:
    layer = client.get(f"/api/layers/{name}/source").json()
    assert layer["title"] == title and layer["torch"].startswith(torch)
    assert "def forward(" in layer["forward"]["source"]
    assert in_forward in layer["forward"]["source"]
    assert "def backward(" in layer["backward"]["source"]
    assert in_backward in layer["backward"]["source"]
    assert name in [x["name"] for x in client.get("/api/layers").json()]
