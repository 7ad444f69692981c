"""Fused encoder + pooling for long sequences: ``o = pool(f(x W^T + b))`` in position chunks.

The plain path materialises ``pre`` and ``h`` (B, T, D) and autograd keeps them, then walks
them again (and writes as many gradients of that size) in backward: at T = 1000, batch 100,
hidden 100 each pass touches 40 MB. Here positions are processed in cache-sized chunks:

- forward: per chunk, ``h = f(x W^T + b)``, the scores, and an online softmax (running max,
  running sum, running weighted sum of ``h``), so only x, the scores (B, T, heads) and o are
  kept;
- backward: ``h`` is recomputed chunk by chunk. The softmax Jacobian needs
  ``sum_j a_j dL/da_j = dL/do . o`` (per head), known before the loop, so one pass suffices.
  When x needs no gradient (raw inputs), ``dL/dW`` is accumulated without forming
  ``dL/dh``: ``dW[d, k] = sum_b g_bd sum_i a_bi x_bik f'_bid + q_d sum_b sum_i ds_bi x_bik
  f'_bid``, one small batched matmul against ``f'`` per chunk;
- threads: the chunks are split into contiguous shares, one per torch thread, each share run
  with single-threaded kernels (a chunk's kernels are small; per-kernel thread synchronisation
  would cost more than they take, and a lot more on a loaded machine).

It computes what ``PoolingNetwork.encode`` + the pooling compute (attention with dot or tanh
scores, any number of heads, seed-literal; mean), with masks; float64 tests hold it to the
plain path. Dropout and positional embeddings are not supported (the network falls back).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

FUSED_ACTIVATIONS = ("relu", "leaky_relu", "tanh")
FUSED_POOLINGS = ("attention", "mean")
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default, as the network uses it
# Elements of one (B, chunk, D) block: ~1 MB in float32, so a chunk's h, f' and products stay
# in cache (the shared L3 here) while they are reused; 2^17 and 2^19 timed about the same.
CHUNK_ELEMENTS = 1 << 18
MIN_CHUNK = 8  # positions: big evaluation batches still get few kernels per position
# A thread takes at least this many chunks: handing fewer to a worker costs more than it saves.
MIN_CHUNKS_PER_THREAD = 2
# Above this many (coefficient, input channel) rows the backward forms dL/dpre instead.
MAX_ROWS = 32


@dataclass(frozen=True)
class FusedSpec:
    """What the fused function computes: the pooling and the encoder's activation."""

    pooling: str  # attention | mean
    activation: str = "relu"
    heads: int = 1
    score: str = "dot"  # dot | tanh (attention)
    seed_literal: bool = False
    chunk: int = 0  # positions per chunk; 0: CHUNK_ELEMENTS / (B D)
    explicit_backward: bool = False  # form dL/dh per chunk even when x needs no gradient
    threads: int = 0  # chunks split over this many threads; 0: torch.get_num_threads()


def plan(spec: FusedSpec, mask: torch.Tensor, dim: int) -> tuple[list[tuple[int, int]], int]:
    """The chunks (t0, t1) up to the last valid position, and the threads to split them over.

    A chunk holds about CHUNK_ELEMENTS numbers of (B, chunk, D), at least MIN_CHUNK positions;
    short sequences get smaller chunks so that every thread still has MIN_CHUNKS_PER_THREAD.
    """
    batch, length = mask.shape[0], valid_length(mask)
    threads = spec.threads or torch.get_num_threads()
    c = spec.chunk or max(MIN_CHUNK, min(CHUNK_ELEMENTS // max(1, batch * dim),
                                         -(-length // (threads * MIN_CHUNKS_PER_THREAD))))
    return [(t0, min(t0 + c, length)) for t0 in range(0, length, c)], threads


def valid_length(mask: torch.Tensor) -> int:
    """Positions up to the last valid one in the batch: chunks past it are all padding."""
    cols = mask.any(0).nonzero()
    return int(cols[-1]) + 1 if len(cols) else 0


def activate_(pre: torch.Tensor, activation: str) -> torch.Tensor:
    """``f(pre)`` in place (the same kernels as nn.ReLU / nn.LeakyReLU / nn.Tanh)."""
    if activation == "relu":
        return pre.clamp_min_(0)
    if activation == "leaky_relu":
        return torch.nn.functional.leaky_relu_(pre, LEAKY_SLOPE)
    return pre.tanh_()


def activation_grad_(h: torch.Tensor, activation: str) -> torch.Tensor:
    """``f'(pre)`` from ``h = f(pre)``, in place over ``h``, as autograd's backward of each
    activation computes it (relu: 1 where pre > 0 else 0; leaky_relu: 1 where pre > 0 else the
    slope; tanh: 1 - h^2). ``sign`` because comparisons + casts are slow on CPU."""
    if activation == "tanh":
        return h.mul_(h).neg_().add_(1)
    if activation == "leaky_relu":  # sign(h) = sign(pre)
        return h.sign_().clamp_min_(0).mul_(1 - LEAKY_SLOPE).add_(LEAKY_SLOPE)
    return h.sign_()  # relu: h >= 0, so sign(h) = 1 exactly where pre > 0


PIECEWISE_LINEAR = ("relu", "leaky_relu")  # h = f'(pre) pre


def head_map(heads: int, dim: int, like: torch.Tensor) -> torch.Tensor:
    """E (heads, D): E[h, d] = 1 where feature d belongs to head h."""
    eye = torch.eye(heads, dtype=like.dtype, device=like.device)
    return eye.repeat_interleave(dim // heads, dim=1)


def with_ones(x: torch.Tensor) -> torch.Tensor:
    """(B, T, K) -> (B, T, K + 1) with a last channel of ones: ``[x, 1] @ [W^T; b]`` is the
    encoder's pre-activation as one matmul, and the same rows give the bias gradient."""
    return torch.cat([x, x.new_ones(*x.shape[:2], 1)], dim=2)


_EXECUTOR: ThreadPoolExecutor | None = None


def _executor(workers: int) -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None or _EXECUTOR._max_workers < workers:
        _EXECUTOR = ThreadPoolExecutor(workers, thread_name_prefix="fused-chunks")
    return _EXECUTOR


def over_chunks(work: Callable[[list[tuple[int, int]]], object], ranges: list[tuple[int, int]],
                threads: int) -> list:
    """``work(ranges_w)`` for contiguous shares of the chunks, one per thread, each run with
    single-threaded kernels: the chunks' small kernels then need no per-kernel thread
    synchronisation. The split depends only on ``threads``, so results are deterministic."""
    threads = min(threads, len(ranges) // MIN_CHUNKS_PER_THREAD) if threads > 1 else 1
    if threads <= 1:
        return [work(ranges)]
    bounds = [len(ranges) * w // threads for w in range(threads + 1)]
    shares = [ranges[bounds[w]:bounds[w + 1]] for w in range(threads)]
    grad = torch.is_grad_enabled()  # thread-local: the workers take the caller's

    def in_worker(share):
        with torch.set_grad_enabled(grad):
            return work(share)

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        futures = [_executor(threads - 1).submit(in_worker, share) for share in shares[1:]]
        first = work(shares[0])
        return [first] + [f.result() for f in futures]
    finally:
        torch.set_num_threads(before)


class FusedEncodePool(torch.autograd.Function):
    """``pool(f(x W^T + b), mask)`` with ``h`` recomputed in backward; see the module doc."""

    @staticmethod
    def forward(ctx, x, weight, bias, query, score_bias, mask, spec: FusedSpec):
        B, T, K = x.shape
        D = weight.shape[0]
        ranges, threads = plan(spec, mask, D)
        xa = with_ones(x)
        wa = torch.cat([weight.t(), bias[None]], dim=0)  # (K + 1, D)
        ctx.spec = spec
        if spec.pooling == "mean":
            m = mask.to(x.dtype)
            weights = (m / m.sum(1, keepdim=True).clamp_min(1.0))[:, None, :]  # 1 / length

            def mean_chunks(share):
                o = x.new_zeros(B, 1, D)
                for t0, t1 in share:
                    h = activate_(xa[:, t0:t1].reshape(-1, K + 1) @ wa, spec.activation)
                    o.baddbmm_(weights[:, :, t0:t1], h.view(B, t1 - t0, D))
                return o

            o = sum(over_chunks(mean_chunks, ranges, threads), x.new_zeros(B, 1, D))
            ctx.save_for_backward(x, weight, bias, mask, weights)
            return o[:, 0]

        nh = spec.heads
        E = head_map(nh, D, x)
        qbd = (E * query.reshape(1, D)).t().contiguous()  # (D, heads), block-diagonal
        pad = torch.zeros(B, T, 1, dtype=x.dtype, device=x.device).masked_fill_(
            ~mask[..., None], float("-inf"))
        scores = x.new_full((B, T, nh), float("-inf"))  # masked scores, kept for backward
        if not ranges:  # every position is padding
            ctx.save_for_backward(x, weight, bias, query, mask, scores, x.new_zeros(B, D))
            return x.new_zeros(B, D)
        # Per chunk: its max score, sum of exp(score - max), sum of exp(score - max) h.
        maxes = x.new_empty(len(ranges), B, nh)
        sums = x.new_empty(len(ranges), B, nh)
        accs = x.new_empty(len(ranges), B, nh, D)
        lowest = torch.finfo(x.dtype).min  # a chunk of padding only: exp(-inf - lowest) = 0
        index = {r: j for j, r in enumerate(ranges)}

        def attention_chunks(share):
            for t0, t1 in share:
                j = index[t0, t1]
                h = activate_(xa[:, t0:t1].reshape(-1, K + 1) @ wa, spec.activation)
                z = h @ qbd  # (B n, heads)
                if spec.score == "tanh":
                    z = torch.tanh(z + score_bias)
                z = torch.add(z.view(B, t1 - t0, nh), pad[:, t0:t1], out=scores[:, t0:t1])
                top = torch.amax(z, 1, out=maxes[j]).clamp_min_(lowest)
                p = torch.exp(z - top[:, None])
                torch.sum(p, 1, out=sums[j])
                torch.bmm(p.transpose(1, 2), h.view(B, t1 - t0, D), out=accs[j])

        over_chunks(attention_chunks, ranges, threads)
        top = maxes.amax(0)
        scale = torch.exp(maxes - top)  # (chunks, B, heads)
        total = (sums * scale).sum(0)
        acc = torch.einsum("jbh,jbhd->bhd", scale, accs)
        full = (acc / total[..., None]).masked_fill_(total[..., None] == 0, 0.0)  # no valid
        o = full[:, 0] if nh == 1 else (full * E).sum(1)
        ctx.save_for_backward(x, weight, bias, query, mask, scores, o)
        return o

    @staticmethod
    def backward(ctx, g):
        spec: FusedSpec = ctx.spec
        if spec.pooling == "attention":
            grads = _attention_backward(ctx, g.contiguous(), spec)
        else:
            grads = _mean_backward(ctx, g.contiguous(), spec)
        return (*grads, None, None)


def _explicit(spec: FusedSpec, ctx, rows: int, K: int) -> bool:
    """Form dL/dpre per chunk (x needs a gradient, or the row trick would need many rows)."""
    return spec.explicit_backward or ctx.needs_input_grad[0] or rows * (K + 1) > MAX_ROWS


def _mean_backward(ctx, g, spec):
    x, weight, bias, mask, weights = ctx.saved_tensors
    B, T, K = x.shape
    D = weight.shape[0]
    ranges, threads = plan(spec, mask, D)
    xa = with_ones(x)
    wa = torch.cat([weight.t(), bias[None]], dim=0)
    explicit = _explicit(spec, ctx, 1, K)
    dx = torch.zeros_like(x) if ctx.needs_input_grad[0] else None

    def chunks(share):
        # explicit: dL/d[W^T; b]; else P[b, k, d] = sum_i w_bi [x_bi, 1]_k f'_bid
        P = x.new_zeros(K + 1, D) if explicit else x.new_zeros(B, K + 1, D)
        for t0, t1 in share:
            xc = xa[:, t0:t1]
            fp = activation_grad_(activate_(xc.reshape(-1, K + 1) @ wa, spec.activation),
                                  spec.activation).view(B, t1 - t0, D)
            if explicit:
                dpre = fp.mul_(weights[:, 0, t0:t1, None]).mul_(g[:, None, :])
                P.addmm_(xc.reshape(-1, K + 1).t(), dpre.view(-1, D))
                if dx is not None:
                    dx[:, t0:t1] = dpre @ weight
            else:
                P.baddbmm_((xc * weights[:, 0, t0:t1, None]).transpose(1, 2), fp)
        return P

    P = sum(over_chunks(chunks, ranges, threads),
            x.new_zeros(K + 1, D) if explicit else x.new_zeros(B, K + 1, D))
    paug = P if explicit else (P * g[:, None, :]).sum(0)
    return dx, paug[:K].t(), paug[K], None, None


def _attention_backward(ctx, g, spec):
    x, weight, bias, query, mask, scores, o = ctx.saved_tensors
    B, T, K = x.shape
    D = weight.shape[0]
    nh = spec.heads
    ranges, threads = plan(spec, mask, D)
    xa = with_ones(x)
    wa = torch.cat([weight.t(), bias[None]], dim=0)
    E = head_map(nh, D, x)
    q = query.reshape(D)
    a = torch.softmax(scores, dim=1).nan_to_num_(0.0)  # (B, T, heads), the plain path's weights
    gamma = (g * o) @ E.t()  # (B, heads): sum_j a_j dL/da_j = dL/do . o per head
    score_path = not spec.seed_literal
    # dL/dh_i = a_i g (per head) [+ dL/dz_i q]: coefficients (B, n, r) times rows (B, r, D).
    rows = [g[:, None, :] * E]
    if score_path:
        rows.append((E * q).expand(B, nh, D))
    M = torch.cat(rows, dim=1)
    # Row trick: P accumulates a-rows, and dz-rows where the score path or dq needs them.
    kinds = 2 if score_path or spec.activation in PIECEWISE_LINEAR else 1
    explicit = _explicit(spec, ctx, kinds * nh, K)
    dq_from_P = not explicit and spec.activation in PIECEWISE_LINEAR
    dx = torch.zeros_like(x) if ctx.needs_input_grad[0] else None

    def chunks(share):
        dq_full = x.new_zeros(nh, D)
        dc = x.new_zeros(nh)
        # explicit: dL/d[W^T; b]; else P[b, (j, k), d] = sum_i coef_bij xa_bik f'_bid, with
        # j over (kind, head)
        P = x.new_zeros(K + 1, D) if explicit else x.new_zeros(B, kinds * nh * (K + 1), D)
        for t0, t1 in share:
            n = t1 - t0
            xc = xa[:, t0:t1]
            h = activate_(xc.reshape(-1, K + 1) @ wa, spec.activation)  # (B n, D)
            ac = a[:, t0:t1]
            gh = h.view(B, n, D) * g[:, None, :]
            da = gh.sum(-1, keepdim=True) if nh == 1 else gh.view(B, n, nh, D // nh).sum(-1)
            dz = ac * (da - gamma[:, None])  # dL/ds through the softmax
            if spec.score == "tanh":
                s = scores[:, t0:t1].clamp(-1.0, 1.0)  # padding: -inf -> -1, and dz = 0 there
                dz = dz * (1 - s * s)  # through tanh(w . h + b)
                dc += dz.sum((0, 1))
            if not dq_from_P:
                dq_full.addmm_(dz.reshape(-1, nh).t(), h)
            fp = activation_grad_(h, spec.activation).view(B, n, D)
            if explicit:
                coef = torch.cat([ac, dz], dim=2) if score_path else ac  # (B, n, rows of M)
                dpre = torch.bmm(coef, M).mul_(fp)
                P.addmm_(xc.reshape(-1, K + 1).t(), dpre.view(-1, D))
                if dx is not None:
                    dx[:, t0:t1] = dpre @ weight
            else:
                coef = torch.cat([ac, dz], dim=2) if kinds == 2 else ac
                R = (coef[..., :, None] * xc[..., None, :]).view(B, n, -1)  # (B, n, r (K + 1))
                P.baddbmm_(R.transpose(1, 2), fp)
        return P, dq_full, dc

    parts = over_chunks(chunks, ranges, threads)
    P = sum((p for p, _, _ in parts[1:]), parts[0][0]) if parts else None
    dq_full = sum((d for _, d, _ in parts), x.new_zeros(nh, D))
    dc = sum((c for _, _, c in parts), x.new_zeros(nh)) if spec.score == "tanh" else None
    if P is None:  # every position is padding
        dwa = x.new_zeros(K + 1, D)
    elif explicit:
        dwa = P
    else:
        P = P.view(B, kinds, nh, K + 1, D)
        Ea = E[None, :, None, :]
        dwa = ((P[:, 0] * Ea).sum(1) * g[:, None, :]).sum(0)  # (K + 1, D)
        if kinds == 2:
            Pz = (P[:, 1] * Ea).sum(0)  # (heads, K + 1, D): sum_bi dz_bi xa_bik f'_bid
            if score_path:
                dwa += Pz.sum(0) * q
            if dq_from_P:  # h = f'(pre) [x, 1] . [W^T; b] for piecewise-linear f
                dq_full = (Pz * wa).sum(1)
    dq = (dq_full * E).sum(0).view_as(query)
    return dx, dwa[:K].t(), dwa[K], dq, dc


def fused_encode_pool(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor,
                      bias: torch.Tensor, spec: FusedSpec, query: torch.Tensor | None = None,
                      score_bias: torch.Tensor | None = None) -> torch.Tensor:
    """(B, D) pooled ``f(x W^T + b)``; ``x`` (B, T, K), ``mask`` (B, T) bool."""
    if spec.pooling not in FUSED_POOLINGS or spec.activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"fused path: no fused form for pooling {spec.pooling!r} with "
                         f"activation {spec.activation!r}")
    return FusedEncodePool.apply(x, weight, bias, query, score_bias, mask, spec)
