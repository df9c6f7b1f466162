"""A transparent Llama-architecture language model in plain numpy: the whole forward pass on one page.

NUMBERS → MATH → NUMBERS. A decoder-only transformer turns token ids into next-token logits like this:

    ids ─► embedding rows ─► [ RMSNorm ─► attention (rotary positions, grouped-query heads) ─► + residual
                              RMSNorm ─► SwiGLU MLP ─► + residual ] × num_hidden_layers
        ─► RMSNorm ─► head (a dot product with every vocabulary row) ─► logits

It reads the same files transformers reads (`config.json` + `model.safetensors`) and gives the same numbers
(tests/test_llama_engine.py checks logits, greedy steps, hidden states and attention weights against
`LlamaForCausalLM`), so the bundled prism-tiny runs without torch. Llama and Mistral checkpoints share this
layout; anything else is refused with a `ModelError` that says to use the torch engine.

    >>> engine = LlamaEngine.from_folder(Path("src/tokenprism/assets/prism-tiny"))   # doctest: +SKIP
    >>> step = engine.forward([12, 34])          # logits for the token after 34, and a cache  # doctest: +SKIP
    >>> step = engine.forward([56], step.cache)  # one more token: only its own maths is done  # doctest: +SKIP
    >>> int(step.logits.argmax())                # the greedy next id                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, InvalidTokenId, ModelError
from ..files import read_json

__all__ = ["Forward", "LlamaCache", "LlamaEngine", "LlamaLayer"]

#: model_type values whose checkpoints have exactly the Llama layout (Mistral adds only a sliding window).
SUPPORTED_TYPES = ("llama", "mistral")
_USE_TORCH = "use the torch engine (--engine torch) for this model"


@dataclass(frozen=True)
class Forward:
    """What one forward call returns.

    logits         float32 [vocab]: the scores for the token after the last id (softmax gives probabilities)
    cache          the cache holding every position seen so far (the one passed in, grown), or None
    hidden_states  with hidden_states=True: num_layers + 1 arrays [n_new, hidden], as transformers returns
                   them: [0] is the embeddings, [i] the output of layer i, and the last one the final layer's
                   output AFTER the final RMSNorm (the vector the head reads)
    attentions     with attentions=True: per layer, [num_heads, n_new, n_total] attention weights; each row
                   sums to 1 over the positions (cached and new) that query could see
    all_logits     with all_logits=True: float32 [n_new, vocab], the logits after every new position
                   (the last row is `logits`)
    residual       with hidden_states=True: the final layer's output BEFORE the final RMSNorm [n_new, hidden]
                   (what a logit lens unembeds; hidden_states[-1] is this after the norm)
    """

    logits: np.ndarray
    cache: LlamaCache | None
    hidden_states: list[np.ndarray] | None = None
    attentions: list[np.ndarray] | None = None
    all_logits: np.ndarray | None = None
    residual: np.ndarray | None = None


@dataclass(frozen=True)
class LlamaLayer:
    """One decoder layer's weights, laid out for `x @ w` (transposed once at load, never per token).

    q, k and v projections are stacked side by side into one matrix (one product instead of three), and so
    are the MLP's gate and up projections: the same numbers as the checkpoint, fewer calls per token.
    """

    attn_norm: np.ndarray  # [hidden]
    qkv: np.ndarray  # [hidden, (heads + 2 * kv_heads) * head_dim]
    qkv_bias: np.ndarray | None
    out: np.ndarray  # [heads * head_dim, hidden]
    out_bias: np.ndarray | None
    mlp_norm: np.ndarray  # [hidden]
    gate_up: np.ndarray  # [hidden, 2 * intermediate]
    gate_up_bias: np.ndarray | None
    down: np.ndarray  # [intermediate, hidden]
    down_bias: np.ndarray | None


class LlamaCache:
    """The keys and values of every layer for the positions seen so far (the "KV cache").

    Attention at a new position needs the keys and values of all earlier positions. They never change once
    computed, so they are kept here and each step computes only its own. Storage is preallocated and doubled
    when full (amortised O(1) per token, no per-step concatenation). `forward` grows the cache in place and
    returns it, as transformers' DynamicCache does.
    """

    def __init__(self, num_layers: int, kv_heads: int, head_dim: int, *, dtype: np.dtype, capacity: int = 64) -> None:
        shape = (kv_heads, capacity, head_dim)
        self.keys = [np.empty(shape, dtype) for _ in range(num_layers)]
        self.values = [np.empty(shape, dtype) for _ in range(num_layers)]
        self.length = 0

    def __len__(self) -> int:
        return self.length

    get_seq_length = __len__  # transformers' name for it

    def crop(self, max_length: int) -> None:
        """Keep the first `max_length` positions; a negative value drops that many from the end
        (transformers' DynamicCache.crop). The storage is kept; later positions overwrite it."""
        keep = self.length + max_length if max_length < 0 else max_length
        self.length = max(0, min(self.length, keep))

    def reserve(self, total: int) -> None:
        """Make room for `total` positions, doubling the storage so that growth is rare."""
        capacity = self.keys[0].shape[1]
        if total <= capacity:
            return
        capacity = max(total, 2 * capacity)
        for store in (self.keys, self.values):
            for i, old in enumerate(store):
                new = np.empty((old.shape[0], capacity, old.shape[2]), old.dtype)
                new[:, : self.length] = old[:, : self.length]
                store[i] = new

    def store(self, layer: int, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write one layer's new keys and values [kv_heads, n_new, head_dim] after the held positions and
        return views of all of them. `length` moves on once every layer has stored (in `_decode`)."""
        end = self.length + keys.shape[1]
        self.keys[layer][:, self.length : end] = keys
        self.values[layer][:, self.length : end] = values
        return self.keys[layer][:, :end], self.values[layer][:, :end]


class LlamaEngine:
    """A Llama-architecture causal LM in numpy: weights, rotary tables and the forward pass.

    >>> engine = LlamaEngine.from_folder(Path("src/tokenprism/assets/prism-tiny"))   # doctest: +SKIP
    >>> engine.forward([12, 34]).logits.shape                                        # doctest: +SKIP
    (8192,)
    """

    def __init__(self, config: dict, tensors: dict[str, np.ndarray], *, dtype: str = "float32") -> None:
        self.config = config
        self.dtype = _pick_dtype(dtype)
        shape = _check_config(config)
        self.num_layers, self.heads, self.kv_heads, self.head_dim, self.hidden, self.intermediate, self.vocab = shape
        self.eps = _rope_number(config, "rms_norm_eps", 1e-6, what="config.json")
        self.scale = self.head_dim**-0.5  # softmax(q·k / √d): keeps the scores' spread independent of d
        self.window = config.get("sliding_window") if config.get("model_type") == "mistral" else None
        self.inv_freq = rope_frequencies(config, self.head_dim)
        self.num_parameters = _check_tensors(self, tensors)
        self._load(tensors)
        self._cos = self._sin = np.empty((0, self.head_dim // 2), self.dtype)

    @classmethod
    def from_folder(cls, folder: Path, *, dtype: str = "float32") -> LlamaEngine:
        """Read `config.json` and the safetensors weights (one file or an index of shards) in `folder`."""
        folder = Path(folder)
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise ModelError(f"{folder} has no config.json; point at a folder saved with save_pretrained()")
        config = read_json(config_path, error=ModelError, expect=dict)
        _check_config(config)  # refuse a GPT-2 before reading its weights
        return cls(config, read_safetensors(folder), dtype=dtype)

    @property
    def context_length(self) -> int | None:
        """Most positions the model was trained to attend to (config's max_position_embeddings)."""
        value = self.config.get("max_position_embeddings")
        return value if isinstance(value, int) and value > 0 else None

    # --- loading -------------------------------------------------------------------------------
    def _load(self, tensors: dict[str, np.ndarray]) -> None:
        def weight(name: str) -> np.ndarray:
            return _to_float(tensors[name], self.dtype)

        def linear(*names: str) -> np.ndarray:
            # checkpoints store [out, in] (torch's Linear); x @ w wants [in, out], contiguous, once
            return np.ascontiguousarray(np.concatenate([weight(f"{n}.weight") for n in names]).T)

        def bias(*names: str) -> np.ndarray | None:
            if not any(f"{n}.bias" in tensors for n in names):
                return None  # the usual Llama: no biases at all
            # a projection without a bias adds zeros (its output size is its weight's row count)
            return np.concatenate([weight(f"{n}.bias") if f"{n}.bias" in tensors
                                   else np.zeros(len(tensors[f"{n}.weight"]), self.dtype) for n in names])

        self.embed = weight("model.embed_tokens.weight")
        # The head scores a hidden vector against every vocabulary row. Tied models reuse the embedding
        # matrix (reading and writing tokens share one table); [vocab, hidden] row-major is already the
        # layout a matrix-vector product wants, so neither case is transposed.
        tied = self.config.get("tie_word_embeddings", False)
        self.head = self.embed if tied else np.ascontiguousarray(weight("lm_head.weight"))
        self.final_norm = weight("model.norm.weight")
        self.layers = []
        for i in range(self.num_layers):
            p = f"model.layers.{i}."
            attn = [f"{p}self_attn.{x}_proj" for x in ("q", "k", "v")]
            mlp = [f"{p}mlp.{x}_proj" for x in ("gate", "up")]
            self.layers.append(LlamaLayer(
                attn_norm=weight(f"{p}input_layernorm.weight"),
                qkv=linear(*attn), qkv_bias=bias(*attn),
                out=linear(f"{p}self_attn.o_proj"), out_bias=bias(f"{p}self_attn.o_proj"),
                mlp_norm=weight(f"{p}post_attention_layernorm.weight"),
                gate_up=linear(*mlp), gate_up_bias=bias(*mlp),
                down=linear(f"{p}mlp.down_proj"), down_bias=bias(f"{p}mlp.down_proj"),
            ))

    # --- the forward pass ----------------------------------------------------------------------
    def new_cache(self, capacity: int = 64) -> LlamaCache:
        return LlamaCache(self.num_layers, self.kv_heads, self.head_dim, dtype=self.dtype, capacity=capacity)

    def forward(
        self,
        ids: Sequence[int],
        cache: LlamaCache | None = None,
        *,
        use_cache: bool = True,
        hidden_states: bool = False,
        attentions: bool = False,
        all_logits: bool = False,
    ) -> Forward:
        """Run `ids` (after the positions `cache` already holds) and score the token that comes next.

        A cache passed in is read and grown in place, as transformers' DynamicCache is (even with
        use_cache=False, which only means that no cache is made or returned).

        >>> first = engine.forward([12, 34])                                    # doctest: +SKIP
        >>> engine.forward([56], first.cache).logits  # = forward([12, 34, 56])  # doctest: +SKIP
        """
        work = cache if cache is not None else self.new_cache(len(ids) if not use_cache else max(64, len(ids)))
        x, states, weights = self._decode(self._check_ids(ids), work, hidden_states=hidden_states, attentions=attentions)
        residual = None
        if states is not None:  # transformers' convention: the last hidden state is the one after the final norm
            residual, states[-1] = states[-1], x
        if all_logits:
            every = (x @ self.head.T).astype(np.float32, copy=False)
            return Forward(every[-1], work if use_cache else None, states, weights, every, residual)
        # Only the last position's scores are needed to pick the next token: one row, not n
        logits = (self.head @ x[-1]).astype(np.float32, copy=False)
        return Forward(logits, work if use_cache else None, states, weights, residual=residual)

    def token_logprobs(self, ids: Sequence[int]) -> list[float]:
        """Forced decoding: log p(ids[i] | ids[:i]) for every i ≥ 1, in one pass (natural log).

        >>> engine.token_logprobs([12, 34, 56])          # two numbers: for 34, then for 56   # doctest: +SKIP
        """
        checked = self._check_ids(ids)
        x, _, _ = self._decode(checked, self.new_cache(len(checked)))
        # float64 log-softmax: a sum of thousands of tiny probabilities loses digits in float32
        logits = (x[:-1] @ self.head.T).astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        logprobs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        return logprobs[np.arange(len(checked) - 1), checked[1:]].tolist()

    def _decode(
        self, ids: np.ndarray, cache: LlamaCache, *, hidden_states: bool = False, attentions: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray] | None, list[np.ndarray] | None]:
        """ids → final normed hidden states [n, hidden], through every layer, storing keys and values
        (`states`, when asked: the embeddings and every layer's output, all before the final norm)."""
        start, n = cache.length, len(ids)
        cache.reserve(start + n)
        cos, sin = self._rotary(start + n)
        cos, sin = cos[start : start + n, None, :], sin[start : start + n, None, :]  # [n, 1, head_dim/2]
        mask = self._mask(start, n)
        x = self.embed[ids]  # a token's vector is just its row of the embedding table
        states = [x] if hidden_states else None
        weights: list[np.ndarray] | None = [] if attentions else None
        for i, layer in enumerate(self.layers):
            # Pre-norm residual blocks: each block reads a normalised copy and adds its result back, so
            # the residual stream carries every earlier layer's contribution forward unchanged.
            attended, probs = self._attention(i, layer, self._rms_norm(x, layer.attn_norm), cache, cos, sin, mask)
            x = x + attended
            x = x + self._mlp(layer, self._rms_norm(x, layer.mlp_norm))
            if weights is not None:
                weights.append(probs)
            if states is not None:
                states.append(x)
        cache.length += n
        return self._rms_norm(x, self.final_norm), states, weights

    def _rms_norm(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Scale each vector to unit root-mean-square, then by a learned per-dimension gain. Unlike
        LayerNorm it does not subtract the mean: cheaper, and works as well for transformers."""
        return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps))

    def _attention(
        self, i: int, layer: LlamaLayer, h: np.ndarray, cache: LlamaCache,
        cos: np.ndarray, sin: np.ndarray, mask: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Grouped-query self-attention of the n new positions over every position so far.

        Each of the `heads` query heads asks its own question; keys and values have only `kv_heads` heads,
        each shared by a group of heads // kv_heads query heads (GQA: a smaller cache, nearly the same
        quality). Grouping the query heads by the key head they share turns all heads into one batched
        matrix product, with no Python loop over heads and no copies of the shared keys.
        """
        n, heads, kv, d = h.shape[0], self.heads, self.kv_heads, self.head_dim
        qkv = linear(h, layer.qkv, layer.qkv_bias).reshape(n, heads + 2 * kv, d)
        qk = rotate(qkv[:, : heads + kv], cos, sin)  # positions enter through q and k only
        q, k, v = qk[:, :heads], qk[:, heads:], qkv[:, heads + kv :]
        keys, values = cache.store(i, k.transpose(1, 0, 2), v.transpose(1, 0, 2))  # [kv, total, d]
        total, group = keys.shape[1], heads // kv
        # [n, heads, d] → [kv, group * n, d]: query head h = g_kv * group + g reads key head g_kv
        q = (q * self.scale).transpose(1, 0, 2).reshape(kv, group * n, d)
        scores = q @ keys.transpose(0, 2, 1)  # [kv, group * n, total]: how well each query matches each key
        if mask is not None:
            scores = (scores.reshape(kv, group, n, total) + mask).reshape(kv, group * n, total)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))  # softmax, shifted so exp cannot overflow
        scores /= scores.sum(axis=-1, keepdims=True)
        mixed = scores @ values  # each query's weighted average of the values it attends to
        mixed = mixed.reshape(heads, n, d).transpose(1, 0, 2).reshape(n, heads * d)
        return linear(mixed, layer.out, layer.out_bias), scores.reshape(heads, n, total)

    def _mlp(self, layer: LlamaLayer, h: np.ndarray) -> np.ndarray:
        """SwiGLU: down(silu(gate(h)) * up(h)). The gate decides, per hidden unit, how much of `up` passes."""
        gate_up = linear(h, layer.gate_up, layer.gate_up_bias)
        gate, up = gate_up[:, : self.intermediate], gate_up[:, self.intermediate :]
        # silu(x) = x·sigmoid(x), and sigmoid(x) = (1 + tanh(x/2)) / 2 never overflows, unlike 1/(1+e^-x)
        return linear(gate * (0.5 + 0.5 * np.tanh(0.5 * gate)) * up, layer.down, layer.down_bias)

    def _rotary(self, total: int) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin tables [positions, head_dim/2], grown (doubled) as positions are reached."""
        if total > len(self._cos):
            positions = np.arange(max(total, 2 * len(self._cos), 64), dtype=np.float32)
            # float32 angles as transformers computes them: the same rounding, the same numbers
            angles = positions[:, None] * self.inv_freq[None, :]
            self._cos, self._sin = np.cos(angles).astype(self.dtype), np.sin(angles).astype(self.dtype)
        return self._cos, self._sin

    def _mask(self, start: int, n: int) -> np.ndarray | None:
        """Additive mask [n, start + n]: 0 where a query may look, -inf where it may not (a later position,
        or, for a sliding window, one too far back). None when nothing is hidden (one new token, no window)."""
        if n == 1 and (not self.window or start < self.window):
            return None  # the common decoding step: skip building a mask of zeros
        query = np.arange(start, start + n)[:, None]
        key = np.arange(start + n)[None, :]
        hidden = key > query
        if self.window:
            hidden |= key <= query - self.window
        return np.where(hidden, -np.inf, 0.0).astype(self.dtype) if hidden.any() else None

    def _check_ids(self, ids: Sequence[int]) -> np.ndarray:
        array = np.asarray(ids)
        if array.ndim != 1 or len(array) == 0:
            raise InputError("the model needs at least one token id (a flat list of integers)")
        if array.dtype.kind not in "iu" or array.min() < 0 or array.max() >= self.vocab:
            raise InvalidTokenId(next(x for x in ids if not isinstance(x, (int, np.integer)) or not 0 <= x < self.vocab),
                                 self.vocab)
        return array.astype(np.intp, copy=False)

    def __repr__(self) -> str:
        return f"<LlamaEngine {self.num_layers} layers, {self.num_parameters:,} parameters, numpy/{self.dtype}>"


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """x @ weight (+ bias): a learned linear map, as torch's nn.Linear with its weight pre-transposed."""
    out = x @ weight
    if bias is not None:
        out += bias
    return out


def rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotary position embedding: turn each pair of dimensions (i, i + d/2) of a query or key by an angle
    proportional to its position. The dot product of two rotated vectors then depends only on how far
    apart they are, which is all attention needs to know about order.

    x [n, heads, d]; cos, sin [n, 1, d/2] (the "rotate_half" pairing of transformers' Llama).
    """
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate((x1 * cos - x2 * sin, x2 * cos + x1 * sin), axis=-1)


def rope_frequencies(config: dict, head_dim: int) -> np.ndarray:
    """The rotation speed of each dimension pair: theta^(-2i/d), optionally rescaled to stretch the
    context ("linear": all slowed by `factor`; "llama3": only the slow, long-wavelength ones).

    Reads both spellings of the config: transformers 5's `rope_parameters` and the older `rope_theta`
    + `rope_scaling`.
    """
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if not isinstance(params, dict):
        raise ModelError(f"config.json's rotary settings are {str(params)[:40]!r}, not an object; fix rope_parameters (or rope_scaling)")
    if any(isinstance(value, dict) for value in params.values()):
        raise ModelError(f"per-layer rotary settings (rope_parameters by layer type) are not supported; {_USE_TORCH}")
    kind = params.get("rope_type", params.get("type", "default"))
    theta = _rope_number(params | {"rope_theta": params.get("rope_theta", config.get("rope_theta"))}, "rope_theta", 10000.0)
    partial = params.get("partial_rotary_factor", config.get("partial_rotary_factor", 1.0))
    if partial not in (None, 1, 1.0):
        raise ModelError(f"partial_rotary_factor={partial} is not supported by the numpy engine; {_USE_TORCH}")
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    if kind == "default":
        return inv_freq.astype(np.float32)
    if kind == "linear":
        return (inv_freq / _rope_number(params, "factor")).astype(np.float32)
    if kind == "llama3":
        return _llama3_frequencies(inv_freq, params, config)
    raise ModelError(f"rope_type {kind!r} is not supported by the numpy engine (default, linear, llama3 are); {_USE_TORCH}")


def _llama3_frequencies(inv_freq: np.ndarray, params: dict, config: dict) -> np.ndarray:
    """Llama 3.1's rescaling: wavelengths shorter than original_len / high_freq_factor are kept, those
    longer than original_len / low_freq_factor are divided by `factor`, and the band between is blended."""
    factor, low, high = (_rope_number(params, key) for key in ("factor", "low_freq_factor", "high_freq_factor"))
    # a top-level original_max_position_embeddings wins over rope_scaling's, as in transformers
    original = _rope_number(params | config, "original_max_position_embeddings", config.get("max_position_embeddings"))
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > original / low, inv_freq / factor, inv_freq)
    smooth = (original / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    middle = (wavelen >= original / high) & (wavelen <= original / low)
    return np.where(middle, blended, scaled).astype(np.float32)


def _rope_number(params: dict, key: str, default: float | None = None, *, what: str = "the rotary settings") -> float:
    value = params.get(key)
    value = default if value is None else value
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ModelError(f"{what}: a positive {key} is needed (found {str(value)[:40]!r}); fix config.json")
    return float(value)


# --- reading and checking the files --------------------------------------------------------------
def read_safetensors(folder: Path) -> dict[str, np.ndarray]:
    """Every tensor of `model.safetensors` (or of the shards `model.safetensors.index.json` lists).

    Parsed by safetensors itself (`safetensors.deserialize`); the raw bytes become numpy arrays here,
    because numpy has no bfloat16: those are read as uint16 and widened in `_to_float`.
    """
    from safetensors import deserialize

    from .loading import weight_files, weights_errors

    plan = weight_files(folder, allow_pickle=False)  # the same files, chosen the same way, as on torch
    tensors: dict[str, np.ndarray] = {}
    for path in plan.files:
        with weights_errors(folder, what=path.name):
            for key, view in deserialize(path.read_bytes()):
                tensors[key] = _from_bytes(key, view)
    return tensors


_STORED = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def _from_bytes(key: str, view: dict) -> np.ndarray:
    kind = _STORED.get(view["dtype"])
    if kind is None:
        raise ModelError(f"tensor {key} is stored as {view['dtype']}; the numpy engine reads F32, F16 and BF16 weights")
    return np.frombuffer(view["data"], dtype=kind).reshape(view["shape"])


def _to_float(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Weights as `dtype`. bfloat16 is the top half of a float32, so shifting its 16 bits up is exact."""
    if array.dtype == np.uint16:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return np.ascontiguousarray(array, dtype=dtype)


def _pick_dtype(dtype: str) -> np.dtype:
    if dtype in ("auto", "float32", "float64"):
        return np.dtype(np.float64 if dtype == "float64" else np.float32)
    raise ModelError(f"dtype {dtype!r} is not supported by the numpy engine; use float32 (or float64 to check numerics)")


def _check_config(config: dict) -> tuple[int, int, int, int, int, int, int]:
    """(layers, heads, kv_heads, head_dim, hidden, intermediate, vocab), or a ModelError naming what is off."""
    kind = config.get("model_type")
    if kind not in SUPPORTED_TYPES:
        raise ModelError(f"model_type {kind!r} is not a Llama-architecture model (the numpy engine runs "
                         f"{', '.join(SUPPORTED_TYPES)}); {_USE_TORCH}")
    if config.get("hidden_act", "silu") != "silu":
        raise ModelError(f"hidden_act {config['hidden_act']!r} is not supported (Llama uses silu); {_USE_TORCH}")
    hidden, heads = _size(config, "hidden_size"), _size(config, "num_attention_heads")
    kv = _size(config, "num_key_value_heads", heads)  # absent: one key head per query head (plain attention)
    head_dim = _size(config, "head_dim", hidden // heads)
    sizes = (_size(config, "num_hidden_layers"), heads, kv, head_dim, hidden,
             _size(config, "intermediate_size"), _size(config, "vocab_size"))
    if heads % kv or head_dim % 2:
        raise ModelError(f"config.json has inconsistent sizes (heads {heads}, kv heads {kv}, head_dim {head_dim}); "
                         "num_attention_heads must be a multiple of num_key_value_heads and head_dim even")
    return sizes


def _size(config: dict, key: str, default: int | None = None) -> int:
    value = config.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ModelError(f"config.json's {key} is {value!r}, not a positive integer; re-save the model with save_pretrained()")
    return value


def _check_tensors(engine: LlamaEngine, tensors: dict[str, np.ndarray]) -> int:
    """Every tensor the config implies is there with the right shape; returns the parameter count."""
    e = engine
    last = f"model.layers.{e.num_layers - 1}.input_layernorm.weight"
    if last not in tensors:  # before listing every layer's tensors: num_hidden_layers may be 2**40
        raise ModelError(f"the weights lack {last}; config.json's num_hidden_layers ({e.num_layers}) does not match the checkpoint")
    q, kv = e.heads * e.head_dim, e.kv_heads * e.head_dim
    expected = {"model.embed_tokens.weight": (e.vocab, e.hidden), "model.norm.weight": (e.hidden,)}
    if not e.config.get("tie_word_embeddings", False):
        expected["lm_head.weight"] = (e.vocab, e.hidden)
    for i in range(e.num_layers):
        p = f"model.layers.{i}."
        expected.update({
            f"{p}input_layernorm.weight": (e.hidden,), f"{p}post_attention_layernorm.weight": (e.hidden,),
            f"{p}self_attn.q_proj.weight": (q, e.hidden), f"{p}self_attn.k_proj.weight": (kv, e.hidden),
            f"{p}self_attn.v_proj.weight": (kv, e.hidden), f"{p}self_attn.o_proj.weight": (e.hidden, q),
            f"{p}mlp.gate_proj.weight": (e.intermediate, e.hidden), f"{p}mlp.up_proj.weight": (e.intermediate, e.hidden),
            f"{p}mlp.down_proj.weight": (e.hidden, e.intermediate),
        })
    for name in [n for n in tensors if n.endswith("_proj.bias")]:  # optional (attention_bias, mlp_bias)
        weight = expected.get(name.removesuffix(".bias") + ".weight")
        if weight:
            expected[name] = weight[:1]  # one bias per output row
    for name, shape in expected.items():
        if name not in tensors:
            raise ModelError(f"the weights lack {name}; the checkpoint does not match its config.json (re-save it)")
        if tuple(tensors[name].shape) != shape:
            raise ModelError(f"{name} has shape {tuple(tensors[name].shape)}, config.json implies {shape}; "
                             "the weights and config.json do not belong together")
    return sum(int(np.prod(shape)) for shape in expected.values())
