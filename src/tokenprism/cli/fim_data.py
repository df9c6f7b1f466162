"""fim-transform: FIM training data from files, folders, JSONL and Parquet (Bavarian et al. 2022).

The transform itself is `tokenprism.fim.transform`; this module reads the corpus, runs the transform
on the local or the Ray engine (the same numbered fragments either way, so the same output), and
writes text, JSONL or token-id shards.
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import click

from ._app import app
from ._common import json_option, tokenizer_option
from ._io import emit_json, load

FORMATS = ("auto", "text", "jsonl", "ids")
_BATCH_CHARS = 4 << 20  # text transformed and tokenized per batch
_RAY_WINDOW = 4096  # units sent to Ray at a time (memory stays bounded)


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs to turn units into output strings or ids."""

    sentinels: Any
    seed: int
    fim_rate: float
    spm_rate: float
    spec: str | None  # the tokenizer to encode with (ids output), as a spec a worker can load

    def outputs(self, units: list, tokenizer: Any = None) -> list:
        from ..fim import transform_unit

        texts = [
            transform_unit(u, sentinels=self.sentinels, seed=self.seed, fim_rate=self.fim_rate, spm_rate=self.spm_rate)
            for u in units
        ]
        return texts if tokenizer is None else _encode_ids(tokenizer, texts)


def _encode_ids(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Ids through the backend's fast batch path where it has one (sentinels parsed as special)."""
    fast = getattr(tokenizer, "encode_ids_batch", None)
    if fast is not None:
        return fast(texts)
    return [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


@app.command("fim-transform")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="out.txt (text), out.jsonl (JSONL) or a folder (token-id .npy shards); see --format.")
@click.option("--field", help="JSONL key / Parquet column holding the text (default: text); also the JSONL output key.")
@click.option("--fim-rate", type=float, default=0.5, show_default=True, help="Share of documents given FIM.")
@click.option("--spm-rate", type=float, default=0.5, show_default=True, help="Share of FIM documents in SPM order.")
@click.option("--level", type=click.Choice(["document", "context"]), default="document", show_default=True,
              help="document: transform whole documents; context: pack into --context-length tokens first.")
@click.option("--context-length", type=int, default=2048, show_default=True, help="Tokens per context (--level context).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same output.")
@tokenizer_option
@click.option("--sentinels", help="Explicit sentinel strings PRE,SUF,MID,EOT (default: the tokenizer's own).")
@click.option("--format", "out_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="auto: from -o (.txt text, .jsonl JSONL, else a folder of token ids).")
@click.option("--shard-tokens", type=int, default=1 << 26, show_default=True, help="Token ids per .npy shard.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process; ray: Ray Data (a local Ray, or --ray-address).")
@click.option("--ray-address", help="Address of an existing Ray cluster (default: start a local Ray).")
@json_option
def fim_transform_cmd(paths, output, field, fim_rate, spm_rate, level, context_length, seed, spec, sentinels,
                      out_format, shard_tokens, engine, ray_address, as_json):
    """Make fill-in-the-middle training data: with probability --fim-rate cut each document at two
    random characters into prefix/middle/suffix and write PSM (<PRE>p<SUF>s<MID>m<EOT>) or, for
    --spm-rate of them, SPM (<PRE><SUF>s<MID>p m<EOT>). Un-permutable; --seed makes it repeatable.

    \b
    Examples:
      tokenprism fim-transform src/ -o fim.jsonl -t prism-tiny
      tokenprism fim-transform docs.jsonl --field content -o fim.txt --sentinels '<PRE>,<SUF>,<MID>,<EOT>'
      tokenprism fim-transform corpus/ -o shards/ -t bigcode/starcoder2-3b --level context --context-length 4096
    """
    from ..corpus import read_corpus
    from ..errors import UsageError
    from ..fim import Sentinels, check_rates, fim_units

    check_rates(fim_rate, spm_rate)
    fmt = _output_format(output, out_format)
    if shard_tokens < 1:
        raise UsageError(f"--shard-tokens must be at least 1; got {shard_tokens}")
    tok = load(spec) if (fmt == "ids" or level == "context" or not sentinels) else None
    marks = Sentinels.parse(sentinels) if sentinels else Sentinels.from_tokenizer(tok)
    sentinel_ids = marks.check_single_tokens(tok) if fmt == "ids" else None
    reader = read_corpus(paths, field=field, group_by="none", part_chars=sys.maxsize)
    units = fim_units((d.text for d in reader), sentinels=marks, level=level, context_length=context_length, tokenizer=tok)
    job = _Job(marks, seed, fim_rate, spm_rate, _worker_spec(tok) if fmt == "ids" else None)
    if engine == "ray":
        batches = _ray_batches(units, job, address=ray_address)
    else:
        batches = _local_batches(units, job, tok if fmt == "ids" else None)
    writer = _writer(fmt, Path(output), field=field or "text", tok=tok, shard_tokens=shard_tokens)
    for batch in batches:
        writer.write(batch)
    summary = writer.close(meta={
        "documents": reader.report.documents, "files": reader.report.files, "level": level,
        "context_length": context_length if level == "context" else None, "fim_rate": fim_rate, "spm_rate": spm_rate,
        "seed": seed, "sentinels": marks.to_dict(), "sentinel_ids": sentinel_ids, "engine": engine,
        "skipped": reader.report.to_dict()["skipped"],
    })
    if as_json:
        emit_json(summary)
    else:
        tokens = f", {summary['tokens']:,} tokens" if "tokens" in summary else ""
        click.echo(f"{summary['documents']:,} documents → {summary['outputs']:,} {level} outputs{tokens} → "
                   f"{summary['output']} ({summary['format']})")


def _output_format(output: str, out_format: str) -> str:
    if out_format != "auto":
        return out_format
    suffix = Path(output).suffix.lower()
    return {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix, "ids")


def _worker_spec(tok: Any) -> str:
    from ..corpus.engines import ray_spec

    return ray_spec(tok)


def _chunks(units: Iterable[list], *, max_chars: int, max_units: int) -> Iterator[list]:
    """Group units into batches of bounded text size."""
    batch, size = [], 0
    for unit in units:
        batch.append(unit)
        size += sum(len(f.text) for _, f in unit)
        if size >= max_chars or len(batch) >= max_units:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _local_batches(units: Iterable[list], job: _Job, tokenizer: Any) -> Iterator[list]:
    for batch in _chunks(units, max_chars=_BATCH_CHARS, max_units=1 << 30):
        yield job.outputs(batch, tokenizer)


class _TransformBatch:
    """A Ray Data batch function: unpickles units, transforms (and encodes) them, keeps their order."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.tokenizer: Any = None

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        if self.job.spec is not None and self.tokenizer is None:
            from ..tokenizers.registry import load_tokenizer

            self.tokenizer = load_tokenizer(self.job.spec)
        outs = self.job.outputs([pickle.loads(u) for u in batch["unit"]], self.tokenizer)
        return {"order": batch["order"], "out": np.array([pickle.dumps(o) for o in outs], dtype=object)}


def _ray_batches(units: Iterable[list], job: _Job, *, address: str | None) -> Iterator[list]:
    from ..corpus.engines import import_ray, start_ray

    ray = import_ray()
    start_ray(ray, address)
    for window in _chunks(units, max_chars=64 << 20, max_units=_RAY_WINDOW):
        items = [{"order": k, "unit": pickle.dumps(u)} for k, u in enumerate(window)]
        ds = ray.data.from_items(items).map_batches(_TransformBatch(job), batch_size=256, batch_format="numpy")
        rows = sorted(ds.iter_rows(), key=lambda r: int(r["order"]))
        yield [pickle.loads(r["out"]) for r in rows]


# --- writers ---------------------------------------------------------------------------------------
class _TextWriter:
    """The transformed stream as one text file (each output already ends with its EOT where due)."""

    format = "text"

    def __init__(self, path: Path, **_: Any) -> None:
        self.path, self.count = path, 0
        self.fh = _open_for_writing(path)

    def _line(self, out: str) -> str:
        return out

    def write(self, outputs: list) -> None:
        self.fh.writelines(self._line(o) for o in outputs)
        self.count += len(outputs)

    def close(self, *, meta: dict[str, Any]) -> dict[str, Any]:
        self.fh.close()
        return {"output": str(self.path), "format": self.format, "outputs": self.count, **meta}


class _JsonlWriter(_TextWriter):
    format = "jsonl"

    def __init__(self, path: Path, *, field: str, **_: Any) -> None:
        super().__init__(path)
        self.field = field

    def _line(self, out: str) -> str:
        return json.dumps({self.field: out}, ensure_ascii=False) + "\n"


class _IdsWriter:
    """Token ids as a flat stream in .npy shards (uint16 where every id fits, else uint32), plus
    meta.json describing how they were made."""

    format = "ids"

    def __init__(self, path: Path, *, tok: Any, shard_tokens: int, **_: Any) -> None:
        import numpy as np

        self.np, self.path, self.tok, self.shard_tokens = np, path, tok, shard_tokens
        self.dtype = np.uint16 if tok.vocab_size < 65536 else np.uint32
        self.pending: list[list[int]] = []
        self.pending_tokens = self.count = self.tokens = 0
        self.shards: list[dict[str, Any]] = []
        _make_folder(path)

    def write(self, outputs: list) -> None:
        self.pending.extend(outputs)
        self.pending_tokens += sum(map(len, outputs))
        self.count += len(outputs)
        while self.pending_tokens >= self.shard_tokens:
            self._flush(self.shard_tokens)

    def _flush(self, size: int) -> None:
        np = self.np
        stream = np.concatenate([np.asarray(ids, dtype=self.dtype) for ids in self.pending])
        name = f"shard-{len(self.shards):05d}.npy"
        self.np.save(self.path / name, stream[:size])
        self.shards.append({"file": name, "tokens": int(min(size, len(stream)))})
        rest = stream[size:]
        self.pending, self.pending_tokens = ([rest.tolist()] if len(rest) else []), len(rest)
        self.tokens += self.shards[-1]["tokens"]

    def close(self, *, meta: dict[str, Any]) -> dict[str, Any]:
        if self.pending_tokens:
            self._flush(self.pending_tokens)
        summary = {"output": str(self.path), "format": self.format, "outputs": self.count, "tokens": self.tokens,
                   "tokenizer": self.tok.name, "vocab_size": self.tok.vocab_size, "dtype": self.np.dtype(self.dtype).name,
                   "shards": self.shards, **meta}
        (self.path / "meta.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return summary


def _writer(fmt: str, path: Path, **options: Any) -> Any:
    return {"text": _TextWriter, "jsonl": _JsonlWriter, "ids": _IdsWriter}[fmt](path, **options)


def _open_for_writing(path: Path) -> Any:
    from ..errors import UsageError

    try:
        return open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by the writer
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another -o") from None


def _make_folder(path: Path) -> None:
    from ..errors import UsageError

    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; token ids go to a folder of .npy shards (or use -o out.jsonl / out.txt)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror}") from None
