"""Transformer test models: Hugging Face `transformers` architectures built from a
configuration with seeded random weights (nothing is downloaded), exported to ONNX by both
torch exporters and cached.

    from irforge.benchmarks import transformer_models as tm
    path = tm.export("bert-small", "dynamo")          # a cached .onnx file
    feeds = tm.inputs("bert-small")                   # {"input_ids": int64 [1, 16], ...}

Models (`MODELS`, one `ModelSpec` each): the `SMALL` ones for the default test suite
(hidden size 32-64, 2 layers, sequence 16: each exports in a few seconds) are
bert-small, distilbert-small, roberta-small, gpt2-small-test, vit-small and albert-small;
the `BENCHMARK` ones are issue 16's: bert-4l-512 (BERT encoder, 4 layers, hidden 512,
8 heads, intermediate 2048, sequence 128, batch 1) and gpt2-small (GPT-2's small
configuration: 12 layers, hidden 768, 12 heads, sequence 128, batch 1).

Each model is wrapped so that the exported graph has one output, the first one the
`transformers` model returns (`last_hidden_state`: float32 [batch, seq, hidden]; ViT's has
seq = patches + 1). Attention is the plain ("eager") implementation.

Inputs (`inputs`): text models take `input_ids` (int64 [batch, seq], uniform in
[2, vocab)), `attention_mask` (int64, ones with the last `padding` positions 0, so the
masking matters) and, for models with token types (BERT, ALBERT), `token_type_ids` (int64,
0 then 1 from the middle); ViT takes `pixel_values` (float32 [batch, 3, H, W], standard
normal). They are seeded NumPy arrays: the same on every machine.

Exporters (`EXPORTERS`): "torchscript" is `torch.onnx.export(..., dynamo=False)` at opset
17 (weights inside the file); "dynamo" is `dynamo=True` at opset 18 with the weights in an
external `MODEL.onnx.data` file beside the model; "dynamo-opset20" the same at opset 20
(with the `Gelu` operator).

Cache: the files go to `cache_dir()`: `$IRFORGE_CACHE_DIR/transformers` when that variable
is set, else `$XDG_CACHE_HOME/irforge/transformers` (`~/.cache/irforge/transformers`
without it); never the source tree. A file's name carries a hash of everything that
decides its contents (the spec, the exporter and opset, the seed, the torch and
transformers versions, `FORMAT`), so a changed configuration or library makes a new file
and never reads a stale one. Files are written to a temporary directory and moved into
place, so concurrent exports of the same model do not see half-written files.

torch, transformers and onnxscript are imported when a model is built (the `test` and
`bench` extras install them); without them `build` and `export` raise ImportError.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = 1
"""Bumped when this module changes what it exports (part of every cache key)."""

SEED = 0
"""torch's seed for the random weights and NumPy's for the inputs."""

EXPORTERS = {"torchscript": 17, "dynamo": 18, "dynamo-opset20": 20}
"""Exporter name -> the ONNX opset it exports at ("dynamo-opset20": the dynamo exporter at
opset 20, which writes BERT's GELU as one `Gelu` node)."""


@dataclass(frozen=True)
class ModelSpec:
    """One test model: a `transformers` model class built from `config` (the keyword
    arguments of `family`'s configuration class, besides attn_implementation="eager"),
    run on `batch` sequences of `seq` tokens (text models) or images of the configured
    size (ViT). `padding` trailing positions of the attention mask are 0."""

    name: str
    family: str
    config: dict = field(hash=False)
    batch: int = 1
    seq: int = 16
    padding: int = 3

    @property
    def input_names(self) -> tuple[str, ...]:
        return FAMILIES[self.family][2]


FAMILIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bert": ("BertConfig", "BertModel", ("input_ids", "attention_mask", "token_type_ids")),
    "distilbert": ("DistilBertConfig", "DistilBertModel", ("input_ids", "attention_mask")),
    "roberta": ("RobertaConfig", "RobertaModel", ("input_ids", "attention_mask")),
    "gpt2": ("GPT2Config", "GPT2Model", ("input_ids", "attention_mask")),
    "vit": ("ViTConfig", "ViTModel", ("pixel_values",)),
    "albert": ("AlbertConfig", "AlbertModel", ("input_ids", "attention_mask", "token_type_ids")),
}
"""Family -> (configuration class, model class, input names in the exported order)."""

_BERT_SMALL = dict(
    vocab_size=100,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
)

SMALL = (
    ModelSpec("bert-small", "bert", _BERT_SMALL),
    ModelSpec(
        "distilbert-small",
        "distilbert",
        dict(
            vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64
        ),
    ),
    ModelSpec("roberta-small", "roberta", dict(_BERT_SMALL, type_vocab_size=1)),
    ModelSpec(
        "gpt2-small-test",
        "gpt2",
        dict(
            vocab_size=100,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=64,
            bos_token_id=0,
            eos_token_id=0,
        ),
    ),
    ModelSpec(
        "vit-small",
        "vit",
        dict(
            image_size=32,
            patch_size=8,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
        ),
    ),
    ModelSpec(
        "albert-small",
        "albert",
        dict(_BERT_SMALL, embedding_size=16, num_hidden_groups=1),
    ),
)
"""The default test suite's models: each exports in seconds."""

BENCHMARK = (
    ModelSpec(
        "bert-4l-512",
        "bert",
        dict(
            vocab_size=30522,
            hidden_size=512,
            num_hidden_layers=4,
            num_attention_heads=8,
            intermediate_size=2048,
            max_position_embeddings=512,
        ),
        seq=128,
        padding=16,
    ),
    ModelSpec(
        "gpt2-small",
        "gpt2",
        dict(vocab_size=50257, n_embd=768, n_layer=12, n_head=12, n_positions=1024),
        seq=128,
        padding=16,
    ),
)
"""Issue 16's benchmark models (minutes to export the first time, then cached)."""

MODELS: dict[str, ModelSpec] = {s.name: s for s in (*SMALL, *BENCHMARK)}


def spec(model: str | ModelSpec) -> ModelSpec:
    """The spec of a model name (or the spec itself). Raises KeyError naming the known
    models for an unknown name."""
    if isinstance(model, ModelSpec):
        return model
    if model not in MODELS:
        raise KeyError(f"unknown transformer test model '{model}'; known: {', '.join(MODELS)}")
    return MODELS[model]


# ---------------------------------------------------------------------------- inputs


def inputs(model: str | ModelSpec, seed: int = SEED) -> dict[str, np.ndarray]:
    """The seeded input arrays of a model, by input name, in the exported order (see the
    module docstring for their shapes and values)."""
    s = spec(model)
    rng = np.random.default_rng(seed)
    if s.family == "vit":
        size = int(s.config.get("image_size", 224))
        channels = int(s.config.get("num_channels", 3))
        x = rng.standard_normal((s.batch, channels, size, size)).astype(np.float32)
        return {"pixel_values": x}
    vocab = int(s.config["vocab_size"])
    ids = rng.integers(2, vocab, size=(s.batch, s.seq), dtype=np.int64)
    mask = np.ones((s.batch, s.seq), np.int64)
    if s.padding:
        mask[:, -s.padding :] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in s.input_names:
        types = np.zeros((s.batch, s.seq), np.int64)
        types[:, s.seq // 2 :] = 1
        feeds["token_type_ids"] = types
    return {n: feeds[n] for n in s.input_names}


def matmul_flops(model: str | ModelSpec) -> int:
    """Floating-point operations per call of a model's matrix products (2 * M * N * K each):
    per layer the Q, K, V and output projections (4 h^2 per token), the two feed-forward
    products (2 h i per token) and the attention scores and context (2 n^2 h), times the
    layers and the batch, plus ALBERT's embedding projection and ViT's patch embedding.
    The work figure for GFLOP/s; softmax, normalization and elementwise work is left out."""
    s = spec(model)
    c = s.config
    if s.family == "distilbert":
        h, inner, layers = c["dim"], c["hidden_dim"], c["n_layers"]
    elif s.family == "gpt2":
        h, layers = c["n_embd"], c["n_layer"]
        inner = c.get("n_inner") or 4 * h
    else:
        h, inner, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    n, extra = s.seq, 0
    if s.family == "vit":
        patch, channels = c["patch_size"], c.get("num_channels", 3)
        patches = (c["image_size"] // patch) ** 2
        n = patches + 1
        extra = 2 * patches * channels * patch * patch * h
    if s.family == "albert":
        extra = 2 * n * c["embedding_size"] * h
    per_layer = 2 * n * (4 * h * h + 2 * h * inner) + 2 * 2 * n * n * h
    return s.batch * (layers * per_layer + extra)


# ------------------------------------------------------------------- build and export


def build(model: str | ModelSpec, seed: int = SEED):
    """The `transformers` model of a spec, in eval mode, with weights drawn after
    `torch.manual_seed(seed)` (the classes' own initialization)."""
    import torch
    import transformers

    s = spec(model)
    config_cls, model_cls, _ = FAMILIES[s.family]
    config = getattr(transformers, config_cls)(**s.config, attn_implementation="eager")
    torch.manual_seed(seed)
    return getattr(transformers, model_cls)(config).eval()


def _wrapped(module, names: Sequence[str]):
    """`module` with positional inputs `names` and its first output only."""
    import torch

    class FirstOutput(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = module

        def forward(self, *args):
            return self.model(**dict(zip(names, args)), return_dict=False)[0]

    return FirstOutput().eval()


def versions() -> dict[str, str]:
    """The torch and transformers versions (part of every cache key)."""
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__}


def cache_key(model: str | ModelSpec, exporter: str, seed: int = SEED) -> str:
    """12 hex digits of a hash of everything that decides the exported file."""
    s = spec(model)
    blob = json.dumps(
        {
            "format": FORMAT,
            "family": s.family,
            "config": s.config,
            "batch": s.batch,
            "seq": s.seq,
            "padding": s.padding,
            "exporter": exporter,
            "opset": EXPORTERS[exporter],
            "seed": seed,
            **versions(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """Where exported models are kept (see the module docstring); created if missing."""
    root = os.environ.get("IRFORGE_CACHE_DIR")
    if root:
        path = Path(root) / "transformers"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "irforge" / "transformers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def export(
    model: str | ModelSpec,
    exporter: str = "torchscript",
    seed: int = SEED,
    directory: str | os.PathLike | None = None,
) -> Path:
    """The path of the model's ONNX file exported by `exporter` ("torchscript" or
    "dynamo"), exporting it into `directory` (default `cache_dir()`) unless a file with
    the same cache key is there. Raises ValueError for an unknown exporter, KeyError for
    an unknown model, ImportError without torch/transformers (or onnxscript for dynamo),
    and whatever torch.onnx.export raises."""
    import torch

    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter '{exporter}'; choose from {', '.join(EXPORTERS)}")
    s = spec(model)
    where = Path(directory) if directory is not None else cache_dir()
    path = where / f"{s.name}-{exporter}-{cache_key(s, exporter, seed)}.onnx"
    if path.exists():
        return path
    names = list(s.input_names)
    wrapped = _wrapped(build(s, seed), names)
    args = tuple(torch.from_numpy(a) for a in inputs(s, seed).values())
    dynamo = exporter.startswith("dynamo")
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        staged = Path(tmp) / path.name
        with torch.no_grad():
            torch.onnx.export(
                wrapped,
                args,
                str(staged),
                input_names=names,
                output_names=["last_hidden_state"],
                opset_version=EXPORTERS[exporter],
                dynamo=dynamo,
                external_data=dynamo,
            )
        data = staged.with_name(staged.name + ".data")
        if data.exists():  # the weights first: the model file appears last
            shutil.move(str(data), str(path.with_name(path.name + ".data")))
        os.replace(staged, path)
    return path
