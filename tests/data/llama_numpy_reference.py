#!/usr/bin/env python3
"""An independent Llama-family forward pass in numpy (float64), the oracle that glowq's C++
reference (ReferenceLlama) is tested against. Written from the model's equations, reading
the GGUF with PyPI's gguf package (GGUFReader + gguf.quants.dequantize), sharing no code
with glowq.

Usage: llama_numpy_reference.py MODEL.gguf OUT.bin TOKEN [TOKEN ...]

Runs the tokens as one sequence from position 0 and writes the logits of every position,
float32 little-endian, [n_tokens][n_vocab].

The math, per layer (x is the residual stream, one row per token):
  h      = rmsnorm(x) * attn_norm           rmsnorm(v) = v / sqrt(mean(v^2) + eps)
  q,k,v  = h Wq^T (+bq), h Wk^T (+bk), h Wv^T (+bv)
  q,k    = rope(q), rope(k)                 angle_i(p) = p * s / f_i * base^(-2i/rope_dim)
  a      = softmax(q k^T / sqrt(head_dim) + causal mask) v, query head j uses kv head
           j // (n_head / n_kv_head)
  x      = x + a Wo^T
  h      = rmsnorm(x) * ffn_norm
  x      = x + (silu(h Wg^T) * (h Wu^T)) Wd^T
and finally logits = (rmsnorm(x) * output_norm) W_out^T, W_out = token_embd when tied.
gemma3 differs (Google's gemma_pytorch model, as llama.cpp's gemma3 graph follows it):
  x      = embedding * sqrt(n_embd)
  q,k    = rmsnorm(q) * q_norm, rmsnorm(k) * k_norm per head, before RoPE
  scores = q k^T / sqrt(head_dim); on local layers (all but every 6th, l % 6 == 5) a query
           at p sees keys p-window+1..p only, and RoPE's base is 10000
  x      = x + rmsnorm(a Wo^T) * post_attention_norm      (and likewise post_ffw_norm)
  ffn    = gelu_tanh(h Wg^T) * (h Wu^T)
RoPE rotates dimension pairs (2i, 2i+1) for llama/mistral GGUFs, whose converter permuted
the q/k rows for exactly this, and (i, i + rope_dim/2) for qwen2. s is 1/factor for linear
rope scaling, f_i the rope_freqs.weight tensor when present (else 1).
"""
import sys

import numpy as np
import gguf
from gguf import quants


class Model:
    def __init__(self, path):
        self.r = gguf.GGUFReader(path)
        self.tensors = {t.name: t for t in self.r.tensors}
        arch = self.kv_str("general.architecture")
        self.arch = arch
        self.n_layer = int(self.kv(f"{arch}.block_count"))
        self.n_embd = int(self.kv(f"{arch}.embedding_length"))
        self.n_head = int(self.kv(f"{arch}.attention.head_count"))
        self.n_kv_head = int(self.kv(f"{arch}.attention.head_count_kv", self.n_head))
        self.head_dim = int(self.kv(f"{arch}.attention.key_length", self.n_embd // self.n_head))
        self.rope_dim = int(self.kv(f"{arch}.rope.dimension_count", self.head_dim))
        self.base = float(self.kv(f"{arch}.rope.freq_base", 10000.0))
        self.eps = float(self.kv(f"{arch}.attention.layer_norm_rms_epsilon"))
        scaling = self.kv_str(f"{arch}.rope.scaling.type", "none")
        factor = float(self.kv(f"{arch}.rope.scaling.factor", 1.0))
        if scaling == "linear":
            self.pos_scale = 1.0 / factor
        elif scaling in ("none", "llama3") or factor == 1.0:
            self.pos_scale = 1.0
        else:
            raise SystemExit(f"rope scaling {scaling} not implemented")
        self.neox = arch in ("qwen2", "gemma3")
        self.gemma3 = arch == "gemma3"
        self.window = int(self.kv(f"{arch}.attention.sliding_window", 0)) if self.gemma3 else 0
        self.freq_factors = self.weight("rope_freqs.weight") if "rope_freqs.weight" in self.tensors else None

    def kv(self, key, default=None):
        f = self.r.fields.get(key)
        if f is None:
            if default is None:
                raise SystemExit(f"missing key {key}")
            return default
        return f.parts[f.data[0]][0]

    def kv_str(self, key, default=None):
        f = self.r.fields.get(key)
        if f is None:
            return default
        return bytes(f.parts[f.data[0]]).decode()

    def weight(self, name):
        """A tensor as float64, shaped [ne1][ne0] (rows = outputs, columns = inputs)."""
        t = self.tensors[name]
        w = quants.dequantize(t.data, t.tensor_type).astype(np.float64)
        ne = [int(d) for d in t.shape]
        return w.reshape(list(reversed(ne))) if len(ne) > 1 else w.reshape(-1)

    def has(self, name):
        return name in self.tensors


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, positions, m, base):
    """x: [n_tokens][n_heads][head_dim]; rotates the first rope_dim dimensions."""
    d = m.rope_dim
    i = np.arange(d // 2, dtype=np.float64)
    inv_freq = base ** (-2.0 * i / d)
    if m.freq_factors is not None:
        inv_freq = inv_freq / m.freq_factors
    angle = (positions[:, None] * m.pos_scale) * inv_freq[None, :]  # [n_tokens][d/2]
    cos = np.cos(angle)[:, None, :]
    sin = np.sin(angle)[:, None, :]
    out = x.copy()
    if m.neox:
        a, b = x[..., : d // 2], x[..., d // 2 : d]
        out[..., : d // 2] = a * cos - b * sin
        out[..., d // 2 : d] = a * sin + b * cos
    else:
        a, b = x[..., 0:d:2], x[..., 1:d:2]
        out[..., 0:d:2] = a * cos - b * sin
        out[..., 1:d:2] = a * sin + b * cos
    return out


def forward(m, tokens):
    n = len(tokens)
    emb = m.weight("token_embd.weight")
    x = emb[np.array(tokens)]
    if m.gemma3:
        x = x * np.sqrt(m.n_embd)
    positions = np.arange(n, dtype=np.float64)
    causal = np.triu(np.full((n, n), -np.inf), k=1)
    group = m.n_head // m.n_kv_head
    hd = m.head_dim
    for l in range(m.n_layer):
        p = f"blk.{l}."
        local = m.window > 0 and l % 6 != 5
        mask = causal.copy()
        if local:  # keys more than window-1 positions behind the query are hidden
            mask[np.tril(np.ones((n, n), dtype=bool), k=-m.window)] = -np.inf
        base = 10000.0 if local else m.base
        h = rmsnorm(x, m.weight(p + "attn_norm.weight"), m.eps)
        q = h @ m.weight(p + "attn_q.weight").T
        k = h @ m.weight(p + "attn_k.weight").T
        v = h @ m.weight(p + "attn_v.weight").T
        if m.has(p + "attn_q.bias"):
            q = q + m.weight(p + "attn_q.bias")
            k = k + m.weight(p + "attn_k.bias")
            v = v + m.weight(p + "attn_v.bias")
        q = q.reshape(n, m.n_head, hd)
        k = k.reshape(n, m.n_kv_head, hd)
        if m.gemma3:
            q = rmsnorm(q, m.weight(p + "attn_q_norm.weight"), m.eps)
            k = rmsnorm(k, m.weight(p + "attn_k_norm.weight"), m.eps)
        q = rope(q, positions, m, base)
        k = rope(k, positions, m, base)
        v = v.reshape(n, m.n_kv_head, hd)
        att = np.empty((n, m.n_head, hd))
        for j in range(m.n_head):
            s = q[:, j, :] @ k[:, j // group, :].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            att[:, j, :] = s @ v[:, j // group, :]
        o = att.reshape(n, m.n_head * hd) @ m.weight(p + "attn_output.weight").T
        if m.gemma3:
            o = rmsnorm(o, m.weight(p + "post_attention_norm.weight"), m.eps)
        x = x + o
        h = rmsnorm(x, m.weight(p + "ffn_norm.weight"), m.eps)
        g = h @ m.weight(p + "ffn_gate.weight").T
        u = h @ m.weight(p + "ffn_up.weight").T
        if m.gemma3:
            act = 0.5 * g * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (g + 0.044715 * g**3)))
        else:
            act = g / (1.0 + np.exp(-g))
        f = (act * u) @ m.weight(p + "ffn_down.weight").T
        if m.gemma3:
            f = rmsnorm(f, m.weight(p + "post_ffw_norm.weight"), m.eps)
        x = x + f
    h = rmsnorm(x, m.weight("output_norm.weight"), m.eps)
    w_out = m.weight("output.weight") if m.has("output.weight") else emb
    return h @ w_out.T


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    m = Model(sys.argv[1])
    tokens = [int(t) for t in sys.argv[3:]]
    logits = forward(m, tokens)
    logits.astype("<f4").tofile(sys.argv[2])


if __name__ == "__main__":
    main()
