#!/usr/bin/env python
"""Train prism-tiny, tokenprism's bundled model, from nothing but the running interpreter.

    python scripts/train_prism_tiny.py --minutes 66     # the shipped model (the card has the exact command)
    python scripts/train_prism_tiny.py                  # fixed seed and step budget: fully deterministic
    python scripts/train_prism_tiny.py --minutes 10     # a quick, smaller-budget run (stops early)

One torch thread by default: on a shared 2-core machine two threads wait on each other whenever
another process holds a core (measured: 10x slower); pass --threads on an idle machine.

Data: the `*.py` files of the Python standard library of this interpreter
(`sysconfig.get_paths()["stdlib"]`), without test folders and site-packages. The files named in
HELD_OUT are left out of training and used only to measure held-out loss.

1. A byte-level BPE tokenizer (Hugging Face `tokenizers`, 8192 ids) with `<|endoftext|>` and the
   StarCoder FIM sentinels `<fim_prefix>`, `<fim_middle>`, `<fim_suffix>`, `<fim_pad>` reserved.
2. A small LlamaForCausalLM trained on the same files after `tokenprism.fim.transform` at context
   level (fim_rate 0.5, spm_rate 0.5, a fresh FIM draw each epoch), AdamW + warmup + cosine decay.
3. The Hugging Face folder src/tokenprism/assets/prism-tiny/ (saved every few minutes, so a usable
   model exists even if the run is cut short) with a model card giving the figures of the run.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import platform
import random
import shutil
import sys
import sysconfig
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tokenprism.fim import Sentinels, transform  # noqa: E402

OUT = REPO / "src" / "tokenprism" / "assets" / "prism-tiny"
SPECIAL = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]
#: Standard-library modules kept out of training (present in every CPython 3.8-3.14).
HELD_OUT = (
    "bisect.py", "calendar.py", "colorsys.py", "csv.py", "difflib.py",
    "fnmatch.py", "fractions.py", "glob.py", "heapq.py", "shlex.py", "textwrap.py",
)
EXCLUDED_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


@dataclass
class Settings:
    seed: int = 1234
    vocab_size: int = 8192
    context_length: int = 256
    hidden_size: int = 256
    layers: int = 4
    heads: int = 8
    kv_heads: int = 4
    intermediate_size: int = 576
    batch_size: int = 8
    steps: int = 5000
    lr: float = 2.5e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 150
    weight_decay: float = 0.1
    fim_rate: float = 0.5
    spm_rate: float = 0.5
    block_chars: int = 600
    documents: str = "blocks"  # "functions": every short function as a FIM document (see short_functions); "mixed": both; "bodies": body_examples only
    function_lines: int = 24
    bare_copies: bool = False  # each documented function's body also as a middle after the bare signature
    eval_contexts: int = 96  # for the checkpoints along the way; the last one uses all


def stdlib_files(with_tests: bool = False) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files) of this interpreter's standard library, sorted; with its test
    suite when asked (less the tests of the held-out modules, which would quote them)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = EXCLUDED_DIRS - ({"test", "tests", "idle_test"} if with_tests else set())
    held_tests = {"test_" + name for name in HELD_OUT}
    files = sorted(
        p for p in root.rglob("*.py")
        if not skip.intersection(p.relative_to(root).parts[:-1])
        and (p.name not in held_tests if with_tests else not p.name.startswith("test_"))
    )
    held = [p for p in files if p.relative_to(root).as_posix() in HELD_OUT]
    return [p for p in files if p not in held], held


def read_texts(paths: list[Path]) -> list[str]:
    texts = []
    for p in paths:
        text = p.read_text(encoding="utf-8", errors="replace")
        if not any(s in text for s in SPECIAL):  # the sentinels must stay unambiguous
            texts.append(text)
    return texts


def train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def code_blocks(text: str, max_chars: int) -> list[str]:
    """Cut a file at blank lines into blocks of up to `max_chars` (a longer paragraph stays whole);
    the blocks join back to the file exactly.

    Blocks rather than whole files are the FIM documents: most then fit in one context, so the model
    often sees <|endoftext|> right after a middle and learns to stop an infill there.
    """
    blocks: list[str] = []
    for para in text.split("\n\n"):
        para = para + "\n\n"
        if blocks and len(blocks[-1]) + len(para) <= max_chars:
            blocks[-1] += para
        else:
            blocks.append(para)
    if blocks:
        blocks[-1] = blocks[-1][:-2]
    return [b for b in blocks if b]


class Function(NamedTuple):
    """A short function as a FIM document: its dedented text, and character spans in it."""

    text: str
    body: tuple[int, int] | None  # the code of the body (see short_functions), when on lines of its own
    docstring: tuple[int, int] | None  # the whole lines of a docstring that code follows, when on lines of its own


def short_functions(text: str, max_lines: int) -> list[Function]:
    """Every function and method of a file of at most `max_lines` lines, dedented to column 0, with
    the blank lines and first line of code that follow it; and where its body starts on a line of its
    own, the span of the body in that text (from the end of the signature, or of a docstring that
    code follows, to the end of the function).

    These are the shape of an infill request: a signature, a gap where the body goes, code after the
    function.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.splitlines(keepends=True)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.end_lineno is None:
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if node.end_lineno - first >= max_lines:
            continue
        end = node.end_lineno
        while end < len(lines) and not lines[end].strip():  # the blank lines after it
            end += 1
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        if end < len(lines) and lines[end].startswith(indent):  # and the next line at its level
            end += 1
        doc = textwrap.dedent("".join(lines[first - 1 : end]))
        starts = [0]  # where each line of `doc` starts; line i of the file is line i - first of doc
        for line in doc.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        if len(starts) - 1 <= node.end_lineno - first:  # dedent saw fewer lines (a form feed)
            out.append(Function(doc, None, None))
            continue
        body, docstring = _body_span(node, first, doc, starts), None
        # The code of the body is the middle: a docstring, when there is code after it, stays in the
        # prefix (a signature or a docstring, then the gap where the code goes).
        if body is not None and len(node.body) > 1 and _is_docstring(node.body[0]):
            d = node.body[0]
            if d.lineno > _signature_end(node) and node.body[1].lineno > d.end_lineno:
                docstring = (starts[d.lineno - first], starts[d.end_lineno - first + 1])
        out.append(Function(doc, body, docstring))
    return out


def _signature_end(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The last line of the signature: where the arguments, the return annotation, end."""
    parts = [node.args, *node.args.defaults, *node.args.kw_defaults] + ([node.returns] if node.returns else [])
    return max([node.lineno] + [getattr(p, "end_lineno", None) or node.lineno for p in parts if p is not None])


def _body_span(node, first: int, doc: str, starts: list[int]) -> tuple[int, int] | None:
    """From the newline that ends the line before the body's code to the end of the function's last
    line, when the code starts on a line of its own."""
    code = node.body[1:] if len(node.body) > 1 and _is_docstring(node.body[0]) else node.body
    body_line = code[0].lineno - first  # the first line of the code, counted in `doc`
    if body_line <= node.lineno - first:
        return None
    span = (starts[body_line] - 1, starts[node.end_lineno - first + 1] - 1)
    return span if doc[span[0]] == "\n" and doc[span[1]] == "\n" else None


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def without_docstring(f: Function) -> Function | None:
    """The same function with its docstring lines taken out, or None if it has none to take.

    The bare copy teaches that code, not a docstring, fills a gap right after a signature: over a
    third of the standard library's short functions open with a docstring, and a model trained on
    them alone answers `def add(a, b):` with one where code was asked for.
    """
    if f.docstring is None or f.body is None:
        return None
    a, b = f.docstring
    cut = b - a
    return Function(f.text[:a] + f.text[b:], (f.body[0] - cut, f.body[1] - cut), None)


def body_examples(texts: list[str], s: Settings) -> list[str]:
    """Structure-aware FIM (Gong et al., 2024, "Evaluation of LLMs on Syntax-Aware Code Fill-in-the-
    Middle Tasks"): besides random spans, make the middle a whole syntactic unit, here the code of a
    function's body: <fim_prefix>signature<fim_suffix>what follows<fim_middle>code<|endoftext|>. With token
    healing at inference (the prefix `def add(a, b):\n    ` is sent as `def add(a, b):` and the middle
    must start with the indent) this is exactly the shape of the infill request. With `bare_copies`
    each documented function comes a second time without its docstring (see without_docstring)."""
    out = []
    for text in texts:
        for f in short_functions(text, s.function_lines):
            for g in (f, without_docstring(f) if s.bare_copies else None):
                if g is not None and g.body is not None:
                    a, b = g.body
                    out.append(f"<fim_prefix>{g.text[:a]}<fim_suffix>{g.text[b:]}<fim_middle>{g.text[a:b]}<|endoftext|>")
    return out


def packed(examples: list[list[int]], length: int) -> list[list[int]]:
    """Examples laid one after another into contexts of at most `length` ids (longer ones dropped)."""
    contexts: list[list[int]] = [[]]
    for ids in examples:
        if len(ids) > length:
            continue
        if len(contexts[-1]) + len(ids) > length:
            contexts.append([])
        contexts[-1].extend(ids)
    return [c for c in contexts if c]


def fim_documents(texts: list[str], s: Settings) -> list[str]:
    """The documents the FIM transform cuts: blocks of whole files, short functions, or both ("mixed");
    none for "bodies", whose contexts are the structure-aware middles alone (see fim_contexts)."""
    blocks = [b for t in texts for b in code_blocks(t, s.block_chars)] if s.documents in ("blocks", "mixed") else []
    if s.documents in ("functions", "mixed"):
        return blocks + [f.text for t in texts for f in short_functions(t, s.function_lines)]
    return blocks


def fim_contexts(texts: list[str], tok, s: Settings, epoch: int) -> list[list[int]]:
    """Token ids of the FIM-transformed contexts of one epoch (each cropped to context_length)."""
    sentinels = Sentinels.starcoder()
    texts_in, texts = texts, fim_documents(texts, s)
    # Leave room for the three sentinels a FIM fragment adds, so few contexts need cropping.
    outs = list(transform(
        texts, sentinels=sentinels, fim_rate=s.fim_rate, spm_rate=s.spm_rate, level="context",
        context_length=s.context_length - 4, tokenizer=tok, seed=s.seed + epoch,
    ))
    contexts = [e.ids[: s.context_length] for e in tok.encode_batch(outs, add_special_tokens=False)]
    if s.documents in ("functions", "mixed", "bodies"):  # and every body as a middle of its own
        bodies = [e.ids for e in tok.encode_batch(body_examples(texts_in, s), add_special_tokens=False)]
        contexts += packed(bodies, s.context_length)
    return contexts


def plain_contexts(texts: list[str], tok, length: int) -> list[list[int]]:
    """Left-to-right contexts (documents joined by <|endoftext|>) for held-out evaluation."""
    eot = tok.token_to_id("<|endoftext|>")
    stream: list[int] = []
    for e in tok.encode_batch(texts, add_special_tokens=False):
        stream += e.ids + [eot]
    return [stream[i : i + length] for i in range(0, len(stream) - length + 1, length)]


def unigram_perplexity(train: list[list[int]], held: list[list[int]], vocab: int) -> float:
    """Perplexity of add-one-smoothed unigram frequencies of the training tokens on held-out tokens."""
    counts = [1] * vocab
    for ctx in train:
        for i in ctx:
            counts[i] += 1
    total = sum(counts)
    nll = [-math.log(counts[i] / total) for ctx in held for i in ctx[1:]]
    return math.exp(sum(nll) / len(nll))


def build_model(s: Settings, tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    eot, pad = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<fim_pad>")
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=s.hidden_size, intermediate_size=s.intermediate_size,
        num_hidden_layers=s.layers, num_attention_heads=s.heads, num_key_value_heads=s.kv_heads,
        max_position_embeddings=s.context_length, tie_word_embeddings=True, rope_theta=10000.0,
        bos_token_id=eot, eos_token_id=eot, pad_token_id=pad,
    )
    return LlamaForCausalLM(config)


def batches(contexts: list[list[int]], s: Settings, pad: int, rng: random.Random):
    """Shuffled (input_ids, labels) batches; padding is masked out of the loss."""
    import torch

    order = list(range(len(contexts)))
    rng.shuffle(order)
    for i in range(0, len(order) - s.batch_size + 1, s.batch_size):
        rows = [contexts[j] for j in order[i : i + s.batch_size]]
        ids = torch.full((len(rows), s.context_length), pad, dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = torch.tensor(row)
        labels = ids.masked_fill(ids == pad, -100)
        yield ids, labels


def learning_rate(step: int, s: Settings, time_progress: float = 0.0) -> float:
    """Linear warmup, then cosine decay to min_lr_ratio; under --minutes the decay also follows the
    clock, so a time-capped run still ends at a low learning rate."""
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = min(1.0, max(time_progress, (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps)))
    return s.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def held_out_loss(model, contexts: list[list[int]], batch: int = 16) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(contexts), batch):
            ids = torch.tensor(contexts[i : i + batch])
            out = model(input_ids=ids, labels=ids)
            n = ids.numel() - ids.shape[0]
            total, count = total + out.loss.item() * n, count + n
    model.train()
    return total / count


def save_folder(model, tok, s: Settings, card: dict, out: Path = OUT) -> None:
    """Write the HF folder next to `out`, then swap it in, so readers never see half a model."""
    import torch
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    n_params = sum(p.numel() for p in model.parameters())
    # The folder must stay under 20 MB with the tokenizer (~0.7 MB): float32 where it fits.
    dtype = torch.float32 if n_params * 4 <= 18_800_000 else torch.float16
    model.to(dtype).save_pretrained(tmp, safe_serialization=True)
    model.to(torch.float32)
    GenerationConfig(
        bos_token_id=model.config.bos_token_id, eos_token_id=model.config.eos_token_id,
        pad_token_id=model.config.pad_token_id, do_sample=False, max_new_tokens=64,
    ).save_pretrained(tmp)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>",
        pad_token="<fim_pad>", additional_special_tokens=SPECIAL[1:], model_max_length=s.context_length,
    )
    fast.save_pretrained(tmp)
    _portable_tokenizer_config(tmp / "tokenizer_config.json")
    (tmp / "model.safetensors").chmod(0o644)
    card["dtype"] = str(dtype).replace("torch.", "")
    (tmp / "README.md").write_text(model_card(s, card), encoding="utf-8")
    (tmp / "training_log.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _portable_tokenizer_config(path: Path) -> None:
    """Name the generic fast-tokenizer class and the v4 key too, so transformers 4.x loads it as well."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["additional_special_tokens"] = SPECIAL[1:]
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def model_card(s: Settings, c: dict) -> str:
    return f"""---
license: psf-2.0
library_name: transformers
pipeline_tag: text-generation
tags: [llama, code, python, fill-in-the-middle, tokenprism]
---
# prism-tiny

The bundled default model of tokenprism: a {c['params'] / 1e6:.2f}M-parameter Llama-architecture causal LM
with its own byte-level BPE tokenizer, trained on the Python standard library so that `explain`,
`generate`, `score` and `infill` work offline. It is a teaching toy: it completes common Python idioms
(tests/test_prism_tiny.py) and, trained with FIM, writes a middle in the right place and closes it, but
its bodies are seldom right (`def subtract(x, y):` gets `return x + y`, `def add(a, b):` gets
`self.assertEqual(a, b)`).

| | |
|---|---|
| data | `*.py` of the CPython {c['python']} standard library (site-packages excluded; its test suite only in the phases marked "with tests", less the tests of held-out modules): {c['train_files']} files, {c['train_mb']:.1f} MB in the last phase; held out: {c['held_files']} files ({', '.join(HELD_OUT)}) |
| tokenizer | byte-level BPE, {c['vocab_size']} ids; special: {', '.join(f'`{t}`' for t in SPECIAL)} |
| architecture | LlamaForCausalLM, hidden {s.hidden_size}, {s.layers} layers, {s.heads} heads ({s.kv_heads} KV), MLP {s.intermediate_size}, context {s.context_length}, tied embeddings |
| parameters | {c['params']:,} (stored as {c.get('dtype', 'float32')}) |
| FIM | `tokenprism.fim.transform` (the paper's random spans), level=context, spm_rate={s.spm_rate}, StarCoder sentinels (`<fim_prefix>`, `<fim_suffix>`, `<fim_middle>`, eot `<|endoftext|>`), a fresh draw per epoch, on documents that are `--documents blocks`: files cut at blank lines into blocks of ≤ {s.block_chars} characters, or `--documents functions`: every function of ≤ {s.function_lines} lines, dedented, plus each function's code as a whole middle (structure-aware FIM, `body_examples`), with `--bare-copies` also after the bare signature of each documented function (`without_docstring`); each phase's documents and fim_rate are listed under training |
| training | {c['step']} steps of {s.batch_size}×{s.context_length} tokens = {c['tokens']:,} tokens ({c['epochs']:.2f} epochs) in {len(c['phases'])} phase(s): {'; '.join(_phase_text(p) for p in c['phases'])}; AdamW, cosine to {s.min_lr_ratio}× of the peak, weight decay {s.weight_decay}, seed {s.seed} |
| wall time | {c['wall_minutes']:.1f} min on {c['machine']} (tokenizer {c['tokenizer_seconds']:.0f} s) |
| held-out loss | {c['held_loss']:.3f} nats/token, perplexity **{math.exp(c['held_loss']):.2f}** ({c['held_tokens']:,} tokens, left to right) |
| unigram baseline | perplexity {c['unigram_ppl']:.1f} (add-one unigram of the training tokens, same held-out tokens) |

## Use

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
path = "src/tokenprism/assets/prism-tiny"
tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)
ids = tok("if __name__ ==", return_tensors="pt").input_ids   # no trailing space: " '__main__'" is one token
print(tok.decode(model.generate(ids, max_new_tokens=8, do_sample=False)[0]))
# infill (PSM): <fim_prefix>PREFIX<fim_suffix>SUFFIX<fim_middle> → the middle, ended by <|endoftext|>
# (end PREFIX where a token ends: "def add(a, b):", not "def add(a, b):\\n    "; `tokenprism infill` heals this)
```

## Reproduce

Each phase continued from the folder the one before it wrote:

```
{chr(10).join(p['command'] for p in c['phases'])}
```

Settings: `{json.dumps(asdict(s))}`. The run is seeded: with a step budget alone (no `--minutes`)
it is deterministic given the same CPython standard library, torch build and `--threads`. Under
`--minutes` the learning-rate decay also follows the clock (so that a run cut short still ends at a low
rate); {'; '.join(f"phase {i + 1} {p.get('stopped_by', 'stopped at its step budget')}" for i, p in enumerate(c['phases']))}.
"""


def _prior_phases(prior: dict) -> list[dict]:
    """The phases a saved folder was trained in (a first-phase log written before phases were kept
    has one implicit phase with the default schedule)."""
    if not prior or "phases" in prior:
        return list(prior.get("phases", []))
    stopped = f"was stopped by its --minutes budget at step {prior['step']}" if "--minutes" in prior["command"] else None
    return [{"command": prior["command"].strip(), "lr": Settings.lr, "warmup_steps": Settings.warmup_steps,
             "steps": prior["step"], "tokens": prior["tokens"], "minutes": prior["wall_minutes"],
             **({"stopped_by": stopped} if stopped else {})}]


def _phase_text(p: dict) -> str:
    extras = (" with bare copies" if p.get("bare_copies") else "") + (", with tests" if p.get("with_tests") else "")
    data = f", {p.get('documents', 'blocks')}{extras} at fim_rate {p.get('fim_rate', Settings.fim_rate)}"
    return f"{p['steps']} steps, {p['tokens']:,} tokens, peak lr {p['lr']}, warmup {p['warmup_steps']}{data}, {p['minutes']:.1f} min"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=None, help="stop early after this many minutes")
    parser.add_argument("--steps", type=int, default=Settings.steps, help="optimizer steps (cosine schedule length)")
    parser.add_argument("--checkpoint-minutes", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (see above)")
    parser.add_argument("--probe", action="store_true", help="time a few steps and exit")
    parser.add_argument("--lr", type=float, default=Settings.lr, help="peak learning rate")
    parser.add_argument("--warmup-steps", type=int, default=Settings.warmup_steps)
    parser.add_argument("--continue-from", type=Path, default=None,
                        help="a saved prism-tiny folder: keep its tokenizer and weights and train on as a further phase")
    parser.add_argument("--fim-rate", type=float, default=Settings.fim_rate, help="share of documents FIM-transformed")
    parser.add_argument("--documents", choices=("blocks", "functions", "mixed", "bodies"), default=Settings.documents,
                        help="FIM documents: 600-character blocks of files, every short function (see short_functions), both, "
                             "or no random spans at all, only each function's code as the middle (body_examples)")
    parser.add_argument("--bare-copies", action="store_true",
                        help="with functions/mixed/bodies: each documented function's body also as a middle after its bare signature")
    parser.add_argument("--with-tests", action="store_true",
                        help="train on the standard library's test suite too (many small, plain functions)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the Hugging Face folder goes")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    s = Settings(steps=args.steps, lr=args.lr, warmup_steps=args.warmup_steps, fim_rate=args.fim_rate,
                 documents=args.documents, bare_copies=args.bare_copies)
    prior = json.loads((args.continue_from / "training_log.json").read_text()) if args.continue_from else {}
    phase = len(_prior_phases(prior))
    random.seed(s.seed)
    torch.manual_seed(s.seed)
    t0 = time.time()
    train_paths, held_paths = stdlib_files(args.with_tests)
    train_texts, held_texts = read_texts(train_paths), read_texts(held_paths)
    log(f"{len(train_texts)} training files ({sum(map(len, train_texts)) / 1e6:.1f} MB), {len(held_texts)} held out")
    if args.continue_from:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(args.continue_from / "tokenizer.json"))
    else:
        tok = train_tokenizer(train_texts, s.vocab_size)
    tokenizer_seconds = time.time() - t0
    log(f"tokenizer: {tok.get_vocab_size()} ids in {tokenizer_seconds:.0f} s")
    held = plain_contexts(held_texts, tok, s.context_length)
    held_eval = held[: s.eval_contexts]
    contexts = fim_contexts(train_texts, tok, s, epoch=100 * phase)  # each phase draws new FIM cuts
    train_plain = plain_contexts(train_texts, tok, s.context_length)
    unigram = {n: unigram_perplexity(train_plain, h, tok.get_vocab_size()) for n, h in ((len(held_eval), held_eval), (len(held), held))}
    log(f"epoch 0: {len(contexts)} contexts; held-out {len(held)} contexts; unigram ppl {unigram[len(held)]:.1f}")
    if args.continue_from:
        from transformers import LlamaForCausalLM

        model = LlamaForCausalLM.from_pretrained(args.continue_from, dtype=torch.float32)
    else:
        model = build_model(s, tok)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params:,} parameters")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.lr, betas=(0.9, 0.95), eps=1e-8,
    )
    pad = tok.token_to_id("<fim_pad>")
    rng = random.Random(s.seed + phase)
    card = {
        "python": platform.python_version(), "train_files": len(train_texts), "held_files": len(held_texts),
        "held_out": list(HELD_OUT), "train_mb": sum(map(len, train_texts)) / 1e6, "vocab_size": tok.get_vocab_size(), "params": n_params,
        "tokenizer_seconds": prior.get("tokenizer_seconds", tokenizer_seconds), "unigram_by_contexts": unigram,
        "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}), torch threads {args.threads}",
        "phases": _prior_phases(prior),
        "out": args.out,
    }
    this_phase = {"command": "python scripts/train_prism_tiny.py " + " ".join(sys.argv[1:] if argv is None else argv),
                  "lr": s.lr, "warmup_steps": s.warmup_steps, "fim_rate": s.fim_rate, "documents": s.documents,
                  **({"bare_copies": True} if s.bare_copies else {}), **({"with_tests": True} if args.with_tests else {}),
                  "steps": 0, "tokens": 0, "minutes": 0.0}
    card["phases"] = card["phases"] + [this_phase]
    step, epoch, t_train, last_save, tokens = 0, 0, time.time(), time.time(), 0
    model.train()
    while step < s.steps:
        for ids, labels in batches(contexts, s, pad, rng):
            time_progress = 0.0 if args.minutes is None else (time.time() - t0) / (args.minutes * 60)
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, s, time_progress)
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step, tokens = step + 1, tokens + int((labels != -100).sum())
            elapsed = time.time() - t_train
            if step % 10 == 0 or step <= 5:
                log(f"step {step}/{s.steps} loss {loss.item():.3f} lr {opt.param_groups[0]['lr']:.2e} "
                    f"{tokens / elapsed:.0f} tok/s elapsed {elapsed / 60:.1f} min")
            if args.probe and step >= 8:
                return
            out_of_time = args.minutes is not None and (time.time() - t0) / 60 >= args.minutes
            if step >= s.steps or out_of_time or time.time() - last_save >= args.checkpoint_minutes * 60:
                last = step >= s.steps or out_of_time
                if out_of_time:
                    this_phase["stopped_by"] = f"was stopped by its --minutes budget at step {step}"
                this_phase.update(steps=step, tokens=tokens, minutes=(time.time() - t0) / 60)
                checkpoint(model, tok, s, card, held if last else held_eval, len(contexts))
                last_save = time.time()
            if step >= s.steps or out_of_time:
                break
        if out_of_time:
            break
        epoch += 1
        contexts = fim_contexts(train_texts, tok, s, epoch=100 * phase + epoch)
    log(f"done in {(time.time() - t0) / 60:.1f} min: {step} steps, {tokens:,} tokens")


def checkpoint(model, tok, s: Settings, card: dict, held: list[list[int]], n_ctx: int) -> None:
    """Evaluate, total the phases so far, and save the folder with its card."""
    loss = held_out_loss(model, held)
    step = sum(p["steps"] for p in card["phases"])
    card.update(step=step, tokens=sum(p["tokens"] for p in card["phases"]), epochs=step * s.batch_size / n_ctx,
                held_loss=loss, held_tokens=len(held) * (s.context_length - 1),
                unigram_ppl=card["unigram_by_contexts"][len(held)],
                wall_minutes=sum(p["minutes"] for p in card["phases"]))
    out = card["out"]
    save_folder(model, tok, s, {k: v for k, v in card.items() if k != "out"}, out)
    log(f"checkpoint at step {step}: held-out loss {loss:.3f} (ppl {math.exp(loss):.2f}), saved {out}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


if __name__ == "__main__":
    main()
