"""FIM training data from files to files in one call: read the documents → cut them into units →
transform (and encode) the units on an engine → write text, JSONL or token-id shards.

Each fragment draws from its own numbered random stream (transform.py), so the local and the Ray
engine write the same output; the CLI's `fim-transform` is this function behind options.

>>> from tokenprism.fim import write_fim_data
>>> summary = write_fim_data(["src/"], "fim.jsonl", tokenizer="prism-tiny", fim_rate=0.9)   # doctest: +SKIP
>>> summary["outputs"], summary["format"]                                                 # doctest: +SKIP
(42, 'jsonl')
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import InputError, TokenprismError, UsageError
from .sentinels import Sentinels
from .transform import Level, Unit, check_rates, fim_units, transform_unit
from .writers import open_writer, pick_format

if TYPE_CHECKING:
    from ..corpus.readers import Paths
    from ..tokenizers.base import Tokenizer

__all__ = ["write_fim_data", "FimWork", "BATCH_CHARS"]

#: Characters of text transformed (and tokenized) per batch.
BATCH_CHARS = 4 << 20


class FimWork:
    """The engines' work: a batch of units → their output strings, or their token ids when a
    tokenizer is given. Pickled to a Ray worker it keeps the tokenizer's spec and loads it there."""

    def __init__(self, *, sentinels: Sentinels, seed: int, fim_rate: float, spm_rate: float,
                 tokenizer: Tokenizer | None = None) -> None:
        from ..corpus.engines import ray_spec

        self.sentinels, self.seed, self.fim_rate, self.spm_rate = sentinels, seed, fim_rate, spm_rate
        self.tokenizer = tokenizer
        self.spec = ray_spec(tokenizer) if tokenizer is not None else None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "tokenizer": None}

    def __call__(self, units: list[Unit]) -> list:
        texts = [transform_unit(u, sentinels=self.sentinels, seed=self.seed, fim_rate=self.fim_rate,
                                spm_rate=self.spm_rate) for u in units]
        if self.spec is None:
            return texts
        if self.tokenizer is None:
            from ..tokenizers.registry import load_tokenizer

            self.tokenizer = load_tokenizer(self.spec)
        # nothing added around a text; sentinels parsed as special. The library's encoder, or past a few
        # MB the tokenizer's verified fast engine, spot-checked (tokenizers/fast.py)
        from ..tokenizers.fast import IdsRun, checked_ids

        note = IdsRun()  # which engine encoded this batch (another thread may change the run's meanwhile)
        rows = checked_ids(self.tokenizer).rows(texts, note=note)
        return IdLists(rows, engine=" + ".join(note.engines))


class IdLists(list):
    """A batch's id lists, with the name of the engine that produced them (for meta.json)."""

    def __init__(self, rows: list[list[int]], *, engine: str) -> None:
        super().__init__(rows)
        self.engine = engine


def write_fim_data(
    paths: Paths,
    output: str | os.PathLike[str],
    *,
    tokenizer: str | Tokenizer = "prism-tiny",
    sentinels: Sentinels | str | None = None,
    field: str | None = None,
    fim_rate: float = 0.5,
    spm_rate: float = 0.5,
    level: Level = "document",
    context_length: int = 2048,
    seed: int = 0,
    output_format: str = "auto",
    shard_tokens: int = 1 << 26,
    engine: str = "local",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Make fill-in-the-middle training data from files and folders (text, ``.jsonl`` and
    ``.parquet`` with the text under `field`) and write it to `output`: ``.txt`` text, ``.jsonl``
    JSONL, anything else a folder of token-id ``.npy`` shards with meta.json (or `output_format`
    "text" / "jsonl" / "ids"). Returns the summary (for ids, the same as meta.json).

    `sentinels` default to the tokenizer's own (an object, or "PRE,SUF,MID,EOT"); the tokenizer is
    loaded only where it is needed (ids, `level="context"`, or finding the sentinels).
    `engine` is a key of `tokenprism.corpus.engines.ENGINES`.

    >>> write_fim_data("docs.jsonl", "out.txt", sentinels="<PRE>,<SUF>,<MID>,<EOT>", seed=1)   # doctest: +SKIP
    {'output': 'out.txt', 'format': 'text', 'outputs': 100, 'documents': 100, ...}
    """
    # the corpus package (and numpy) only when data is written: `import tokenprism.fim` stays light
    from ..corpus import read_corpus
    from ..corpus.engines import batches, get_engine

    check_rates(fim_rate, spm_rate)
    fmt = pick_format(output, requested=output_format)
    if shard_tokens < 1:
        raise UsageError(f"--shard-tokens must be at least 1; got {shard_tokens}")
    run = get_engine(engine)
    tok = _load(tokenizer) if (fmt == "ids" or level == "context" or not sentinels) else None
    marks = _sentinels(sentinels, tok)
    sentinel_ids = marks.check_single_tokens(tok) if fmt == "ids" else None
    # whole documents (no parts): the transform cuts each document itself
    reader = read_corpus(paths, field=field, group_by="none", part_chars=sys.maxsize)
    units = fim_units(_located(reader, marks), sentinels=marks, level=level, context_length=context_length,
                      tokenizer=tok)
    work = FimWork(sentinels=marks, seed=seed, fim_rate=fim_rate, spm_rate=spm_rate,
                   tokenizer=tok if fmt == "ids" else None)
    writer = open_writer(fmt, Path(output), field=field or "text", tokenizer=tok, shard_tokens=shard_tokens)
    ids_engines: dict[str, None] = {}
    try:
        for outputs in run(batches(units, batch_chars=BATCH_CHARS, batch_items=1 << 30, chars=_unit_chars), work,
                           address=ray_address):
            writer.write(outputs)
            ids_engines.setdefault(getattr(outputs, "engine", ""))
        return writer.close(meta={
            "documents": reader.report.documents, "files": reader.report.files, "level": level,
            "context_length": context_length if level == "context" else None, "fim_rate": fim_rate, "spm_rate": spm_rate,
            "seed": seed, "sentinels": marks.to_dict(), "sentinel_ids": sentinel_ids, "engine": engine,
            **({"ids_engine": " + ".join(e for e in ids_engines if e)} if fmt == "ids" else {}),
            "skipped": reader.report.to_dict()["skipped"],
        })
    except BaseException as exc:  # an error, Ctrl-C: no output at all rather than one that looks whole
        writer.abort()
        if isinstance(exc, TokenprismError) and exc.args:
            exc.args = (f"{exc.args[0]}; nothing was written to {output}", *exc.args[1:])
        raise


def _located(reader: Any, marks: Sentinels) -> Iterator[str]:
    """The reader's texts; one holding a sentinel is refused naming its file and line (a sentinel typed in
    the data would make the output ambiguous), before the transform would name only its number."""
    for doc in reader:
        for s in marks.as_tuple():
            at = doc.text.find(s)
            if at >= 0:
                path, line = reader.location
                where = f"{path}:{line + doc.text.count(chr(10), 0, at)}" if line is not None else f"{path} (a Parquet row)"
                raise InputError(f"{where}: the text contains the sentinel {s!r}; remove it or choose other --sentinels")
        yield doc.text


def _load(tokenizer: str | Tokenizer) -> Tokenizer:
    if not isinstance(tokenizer, str):
        return tokenizer
    from ..tokenizers.registry import load_tokenizer

    return load_tokenizer(tokenizer)


def _sentinels(sentinels: Sentinels | str | None, tok: Tokenizer | None) -> Sentinels:
    if isinstance(sentinels, Sentinels):
        return sentinels
    return Sentinels.parse(sentinels) if sentinels else Sentinels.from_tokenizer(tok)


def _unit_chars(unit: Unit) -> int:
    return sum(len(f.text) for _, f in unit)
