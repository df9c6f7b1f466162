"""The view layer: every value of every stage → terminal text (rich), HTML, or plots.

One module per topic. Value types do not import this package: their `_repr_html_` goes through
`tokenprism._display.html`, which reads `HTML_VIEWS` below and imports the view's module on first use
(so showing an Encoding never imports the embedding plots).
"""

from __future__ import annotations

#: value type name → (module, function) of its HTML view
HTML_VIEWS: dict[str, tuple[str, str]] = {
    "Encoding": ("tokenprism.render.html", "encoding_html"),
    "Decoding": ("tokenprism.render.html", "decoding_html"),
    "TokenizerInfo": ("tokenprism.render.html", "info_html"),
    "Comparison": ("tokenprism.render.compare", "comparison_html"),
    "Properties": ("tokenprism.render.compare", "one_properties_html"),
    "CorpusStats": ("tokenprism.render.corpus", "corpus_html"),
    "FimPrompt": ("tokenprism.render.infill", "fim_prompt_html"),
    "Infill": ("tokenprism.render.infill", "infill_html"),
    "Generation": ("tokenprism.render.steps", "generation_html"),
    "ScoreResult": ("tokenprism.render.steps", "score_html"),
    "Embeddings": ("tokenprism.render.embeddings", "embeddings_html"),
    "Similarity": ("tokenprism.render.embeddings", "similarity_html"),
    "Neighbors": ("tokenprism.render.embeddings", "neighbors_html"),
    "Lens": ("tokenprism.render.inside_html", "lens_html"),
    "Attention": ("tokenprism.render.inside_html", "attention_html"),
    "Attribution": ("tokenprism.render.inside_html", "attribution_html"),
    "TokenAnatomy": ("tokenprism.render.anatomy", "token_anatomy_html"),
    "Anatomy": ("tokenprism.render.anatomy", "anatomy_html"),
}
