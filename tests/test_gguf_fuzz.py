"""Mutated real GGUF files: a typed error or a working tokenizer, never a hang, a crash or another exception.

Hypothesis rewrites the fields that steer parsing (version, counts, key and string lengths, value and array
types, array lengths) with hostile values, flips bytes in the metadata, and truncates files; each mutant is
loaded and, when it loads, used: encode (special tokens parsed and not), offsets, labels, decode, info."""

from __future__ import annotations

import json
import struct
import tempfile
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import find_fixture
from tokenprism.errors import TokenizerFileError
from tokenprism.tokenizers.gguf import GGUFTokenizer

SOURCES = [f"llama-cpp-vocab/ggml-vocab-{name}.gguf" for name in ("bert-bge", "llama-spm", "phi-3", "gpt-2")]
SAMPLES = ["Hello world, I'm here!", "  <s>x</s> [CLS] <|endoftext|> ", "ＡＢＣ 鸟 🦙 \t\n é", ""]
HOSTILE = [0, 1, 2, 3, 7, 8, 9, 12, 13, 255, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 32, 1 << 62, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

pytestmark = pytest.mark.timeout(120)


class Layout(NamedTuple):
    """Where things are in a well-formed file, found by walking it the plain way (not with the reader under test)."""

    fields: tuple[tuple[int, int], ...]  # (offset, width) of the version, counts, lengths and types
    values: tuple[tuple[int, int], ...]  # (offset, width) of numbers: scalars and some array elements
    texts: tuple[tuple[int, int], ...]  # (start, end) of string contents: scalars and some array elements
    end: int  # where the metadata ends


_WIDTH = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


@cache
def source(index: int) -> tuple[bytes, Layout]:
    """A fixture's bytes and layout (the last index: a t5 file written with gguf-py)."""
    if index == len(SOURCES):
        pytest.importorskip("gguf")
        from gguf_writers import write_t5_gguf

        spiece = find_fixture("tokenizers/flan-t5/spiece.model")
        if spiece is None:
            pytest.skip("flan-t5 is not here")
        data = write_t5_gguf(spiece, Path(tempfile.mkdtemp()) / "t5.gguf").read_bytes()
    else:
        path = find_fixture(SOURCES[index])
        if path is None:
            pytest.skip(f"{SOURCES[index]} is not here")
        data = path.read_bytes()
    return data, _layout(data)


def _layout(data: bytes) -> Layout:
    fields, values, texts = [(4, 4), (8, 8), (16, 8)], [], []
    pos = 24

    def string(pos: int, keep: bool) -> int:
        size = struct.unpack_from("<Q", data, pos)[0]
        if keep:
            fields.append((pos, 8))
            texts.append((pos + 8, pos + 8 + size))
        return pos + 8 + size

    for _ in range(struct.unpack_from("<Q", data, 16)[0]):
        pos = string(pos, True)
        fields.append((pos, 4))
        vtype = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if vtype == 9:
            fields += [(pos, 4), (pos + 4, 8)]
            elem, count = struct.unpack_from("<IQ", data, pos)
            pos += 12
            if elem == 8:
                for i in range(count):
                    pos = string(pos, i < 3 or i >= count - 2 or i % 997 == 0)
            else:
                width = _WIDTH[elem]
                values += [(pos + i * width, width) for i in range(0, count, max(1, count // 40))]
                pos += width * count
        elif vtype == 8:
            pos = string(pos, True)
        else:
            values.append((pos, _WIDTH[vtype]))
            pos += _WIDTH[vtype]
    return Layout(tuple(fields), tuple(values), tuple(texts), pos)


def use(data: bytes) -> None:
    """Load a mutant; it must be refused with a one-line TokenizerFileError, or work."""
    with tempfile.NamedTemporaryFile(suffix=".gguf") as fh:
        fh.write(data)
        fh.flush()
        try:
            tok = GGUFTokenizer(fh.name)
        except TokenizerFileError as exc:
            assert "\n" not in str(exc)
            return
    for text in SAMPLES:
        for split in (False, True):
            try:
                enc = tok.encode(text, split_special_tokens=split)
            except TokenizerFileError as exc:  # a corrupt charsmap is found when it is walked
                assert "\n" not in str(exc)
                continue
            assert all(0 <= i < tok.vocab_size for i in enc.ids)
            assert len(enc.offsets) == len(enc.ids)
            [t.label for t in enc.tokens]
            tok.decode(enc.ids)
            tok.decode(enc.ids, skip_special_tokens=True)
    json.dumps(tok.info().to_dict())


N_SOURCES = len(SOURCES) + 1  # and a t5 file written with gguf-py (its precompiled_charsmap)


@SETTINGS
@given(st.integers(0, N_SOURCES - 1), st.data())
def test_hostile_values_in_the_fields_that_steer_parsing(index: int, draw) -> None:
    data, layout = source(index)
    offset, width = draw.draw(st.sampled_from(layout.fields))
    value = draw.draw(st.sampled_from(HOSTILE) | st.integers(0, (1 << (8 * width)) - 1)) % (1 << (8 * width))
    mutant = bytearray(data)
    mutant[offset : offset + width] = value.to_bytes(width, "little")
    use(bytes(mutant))


@SETTINGS
@given(st.integers(0, N_SOURCES - 1), st.data())
def test_flipped_bytes_in_the_metadata(index: int, draw) -> None:
    data, layout = source(index)
    near = st.sampled_from([o for o, _ in layout.fields]).flatmap(lambda o: st.integers(o, o + 11))
    flips = draw.draw(st.lists(st.tuples(st.integers(0, layout.end - 1) | near, st.integers(1, 255)), min_size=1, max_size=6))
    mutant = bytearray(data)
    for pos, mask in flips:
        if pos < len(mutant):
            mutant[pos] ^= mask
    use(bytes(mutant))


@SETTINGS
@given(st.integers(0, N_SOURCES - 1), st.data())
def test_truncated_files(index: int, draw) -> None:
    data, layout = source(index)
    cut = draw.draw(st.integers(0, len(data) - 1) | st.sampled_from([o + d for o, _ in layout.fields for d in (0, 3)]))
    use(data[:cut])


@SETTINGS
@given(st.integers(0, N_SOURCES - 1), st.data())
def test_odd_values_in_a_well_formed_file(index: int, draw) -> None:
    """The structure stays valid and the values go strange: special ids, flags, token types and scores
    (NaN and infinities among them), token texts (duplicates, bytes that are not UTF-8, a model or
    pre-tokenizer name changed in place)."""
    data, layout = source(index)
    mutant = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 5))):
        if layout.texts and draw.draw(st.booleans()):
            start, end = draw.draw(st.sampled_from(layout.texts))
            if end > start:
                pos = draw.draw(st.integers(start, end - 1))
                mutant[pos] = draw.draw(st.sampled_from(b"<>\x00\x80\xff0a ") | st.integers(0, 255))
        else:
            offset, width = draw.draw(st.sampled_from(layout.values))
            value = draw.draw(st.sampled_from(HOSTILE) | st.integers(0, (1 << (8 * width)) - 1)) % (1 << (8 * width))
            mutant[offset : offset + width] = value.to_bytes(width, "little")
    use(bytes(mutant))
