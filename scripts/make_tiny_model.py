"""Make a tiny Llama model that real vLLM serves on a CPU, with no download.

Run it with the python of vLLM's virtualenv (numpy, safetensors and tokenizers come with
vLLM; none of them is a policybench dependency)::

    python scripts/make_tiny_model.py OUT_DIR                       # random weights: gibberish
    python scripts/make_tiny_model.py OUT_DIR --answer '{"violations": []}'

The model is a ``LlamaForCausalLM`` with hidden size 256 and 2 layers, and a byte-level
BPE tokenizer trained with ``tokenizers`` on Python's own standard library sources, saved
with a chat template (``<|system|>...<|end|><|user|>...<|end|><|assistant|>``).

``--answer TEXT`` makes a fixed-answer model: greedy decoding answers TEXT and then the
end token, whatever the prompt.  Each layer's output projections (``o_proj``,
``down_proj``) are zero, so the residual stream is the current token's embedding and the
model is a bigram table.  The answer is spelled with tokens that are all different; each
of them, and the generation prompt's ``<|assistant|>``, gets its own embedding axis, and
the untied ``lm_head`` maps each axis to the next token of the answer (the last one to the
end token).  Every other token shares one more axis that maps to the answer's first token,
so any prompt (any chat template) starts the answer.

``completion_template.txt`` in OUT_DIR is the same template in policybench's
``--chat-template`` format, for the ``/v1/completions`` route.
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HIDDEN = 256
LAYERS = 2
HEADS = 4
INTERMEDIATE = 512
VOCAB = 4096
MAX_POSITIONS = 16384
CORPUS_BYTES = 3_000_000
SPECIAL = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|pad|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
COMPLETION_TEMPLATE = "<|system|>{{system}}<|end|><|user|>{{user}}<|end|><|assistant|>"
#: logit of the next token of the chain; every other token's logit is 0 (or close to it)
STRENGTH = 4.0


def corpus() -> list[str]:
    """Python's standard library sources, in a fixed order, up to CORPUS_BYTES."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    size = 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        size += len(text)
        if size >= CORPUS_BYTES:
            break
    return texts


def train_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    return tok


def spell(tok: Tokenizer, answer: str) -> tuple[Tokenizer, list[int]]:
    """Token ids whose decoding is ``answer``, no id used twice (a bigram chain needs it).

    Left to right, each piece is the longest vocabulary token that fits and is not used
    yet; where every fitting token is used, the shortest unused piece of text becomes a
    new vocabulary entry.  No merge produces a new entry, so the tokenizer never encodes
    any text with it: only the model writes it.
    """
    special = {tok.token_to_id(s) for s in SPECIAL}
    known: dict[str, int] = {}
    for tid in range(tok.get_vocab_size()):
        text = tok.decode([tid])
        if tid not in special and text and "\ufffd" not in text:
            known.setdefault(text, tid)
    pieces: list[str] = []
    pos = 0
    while pos < len(answer):
        fits = [t for t in known if answer.startswith(t, pos) and t not in pieces]
        if fits:
            piece = max(fits, key=len)
        else:
            ends = range(pos + 1, len(answer) + 1)
            piece = next((answer[pos:e] for e in ends if answer[pos:e] not in pieces), "")
            if not piece:  # the rest is a used piece: join it to the pieces before it
                piece = answer[pos:]
                while piece in pieces:
                    pos -= len(pieces[-1])
                    piece = pieces.pop() + piece
        pieces.append(piece)
        pos += len(piece)
    new = [p for p in pieces if p not in known]
    if new:
        data = json.loads(tok.to_str())
        vocab = data["model"]["vocab"]
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        for piece in new:
            ((encoded, _span),) = byte_level.pre_tokenize_str(piece)
            known[piece] = vocab[encoded] = max(vocab.values()) + 1
        tok = Tokenizer.from_str(json.dumps(data))
    ids = [known[p] for p in pieces]
    assert len(set(ids)) == len(ids) and tok.decode(ids) == answer, (pieces, ids)
    if len(ids) + 2 > HIDDEN:
        raise SystemExit(f"the answer is too long: {len(ids)} tokens (at most {HIDDEN - 2})")
    return tok, ids


def random_weights(rng: np.random.Generator, vocab: int) -> dict[str, np.ndarray]:
    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    head_dim = HIDDEN // HEADS
    w: dict[str, np.ndarray] = {"model.embed_tokens.weight": normal(vocab, HIDDEN)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj"):
            w[p + f"self_attn.{name}.weight"] = normal(HEADS * head_dim, HIDDEN)
        w[p + "self_attn.o_proj.weight"] = normal(HIDDEN, HEADS * head_dim)
        w[p + "mlp.gate_proj.weight"] = normal(INTERMEDIATE, HIDDEN)
        w[p + "mlp.up_proj.weight"] = normal(INTERMEDIATE, HIDDEN)
        w[p + "mlp.down_proj.weight"] = normal(HIDDEN, INTERMEDIATE)
        w[p + "input_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        w[p + "post_attention_layernorm.weight"] = np.ones(HIDDEN, np.float32)
    w["model.norm.weight"] = np.ones(HIDDEN, np.float32)
    w["lm_head.weight"] = normal(vocab, HIDDEN)
    return w


def grow(w: dict[str, np.ndarray], vocab: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows for the vocabulary entries ``spell`` added."""
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        extra = vocab - w[name].shape[0]
        rows = (rng.standard_normal((extra, HIDDEN)) * 0.02).astype(np.float32)
        w[name] = np.concatenate([w[name], rows])
    return w


def fix_answer(w: dict[str, np.ndarray], chain: list[int], end: int) -> None:
    """Turn the random model into the bigram chain ``chain[0] -> chain[1] -> ... -> end``."""
    for i in range(LAYERS):
        w[f"model.layers.{i}.self_attn.o_proj.weight"][:] = 0.0
        w[f"model.layers.{i}.mlp.down_proj.weight"][:] = 0.0
    emb = w["model.embed_tokens.weight"]
    head = w["lm_head.weight"]
    axes = len(chain) + 1  # axis 0: every other token; axis k: chain[k - 1]
    emb[:, :axes] = 0.0
    emb[:, 0] = 1.0
    head[:] = 0.0
    head[chain[1], 0] = STRENGTH  # any other token starts the answer
    for k, tid in enumerate(chain):
        emb[tid] = 0.0
        emb[tid, k + 1] = 1.0
        nxt = chain[k + 1] if k + 1 < len(chain) else end
        head[nxt, k + 1] = STRENGTH


def write_model(out: Path, tok: Tokenizer, answer: str | None, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    vocab = tok.get_vocab_size()
    end, pad = tok.token_to_id("<|end|>"), tok.token_to_id("<|pad|>")
    weights = random_weights(np.random.default_rng(seed), vocab)
    spelled: list[int] = []
    if answer is not None:
        if not answer:
            raise SystemExit("--answer must not be empty")
        tok, spelled = spell(tok, answer)
        vocab = tok.get_vocab_size()
        weights = grow(weights, vocab, np.random.default_rng(seed + 1))
        fix_answer(weights, [tok.token_to_id("<|assistant|>"), *spelled], end)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": HEADS,
        "head_dim": HIDDEN // HEADS,
        "hidden_act": "silu",
        "max_position_embeddings": MAX_POSITIONS,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "vocab_size": vocab,
        "tie_word_embeddings": False,
        "bos_token_id": None,
        "eos_token_id": end,
        "pad_token_id": pad,
        "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": end}, indent=2))
    tok.save(str(out / "tokenizer.json"))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|end|>",
        "pad_token": "<|pad|>",
        "bos_token": None,
        "add_bos_token": False,
        "model_max_length": MAX_POSITIONS,
        "clean_up_tokenization_spaces": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    (out / "special_tokens_map.json").write_text(
        json.dumps({"eos_token": "<|end|>", "pad_token": "<|pad|>"}, indent=2)
    )
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    (out / "completion_template.txt").write_text(COMPLETION_TEMPLATE)
    # what a test needs to know exactly: the answer, and the completion tokens of one
    # answer (its tokens and the end token)
    about = {"answer": answer, "seed": seed, "completion_tokens": len(spelled) + 1 if spelled else None}
    (out / "answer.json").write_text(json.dumps(about))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory to write the model into")
    parser.add_argument("--answer", help="the fixed answer (default: random weights, gibberish)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    write_model(args.out, train_tokenizer(), args.answer, args.seed)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
