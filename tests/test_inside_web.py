"""/api/lens, /api/attention and /api/attribute over real HTTP (a uvicorn server on 127.0.0.1): the
answers are the library's, described in OpenAPI; bad requests are one-line 4xx JSON errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from model_helpers import load  # noqa: E402
from web_live import LiveServer  # noqa: E402

from tokenprism import attention, attribute, lens  # noqa: E402
from tokenprism.web import create_app  # noqa: E402

PROMPT = "def add(a, b):\n    return"


@pytest.fixture(scope="module")
def client():
    load("prism-tiny")  # skips until the bundled model exists
    with LiveServer(create_app(tokenizers=["prism-tiny"], models=["prism-tiny"])) as server, server.client() as c:
        yield c


def test_lens_is_the_librarys(client):
    response = client.post("/api/lens", json={"prompt": PROMPT, "top": 3})
    assert response.status_code == 200, response.text
    data = response.json()
    expected = lens(PROMPT, model=load("prism-tiny"), top=3)
    assert data["ids"] == expected.ids and data["tokens"] == expected.tokens
    assert [layer["layer"] for layer in data["layers"]] == list(range(5))
    for layer, want in zip(data["layers"], expected.layers):
        for cell, ref in zip(layer["positions"], want.positions):
            assert [c["id"] for c in cell["top"]] == [c.id for c in ref.top]
            assert cell["entropy"] == pytest.approx(ref.entropy, abs=1e-6)


def test_attention_of_one_token(client):
    response = client.post("/api/attention", json={"prompt": PROMPT, "position": 3})
    assert response.status_code == 200, response.text
    data = response.json()
    expected = attention(PROMPT, model=load("prism-tiny"))
    assert data["position"] == 3 and data["num_layers"] == 4 and data["num_heads"] == 8
    for layer, want in zip(data["layers"], expected.layers):
        weights = np.array([h["weights"] for h in layer["heads"]])
        assert np.allclose(weights, want.weights[:, 3], atol=1e-6)
        assert np.allclose(weights.sum(-1), 1, atol=1e-5)


def test_attribution(client):
    pytest.importorskip("torch")
    response = client.post("/api/attribute", json={"prompt": PROMPT, "target": " a", "steps": 32})
    assert response.status_code == 200, response.text
    data = response.json()
    expected = attribute(PROMPT, " a", model=load("prism-tiny"), steps=32)
    assert np.allclose(data["attributions"], expected.attributions, atol=1e-5)
    assert data["completeness"]["relative_error"] <= 0.01 and data["target_tokens"] == expected.target_tokens


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/api/lens", {"prompt": ""}, 422),
    ("/api/lens", {"prompt": "x", "top": 0}, 422),
    ("/api/lens", {"prompt": "x", "colour": "red"}, 422),
    ("/api/lens", {"prompt": "x " * 400}, 400),
    ("/api/lens", {"prompt": "x", "model": "gpt2"}, 403),
    ("/api/attention", {"prompt": PROMPT, "position": 40}, 400),
    ("/api/attribute", {"prompt": PROMPT, "target": ""}, 422),
    ("/api/attribute", {"prompt": PROMPT, "target": " a", "method": "saliency"}, 422),
])
def test_bad_requests_are_one_line_errors(client, path, body, status):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error and "\n" not in error


def test_openapi_describes_the_inside_endpoints(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/lens", "/api/attention", "/api/attribute"):
        assert "requestBody" in spec["paths"][path]["post"]
    names = set(spec["components"]["schemas"])
    assert {"LensRequest", "LensResponse", "AttentionResponse", "AttributeResponse"} <= names
