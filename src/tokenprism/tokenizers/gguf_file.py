"""Read a GGUF file (llama.cpp, Ollama, LM Studio): header, metadata and tensor table, never tensor data.

The file is memory-mapped and walked once. Every count and length is checked against the bytes that are
really left before anything is allocated for it, so a corrupt or hostile file costs time and memory in
proportion to its size, never to what its header claims; every problem is a one-line `TokenizerFileError`
that names the field.

    with GGUFFile(path) as gguf:
        gguf.get("tokenizer.ggml.model")          # "gpt2"
        gguf.strings("tokenizer.ggml.tokens")     # ["!", '"', …]
        gguf.numbers("tokenizer.ggml.scores")     # a numpy array (copied out of the map)

Layout (little-endian): "GGUF", version u32 (2 or 3), tensor count u64, key/value count u64, then the pairs
(key string, value type u32, value), then one entry per tensor (name, n_dims u32, dims u64…, ggml type u32,
offset u64), then the tensor data at the next multiple of `general.alignment` (default 32).
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import TokenizerFileError

__all__ = ["GGUFFile", "TensorInfo", "GGML_TYPES", "ARRAY", "STRING", "TYPE_NAMES", "show", "read_strings"]

STRING, ARRAY = 8, 9
#: value type → struct format of one scalar (STRING and ARRAY are variable-sized)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<b", 10: "<Q", 11: "<q", 12: "<d"}
_NUMPY = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<i1", 10: "<u8", 11: "<i8", 12: "<f8"}
TYPE_NAMES = {0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool", 8: "string",
              9: "array", 10: "u64", 11: "i64", 12: "f64"}
_INTEGERS = {0, 1, 2, 3, 4, 5, 10, 11}

#: ggml tensor type id → (name, elements per block, bytes per block); ids of removed types are absent.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}

_MAX_DIMS = 4
_MAX_TENSOR_NAME = 63  # ggml keeps names in a 64-byte buffer
_DEFAULT_ALIGNMENT = 32
# The smallest possible encodings, for checking a claimed count against the bytes left:
_MIN_KV = 8 + 1 + 4 + 1      # key length, a one-byte key, type, a one-byte value
_MIN_TENSOR = 8 + 4 + 4 + 8  # name length, n_dims, type, offset


def show(raw: bytes | str, limit: int = 60) -> str:
    """A key or token as it can appear in a one-line message: control characters escaped, cut short."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    shown = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class TensorInfo(NamedTuple):
    """One entry of the tensor table: where a tensor's data lies, never the data."""

    name: str
    shape: tuple[int, ...]
    type: int
    offset: int  # from the start of the data section

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def type_name(self) -> str:
        return GGML_TYPES[self.type][0]

    @property
    def n_bytes(self) -> int:
        _, block, size = GGML_TYPES[self.type]
        return self.n_elements // block * size


class _Array(NamedTuple):
    elem_type: int
    count: int
    offset: int  # of the first element in the file
    end: int  # just past the last element
    heads: list[int] | None = None  # string arrays: where each element's length field starts


class _Cursor:
    """A read position in the mapped file that refuses to step past its end."""

    __slots__ = ("buf", "pos", "end", "fail")

    def __init__(self, buf: Any, fail: Any) -> None:
        self.buf, self.pos, self.end, self.fail = buf, 0, len(buf), fail

    def left(self) -> int:
        return self.end - self.pos

    def unpack(self, fmt: str, size: int, what: str) -> Any:
        if size > self.end - self.pos:
            raise self.fail(what, f"is cut off (the file ends {self.end - self.pos} bytes later)")
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self, what: str) -> bytes:
        size = self.unpack("<Q", 8, f"{what} (length)")
        if size > self.end - self.pos:
            raise self.fail(what, f"claims {size:,} bytes but only {self.end - self.pos:,} are left in the file")
        data = self.buf[self.pos : self.pos + size]
        self.pos += size
        return data


class GGUFFile:
    """The parsed header, metadata and tensor table of a GGUF file (a context manager: the map is closed
    on exit; what was read stays usable)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.metadata: dict[str, Any] = {}
        self.value_types: dict[str, int] = {}
        self.tensors: list[TensorInfo] = []
        self.alignment = _DEFAULT_ALIGNMENT
        self.data_offset = 0
        self._map: mmap.mmap | None = None
        try:
            with open(self.path, "rb") as fh:
                self.size = os.fstat(fh.fileno()).st_size
                if self.size < 24:
                    raise self._fail("header", f"is cut off: the file has only {self.size} bytes")
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise TokenizerFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            self._parse(_Cursor(self._map, self._fail))
        except BaseException:
            self.close()
            raise

    # --- access ---------------------------------------------------------------------------------
    def __enter__(self) -> GGUFFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def __contains__(self, key: str) -> bool:
        return key in self.metadata

    def get(self, key: str, default: Any = None) -> Any:
        """A scalar value (int, float, bool or str), or `default` when the key is absent."""
        value = self.metadata.get(key, default)
        return default if isinstance(value, _Array) else value

    def typed(self, key: str, kind: type, default: Any = None) -> Any:
        """A scalar of the given Python kind (int, float, bool, str), or a TokenizerFileError naming the key."""
        if key not in self.metadata:
            return default
        value = self.metadata[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise self._fail(f"metadata key '{key}'", f"is {self.type_name(key)}, expected {kind.__name__}")
        return value

    def type_name(self, key: str) -> str:
        value = self.metadata.get(key)
        if isinstance(value, _Array):
            return f"an array of {value.count:,} {TYPE_NAMES.get(value.elem_type, '?')}"
        return TYPE_NAMES.get(self.value_types.get(key, -1), "?")

    def array_info(self, key: str) -> tuple[int, int] | None:
        """(element type, count) of an array value; None when the key is absent or not an array."""
        value = self.metadata.get(key)
        return (value.elem_type, value.count) if isinstance(value, _Array) else None

    def strings(self, key: str) -> list[str]:
        """A string array's elements, decoded from UTF-8 (bytes that are not UTF-8 become surrogate
        escapes, so distinct byte strings stay distinct). TokenizerFileError when it is not a string array."""
        return read_strings(*self.string_region(key))

    def string_region(self, key: str) -> tuple[bytes, np.ndarray]:
        """A string array's raw bytes (a copy, usable after the file is closed) and where each element's
        length field starts in them, for reading later with `read_strings` (a BPE's merges are needed
        only once text is tokenized)."""
        value = self.metadata.get(key)
        if not isinstance(value, _Array) or value.heads is None:
            raise self._fail(f"metadata key '{key}'", f"is {self.type_name(key)}, expected an array of strings")
        if self._map is None:
            raise TokenizerFileError(f"{self.path}: the file was closed before '{key}' was read")
        return self._map[value.offset : value.end], np.array(value.heads, dtype=np.int64) - value.offset

    def numbers(self, key: str, allowed: tuple[int, ...]) -> np.ndarray:
        """A numeric array as a numpy array copied out of the map; its element type must be in `allowed`."""
        value = self.metadata.get(key)
        if not isinstance(value, _Array) or value.elem_type not in allowed:
            wanted = " or ".join(TYPE_NAMES[t] for t in allowed)
            raise self._fail(f"metadata key '{key}'", f"is {self.type_name(key)}, expected an array of {wanted}")
        if self._map is None:
            raise TokenizerFileError(f"{self.path}: the file was closed before '{key}' was read")
        view = np.frombuffer(self._map, dtype=_NUMPY[value.elem_type], count=value.count, offset=value.offset)
        copy = view.copy()
        del view  # let the map close: no buffer stays exported
        return copy

    def tensor_bytes(self, info: TensorInfo) -> np.ndarray:
        """A tensor's raw bytes (uint8, copied out of the map): for model engines. Tokenizing never calls this."""
        if self._map is None:
            raise TokenizerFileError(f"{self.path}: the file was closed before tensor '{info.name}' was read")
        view = np.frombuffer(self._map, dtype=np.uint8, count=info.n_bytes, offset=self.data_offset + info.offset)
        copy = view.copy()
        del view
        return copy

    # --- parsing --------------------------------------------------------------------------------
    def _fail(self, field: str, problem: str) -> TokenizerFileError:
        return TokenizerFileError(
            f"{self.path}: {field} {problem}; the GGUF file is truncated or corrupt (download or convert it again)"
        )

    def _parse(self, cur: _Cursor) -> None:
        magic = bytes(cur.buf[:4])
        if magic != b"GGUF":
            raise TokenizerFileError(
                f"{self.path} is not a GGUF file (it starts with {magic!r}, not b'GGUF'); "
                "pass a .gguf model or vocab file from llama.cpp, Ollama or LM Studio"
            )
        cur.pos = 4
        self.version = cur.unpack("<I", 4, "version")
        if self.version in (2, 3):
            pass
        elif self.version & 0xFFFF == 0 and self.version:
            raise self._fail("version", f"reads {self.version:#x}: a big-endian GGUF, which this reader does not support")
        elif self.version == 1:
            raise TokenizerFileError(f"{self.path} is GGUF version 1, which llama.cpp no longer reads; convert it again")
        else:
            raise self._fail("version", f"is {self.version}; GGUF versions 2 and 3 are supported")
        n_tensors = cur.unpack("<Q", 8, "tensor count")
        n_kv = cur.unpack("<Q", 8, "metadata count")
        if n_kv > cur.left() // _MIN_KV:
            raise self._fail("metadata count", f"claims {n_kv:,} key/value pairs, more than the {cur.left():,} bytes left can hold")
        for index in range(n_kv):
            self._read_pair(cur, index)
        self._read_alignment()
        if n_tensors > cur.left() // _MIN_TENSOR:
            raise self._fail("tensor count", f"claims {n_tensors:,} tensors, more than the {cur.left():,} bytes left can hold")
        names: set[str] = set()
        for index in range(n_tensors):
            info = self._read_tensor(cur, index)
            if info.name in names:
                raise self._fail(f"tensor {index}", f"repeats the name '{show(info.name)}'")
            names.add(info.name)
            self.tensors.append(info)
        self.data_offset = -(-cur.pos // self.alignment) * self.alignment if n_tensors else cur.pos
        self._check_tensor_bounds()

    def _read_pair(self, cur: _Cursor, index: int) -> None:
        raw_key = cur.string(f"metadata key {index}")
        if not raw_key:
            raise self._fail(f"metadata key {index}", "is empty")
        key = raw_key.decode("utf-8", "replace")
        if key in self.metadata:
            raise self._fail(f"metadata key '{show(key)}'", "appears twice")
        field = f"metadata key '{show(key)}'"
        vtype = cur.unpack("<I", 4, f"{field} (type)")
        self.value_types[key] = vtype
        if vtype == ARRAY:
            self.metadata[key] = self._read_array(cur, field)
        else:
            self.metadata[key] = self._read_scalar(cur, vtype, field)

    def _read_scalar(self, cur: _Cursor, vtype: int, field: str) -> Any:
        if vtype == STRING:
            return cur.string(field).decode("utf-8", "replace")
        fmt = _SCALARS.get(vtype)
        if fmt is None:
            raise self._fail(field, f"has unknown value type {vtype}")
        value = cur.unpack(fmt, struct.calcsize(fmt), field)
        return bool(value) if vtype == 7 else value

    def _read_array(self, cur: _Cursor, field: str) -> _Array:
        elem_type = cur.unpack("<I", 4, f"{field} (array type)")
        count = cur.unpack("<Q", 8, f"{field} (array length)")
        if elem_type == ARRAY:
            raise self._fail(field, "is an array of arrays, which GGUF readers (llama.cpp included) do not accept")
        if elem_type == STRING:
            if count > cur.left() // 8:
                raise self._fail(field, f"claims {count:,} strings, more than the {cur.left():,} bytes left can hold")
            start = cur.pos
            heads = _walk_strings(cur, count, field)
            return _Array(STRING, count, start, cur.pos, heads)
        fmt = _SCALARS.get(elem_type)
        if fmt is None:
            raise self._fail(field, f"is an array of unknown value type {elem_type}")
        size = struct.calcsize(fmt)
        if count > cur.left() // size:
            raise self._fail(field, f"claims {count:,} elements of {size} bytes, more than the {cur.left():,} bytes left")
        offset = cur.pos
        cur.pos += count * size
        return _Array(elem_type, count, offset, cur.pos)

    def _read_alignment(self) -> None:
        if "general.alignment" not in self.metadata:
            return
        value = self.metadata["general.alignment"]
        if self.value_types["general.alignment"] != 4:
            raise self._fail("metadata key 'general.alignment'", f"is {self.type_name('general.alignment')}, expected u32")
        if value == 0 or value & (value - 1):
            raise self._fail("metadata key 'general.alignment'", f"is {value}, not a power of two")
        self.alignment = value

    def _read_tensor(self, cur: _Cursor, index: int) -> TensorInfo:
        raw_name = cur.string(f"tensor {index} (name)")
        name = raw_name.decode("utf-8", "replace")
        field = f"tensor '{show(name)}'"
        if len(raw_name) > _MAX_TENSOR_NAME:
            raise self._fail(f"tensor {index} (name)", f"is {len(raw_name)} bytes long; ggml allows {_MAX_TENSOR_NAME}")
        n_dims = cur.unpack("<I", 4, f"{field} (number of dimensions)")
        if n_dims > _MAX_DIMS:
            raise self._fail(field, f"has {n_dims} dimensions; ggml allows {_MAX_DIMS}")
        shape = tuple(cur.unpack("<Q", 8, f"{field} (dimension {i})") for i in range(n_dims))
        if any(dim >= 1 << 63 for dim in shape):
            raise self._fail(field, f"has a negative dimension {shape}")
        ggml_type = cur.unpack("<I", 4, f"{field} (type)")
        if ggml_type not in GGML_TYPES:
            raise self._fail(field, f"has unknown ggml type {ggml_type}")
        offset = cur.unpack("<Q", 8, f"{field} (offset)")
        info = TensorInfo(name, shape, ggml_type, offset)
        name_, block, _ = GGML_TYPES[ggml_type]
        if shape and shape[0] % block:
            raise self._fail(field, f"has rows of {shape[0]} elements, not a multiple of {name_}'s block of {block}")
        if info.n_elements >= 1 << 63:
            raise self._fail(field, f"has {info.n_elements:,} elements, more than ggml can index")
        return info

    def _check_tensor_bounds(self) -> None:
        room = self.size - self.data_offset
        for info in self.tensors:
            if info.offset % self.alignment:
                raise self._fail(f"tensor '{show(info.name)}'", f"starts at offset {info.offset:,}, not a multiple of the alignment {self.alignment}")
            if info.offset > room or info.n_bytes > room - info.offset:
                raise self._fail(
                    f"tensor '{show(info.name)}'",
                    f"spans bytes {info.offset:,}–{info.offset + info.n_bytes:,} of the data section, beyond the file's {room:,}",
                )


def _walk_strings(cur: _Cursor, count: int, field: str) -> list[int]:
    """Walk past a string array (each element: a u64 length and that many bytes), checking every length
    against the bytes left; where each element starts. The hot loop of opening a large vocabulary."""
    buf, pos, end = cur.buf, cur.pos, cur.end
    unpack = struct.Struct("<Q").unpack_from
    heads: list[int] = []
    append = heads.append
    for i in range(count):
        if end - pos < 8:
            cur.pos = pos
            raise cur.fail(f"{field} (element {i:,} of {count:,})", "is cut off")
        append(pos)
        size = unpack(buf, pos)[0]
        if size > end - pos - 8:
            cur.pos = pos
            raise cur.fail(f"{field} (element {i:,} of {count:,})", f"claims {size:,} bytes but only {end - pos - 8:,} are left")
        pos += 8 + size
    cur.pos = pos
    return heads


def read_strings(region: bytes, heads: np.ndarray) -> list[str]:
    """The elements of a walked string array (`string_region`), decoded from UTF-8 (bytes that are not
    UTF-8 as surrogate escapes).

    Decoding 150,000 strings one by one costs more than the rest of loading a vocabulary, so the
    length fields are cut out with numpy, leaving one NUL before each string, and the whole is
    decoded and split at once (one by one only when a string itself holds a NUL)."""
    data = np.frombuffer(region, dtype=np.uint8).copy()
    keep = np.ones(len(data), dtype=bool)
    for k in range(7):
        keep[heads + k] = False
    data[heads + 7] = 0
    parts = data[keep].tobytes().decode("utf-8", "surrogateescape").split("\x00")
    if len(parts) == len(heads) + 1:
        return parts[1:]
    unpack = struct.Struct("<Q").unpack_from
    out = []
    for head in heads.tolist():
        size = unpack(region, head)[0]
        out.append(region[head + 8 : head + 8 + size].decode("utf-8", "surrogateescape"))
    return out
