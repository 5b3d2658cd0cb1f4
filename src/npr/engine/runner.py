"""The model runner: one forward of a batch of sequences over the paged KV store.

It runs Llama-family HF models (Llama, Qwen2/2.5, Qwen3 with q/k-norm, SmolLM2; GQA; tied or untied heads)
with the HF modules themselves - the same parameter tensors, never a copy - but its own attention: each
sequence's queries attend to the KV slots in its own slot list plus its new tokens causally. That is what makes a
fork free (branches list the parent's slots) and a join free (the continuation lists everyone's slots).

A batch is flat: ``T`` new tokens from ``B`` sequences, concatenated. Keys and values of the new tokens are written
to their slots first; then each sequence's context is gathered into a padded ``[B, C, kv_heads, head_dim]`` block
(``C`` = longest context) and attended with one sdpa call per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from npr.engine.kv import KVStore

SUPPORTED = ("llama", "qwen2", "qwen3", "mistral")


class UnsupportedModel(ValueError):
    """The model is not a Llama-family causal LM that the runner knows how to drive."""


@dataclass
class Batch:
    """The input of one forward.

    Attributes:
        input_ids: Long[T], new tokens of all sequences, concatenated.
        positions: Long[T], their RoPE positions.
        new_slots: Long[T], the KV slot each new token is written to.
        context: list of B Long[C_b] tensors; context[b] lists every slot sequence b attends to, its new tokens'
            slots last (so they are causal among themselves).
        num_new: list of B ints, how many of the T tokens belong to sequence b (in order).
        logits_rows: Long[R], which of the T rows need logits.
    """

    input_ids: torch.Tensor
    positions: torch.Tensor
    new_slots: torch.Tensor
    context: list[torch.Tensor]
    num_new: list[int]
    logits_rows: torch.Tensor


def check_supported(model) -> None:
    """Raise :class:`UnsupportedModel` with the reason unless ``model`` is a Llama-family causal LM we can run."""
    cfg = getattr(model, "config", None)
    kind = getattr(cfg, "model_type", None)
    if kind not in SUPPORTED:
        raise UnsupportedModel(
            f"model type {kind!r} is not supported by the npr engine; it runs Llama-family decoders: "
            f"{', '.join(SUPPORTED)}"
        )
    if any(t != "full_attention" for t in (getattr(cfg, "layer_types", None) or [])):
        raise UnsupportedModel("sliding-window attention layers are not supported by the npr engine")
    if getattr(cfg, "use_sliding_window", False) and getattr(cfg, "sliding_window", None):
        raise UnsupportedModel("sliding-window attention is not supported by the npr engine")
    if not hasattr(model, "model") or not hasattr(model.model, "layers"):
        raise UnsupportedModel(f"{type(model).__name__} has no .model.layers decoder stack")


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class ModelRunner:
    """Runs one HF causal LM over the KV store. Holds references to the model's modules, not copies."""

    def __init__(self, model, kv: KVStore):
        check_supported(model)
        self.model = model
        self.kv = kv
        cfg = model.config
        self.num_heads = cfg.num_attention_heads
        self.num_kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype

    @torch.no_grad()
    def forward(self, batch: Batch) -> torch.Tensor:
        """Float[R, V] logits (float32) for ``batch.logits_rows``; writes the new tokens' KV into the store."""
        inner = self.model.model
        dev = self.device
        ids = batch.input_ids.to(dev)
        pos = batch.positions.to(dev)
        new_slots = batch.new_slots.to(dev)
        t = ids.numel()
        b = len(batch.num_new)
        max_new = max(batch.num_new)
        max_ctx = max(int(c.numel()) for c in batch.context)

        # Padded index maps. Row r of the flat batch is query (seq_of[r], q_of[r]) of the [B, max_new] grid.
        seq_of = torch.repeat_interleave(torch.arange(b, device=dev), torch.tensor(batch.num_new, device=dev))
        starts = torch.tensor([0] + batch.num_new[:-1], device=dev).cumsum(0)
        q_of = torch.arange(t, device=dev) - starts[seq_of]
        ctx_slots = torch.zeros(b, max_ctx, dtype=torch.long, device=dev)
        ctx_len = torch.tensor([int(c.numel()) for c in batch.context], device=dev)
        for i, c in enumerate(batch.context):
            ctx_slots[i, : c.numel()] = c.to(dev)
        flat_ctx = ctx_slots.view(-1)
        # Query j of sequence i sits at context index (ctx_len - num_new + j); it sees every slot up to there.
        num_new = torch.tensor(batch.num_new, device=dev)
        q_ctx = (ctx_len - num_new)[:, None] + torch.arange(max_new, device=dev)[None, :]  # [B, max_new]
        mask = torch.arange(max_ctx, device=dev)[None, None, :] <= q_ctx[:, :, None]  # [B, max_new, max_ctx]
        mask = mask[:, None]  # [B, 1, max_new, max_ctx]

        x = inner.embed_tokens(ids)[None]  # [1, T, hidden]
        cos, sin = inner.rotary_emb(x, pos[None])  # [1, T, head_dim] each
        cos, sin = cos[0][:, None, :], sin[0][:, None, :]  # [T, 1, head_dim]
        for li, layer in enumerate(inner.layers[: self.model.config.num_hidden_layers]):
            attn = layer.self_attn
            h = layer.input_layernorm(x)[0]  # [T, hidden]
            q = attn.q_proj(h).view(t, -1, self.head_dim)
            k = attn.k_proj(h).view(t, -1, self.head_dim)
            v = attn.v_proj(h).view(t, -1, self.head_dim)
            if hasattr(attn, "q_norm"):
                q, k = attn.q_norm(q), attn.k_norm(k)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            self.kv.k[li, new_slots] = k.to(self.kv.k.dtype)
            self.kv.v[li, new_slots] = v.to(self.kv.v.dtype)
            # Gather each sequence's context: [B, max_ctx, kv_heads, head_dim] -> [B, kv_heads, max_ctx, head_dim].
            # index_select on the flat slot list is several times faster than advanced indexing with a 2-D index.
            kc = self.kv.k[li].index_select(0, flat_ctx).view(b, max_ctx, -1, self.head_dim).transpose(1, 2)
            vc = self.kv.v[li].index_select(0, flat_ctx).view(b, max_ctx, -1, self.head_dim).transpose(1, 2)
            kc, vc = kc.to(q.dtype), vc.to(q.dtype)
            qp = q.new_zeros(b, max_new, self.num_heads, self.head_dim)
            qp[seq_of, q_of] = q
            out = F.scaled_dot_product_attention(
                qp.transpose(1, 2), kc, vc, attn_mask=mask, scale=attn.scaling, enable_gqa=True
            )  # [B, heads, max_new, head_dim]
            out = out.transpose(1, 2)[seq_of, q_of].reshape(t, -1)  # back to the flat [T, heads * head_dim]
            x = x + attn.o_proj(out)[None]
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        hidden = inner.norm(x[0, batch.logits_rows.to(dev)])
        return self.model.lm_head(hidden).float()
