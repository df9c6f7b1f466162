"""How token vectors become one sentence vector: the model's own recipe where it declares one.

A sentence-transformers folder declares it in ``modules.json`` (a Pooling module, whose
``1_Pooling/config.json`` names the mode, and maybe a Normalize module after it). A model without
that recipe gets the mean over its non-special tokens, which is what people usually mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..files import read_json as read_json_file

__all__ = ["PoolingSpec", "read_pooling", "pool", "read_json"]

#: sentence-transformers' legacy boolean keys, in the order it concatenates the modes.
_LEGACY_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_SUPPORTED = ("cls", "max", "mean", "mean_sqrt_len_tokens", "lasttoken")


@dataclass(frozen=True)
class PoolingSpec:
    """`modes` are concatenated in order; `skip_special` drops [CLS]/[SEP]/BOS from the average
    (our default, not sentence-transformers', which averages every attended token)."""

    modes: tuple[str, ...] = ("mean",)
    normalize: bool = False
    skip_special: bool = True
    source: str = "tokenprism default: non-special tokens only"
    unsupported: tuple[str, ...] = ()

    def describe(self) -> str:
        text = " + ".join(self.modes) + (" then L2-normalize" if self.normalize else "")
        return f"{text} ({self.source})"


def read_pooling(folder: Path) -> PoolingSpec:
    """The pooling a model folder declares, or the default.

    >>> read_pooling(Path("all-MiniLM-L6-v2")).modes      # doctest: +SKIP
    ('mean',)
    """
    modules = read_json(folder / "modules.json")
    if not isinstance(modules, list):
        return PoolingSpec()
    kinds = [(str(m.get("type", "")), str(m.get("path", ""))) for m in modules if isinstance(m, dict)]
    index = next((i for i, (kind, _) in enumerate(kinds) if kind.endswith(".Pooling")), None)
    if index is None:
        return PoolingSpec()
    config = read_json(folder / kinds[index][1] / "config.json")
    modes = _modes(config if isinstance(config, dict) else {})
    bad = [m for m in modes if m not in _SUPPORTED]
    if bad:
        raise ModelError(
            f"{folder} pools with {', '.join(bad)}, which tokenprism does not implement; "
            f"use a model that pools with one of {', '.join(_SUPPORTED)}"
        )
    after = [kind.rsplit(".", 1)[-1] for kind, _ in kinds[index + 1 :]]
    return PoolingSpec(
        modes=modes,
        normalize="Normalize" in after,
        skip_special=False,
        source="the model's sentence-transformers config",
        unsupported=tuple(a for a in after if a != "Normalize"),
    )


def _modes(config: dict[str, Any]) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return (mode,)
    if isinstance(mode, list) and mode:
        return tuple(str(m) for m in mode)
    legacy = tuple(name for key, name in _LEGACY_KEYS.items() if config.get(key))
    return legacy or ("mean",)


def read_json(path: Path) -> Any:
    return read_json_file(path, error=ModelError) if path.is_file() else None


def pool(hidden: Any, mask: Any, special: Any, spec: PoolingSpec) -> Any:
    """Token vectors ``[..., batch, tokens, dim]`` → sentence vectors ``[..., batch, dim]`` (torch).

    `mask` marks real (non-padding) tokens and `special` the special ones, both ``[batch, tokens]``.
    The arithmetic follows sentence-transformers' Pooling so that vectors match its `encode`.
    """
    import torch

    keep = mask & ~special if spec.skip_special else mask
    # A text made only of special tokens ("" → [CLS] [SEP]) still gets a vector: its tokens.
    keep = torch.where(keep.any(dim=-1, keepdim=True), keep, mask)
    weights = keep.unsqueeze(-1).to(hidden.dtype)
    parts = []
    for mode in spec.modes:
        if mode == "cls":
            first = keep.to(torch.int).argmax(dim=-1)
            parts.append(_gather(hidden, first))
        elif mode == "lasttoken":
            last = keep.shape[-1] - 1 - keep.flip(-1).to(torch.int).argmax(dim=-1)
            parts.append(_gather(hidden, last))
        elif mode == "max":
            parts.append(hidden.masked_fill(weights == 0, float("-inf")).max(dim=-2).values)
        else:
            total = (hidden * weights).sum(dim=-2)
            count = torch.clamp(weights.sum(dim=-2), min=1e-9)
            parts.append(total / (count if mode == "mean" else torch.sqrt(count)))
    vectors = torch.cat(parts, dim=-1)
    return torch.nn.functional.normalize(vectors, p=2, dim=-1) if spec.normalize else vectors


def _gather(hidden: Any, index: Any) -> Any:
    """hidden[..., b, index[b], :] for every b."""
    import torch

    expanded = index.view(*([1] * (hidden.dim() - 3)), -1, 1, 1).expand(*hidden.shape[:-2], 1, hidden.shape[-1])
    return torch.gather(hidden, -2, expanded).squeeze(-2)
