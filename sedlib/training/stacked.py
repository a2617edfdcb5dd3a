"""Many CRNNs of one shape as one model: every parameter stacked along a leading member axis.

:class:`StackedCRNN` computes, for ``M`` members at once, what ``M``
:class:`~sedlib.model.CRNN` objects compute one by one (same operations in
the same order, the folded batch normalisation of :class:`ConvBlock`
included), with each member's own parameters, batch statistics, running
statistics and dropout masks:

- convolutions are grouped (members stacked along the channels,
  ``groups=M``), so one kernel call serves every member;
- the bidirectional GRU is a hand-written cell over stacked weights: the
  input projection of every frame is one batched matrix product, and each of
  the 500 time steps is one ``torch.baddbmm`` over the ``2 M`` (member,
  direction) pairs plus a few element-wise kernels (``gru="function"``: the
  same with its backward written out; ``gru="loop"``: the fused GRU once per
  member, cuDNN on CUDA; ``vmap`` over ``nn.GRU`` has no batching rule; see
  ``benchmarks/bench_batched.py`` and ``benchmarks/RESULTS.md`` for the
  measurements behind the default);
- the dense layers are batched matrix products.

Members never mix: a non-finite value in one member stays in that member.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sedlib.errors import ConfigError
from sedlib.model import CRNN

GRU_IMPLEMENTATIONS = ("cell", "function", "loop")


def _key(name: str) -> str:
    return name.replace(".", "__")


class StackedCRNN(nn.Module):
    """``M`` CRNNs of one shape, trained as one model.

    Parameters
    ----------
    members : sequence of CRNN
        Initialised models of one shape; their parameters and buffers are
        copied (stacked along a new first axis).
    gru : {"cell", "function", "loop"}
        How the recurrent layer runs (see the module docstring; ``function``:
        the cell's recurrence as :class:`GRURecurrence`, its backward written out).

    Notes
    -----
    ``forward`` maps ``(M, batch, frames, n_mels)`` features (one batch per
    member) to ``(M, batch, frames, n_classes)`` logits.
    """

    def __init__(self, members: Sequence[CRNN], gru: str = "cell"):
        super().__init__()
        if gru not in GRU_IMPLEMENTATIONS:
            raise ConfigError(f"gru must be one of {GRU_IMPLEMENTATIONS}, got {gru!r}")
        template = members[0]
        self.gru_impl = gru
        self.n_mels, self.n_classes = template.n_mels, template.n_classes
        self.pools = [int(block.pool.kernel_size[1]) for block in template.cnn]
        self.p_drop = float(template.cnn[0].dropout.p)
        self.eps = float(template.cnn[0].norm.eps)
        self.momentum = float(template.cnn[0].norm.momentum)
        self.hidden = int(template.gru.hidden_size)
        self.names = [name for name, _ in template.named_parameters()]
        self.buffer_names = [name for name, _ in template.named_buffers()]
        self.params = nn.ParameterDict(
            {
                _key(n): nn.Parameter(
                    torch.stack([dict(m.named_parameters())[n].detach() for m in members])
                )
                for n in self.names
            }
        )
        for n in self.buffer_names:
            self.register_buffer(
                _key(n), torch.stack([dict(m.named_buffers())[n] for m in members])
            )

    @property
    def members(self) -> int:
        """Number of members."""
        return self.params[_key(self.names[0])].shape[0]

    def p(self, name: str, members: torch.Tensor | None = None) -> torch.Tensor:
        """The stacked parameter or buffer ``name`` (CRNN's name), optionally of some members only."""
        key = _key(name)
        value = self.params[key] if key in self.params else getattr(self, key)
        return value if members is None else value.index_select(0, members)

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member ``i`` as a :class:`CRNN` state dict (copies)."""
        return {n: self.p(n)[i].detach().clone() for n in self.names + self.buffer_names}

    @torch.no_grad()
    def keep(self, members: torch.Tensor) -> None:
        """Keep only ``members`` (indices), in that order: parameters and buffers are re-packed."""
        for n in self.names:
            self.params[_key(n)] = nn.Parameter(self.p(n).index_select(0, members).contiguous())
        for n in self.buffer_names:
            setattr(self, _key(n), self.p(n).index_select(0, members).contiguous())

    def forward(
        self,
        x: torch.Tensor,
        generators: Sequence[torch.Generator] | None = None,
        members: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits ``(M, batch, frames, n_classes)`` of ``(M, batch, frames, n_mels)`` features.

        ``generators`` (one per member run) draw the dropout masks in
        training mode; ``members`` (indices) runs only those members (their
        running statistics alone are updated in training).
        """
        m, batch, frames, _ = x.shape
        if self.training and self.p_drop > 0 and (generators is None or len(generators) != m):
            raise ValueError("training with dropout needs one generator per member")
        h = x.transpose(0, 1)  # (batch, M, frames, mels): member = input channel
        for k, pool in enumerate(self.pools):
            h = self._block(k, h, m, pool, generators, members)
        h = h.view(batch, m, -1, frames, h.shape[-1]).permute(1, 0, 3, 2, 4).flatten(3)
        h = self._gru(h, members)  # (M, batch, frames, 2 * hidden)
        h = self._linear(h.flatten(1, 2), "fc.0", members).relu()
        h = self._dropout(h, generators)
        return self._linear(h, "out", members).view(m, batch, frames, -1)

    def _block(self, k, h, m, pool, generators, members) -> torch.Tensor:
        """Conv 3x3 -> batch norm -> frequency max pool -> ReLU -> dropout, for every member."""
        name = f"cnn.{k}"
        w, b = self.p(f"{name}.conv.weight", members), self.p(f"{name}.conv.bias", members)
        if not self.training:
            mean, var = (
                self.p(f"{name}.norm.running_mean", members),
                self.p(f"{name}.norm.running_var", members),
            )
            y = self._folded_conv(h, w, b, name, mean, var, members)
        elif w.shape[2] == 1:
            mean, var, n = _patch_statistics(h, w, b)
            self._update_running(name, mean, var, n, members)
            y = self._folded_conv(h, w, b, name, mean, var, members)
        else:
            y = F.conv2d(h, w.flatten(0, 1), b.flatten(), padding=1, groups=m)
            y = self._batch_norm(y, name, members)
        return self._dropout(F.max_pool2d(y, (1, pool)).relu(), generators)

    def _batch_norm(self, y: torch.Tensor, name: str, members) -> torch.Tensor:
        """Training-mode batch norm of every member's channels; the members' running statistics updated."""
        stats = [self.p(f"{name}.norm.running_{s}", members) for s in ("mean", "var")]
        y = F.batch_norm(
            y,
            stats[0].view(-1),
            stats[1].view(-1),
            self.p(f"{name}.norm.weight", members).flatten(),
            self.p(f"{name}.norm.bias", members).flatten(),
            training=True,
            momentum=self.momentum,
            eps=self.eps,
        )
        if members is not None:  # the statistics were updated in copies: write them back
            for s, value in zip(("mean", "var"), stats, strict=True):
                self.p(f"{name}.norm.running_{s}").index_copy_(0, members, value)
        self._count_batch(name, members)
        return y

    def _count_batch(self, name: str, members) -> None:
        count = self.p(f"{name}.norm.num_batches_tracked")
        if members is None:
            count.add_(1)
        else:
            count.index_add_(0, members, torch.ones_like(members, dtype=count.dtype))

    def _folded_conv(self, h, w, b, name, mean, var, members) -> torch.Tensor:
        """``norm(conv(h))`` for a normalisation by ``mean`` and ``var``, as one grouped convolution."""
        scale = self.p(f"{name}.norm.weight", members) / torch.sqrt(var + self.eps)
        weight = w * scale[..., None, None, None]
        bias = self.p(f"{name}.norm.bias", members) + (b - mean) * scale
        return F.conv2d(h, weight.flatten(0, 1), bias.flatten(), padding=1, groups=w.shape[0])

    @torch.no_grad()
    def _update_running(self, name: str, mean, var, n: int, members=None) -> None:
        """The running statistics (of ``members``, or all), updated as :class:`torch.nn.BatchNorm2d` does."""
        a = self.momentum
        unbiased = var.detach() * (n / max(n - 1, 1))
        for s, batch in (("mean", mean.detach()), ("var", unbiased)):
            running = self.p(f"{name}.norm.running_{s}")
            if members is None:
                running.mul_(1 - a).add_(batch, alpha=a)
            else:
                updated = running.index_select(0, members).mul_(1 - a).add_(batch, alpha=a)
                running.index_copy_(0, members, updated)
        self._count_batch(name, members)

    def _dropout(self, h: torch.Tensor, generators) -> torch.Tensor:
        """Dropout with each member's masks drawn from its own generator (member axis: 1 or 0)."""
        if not self.training or self.p_drop == 0:
            return h
        keep = 1.0 - self.p_drop
        axis = 1 if h.ndim == 4 else 0
        parts = h.chunk(len(generators), dim=axis)
        masks = [
            torch.empty_like(part).bernoulli_(keep, generator=g)
            for part, g in zip(parts, generators, strict=True)
        ]
        return h * torch.cat(masks, dim=axis).div_(keep)

    def _linear(self, h: torch.Tensor, name: str, members) -> torch.Tensor:
        """``h @ W^T + b`` per member: ``(M, rows, in)`` -> ``(M, rows, out)``."""
        w, b = self.p(f"{name}.weight", members), self.p(f"{name}.bias", members)
        return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))

    def _gru(self, x: torch.Tensor, members) -> torch.Tensor:
        """The bidirectional GRU of every member: ``(M, batch, frames, in)`` -> ``(M, batch, frames, 2H)``."""
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        forward = [self.p(f"gru.{n}", members) for n in names]
        backward = [self.p(f"gru.{n}_reverse", members) for n in names]
        if self.gru_impl == "loop":
            return _gru_loop(x, forward, backward)
        return stacked_bigru(x, forward, backward, self.hidden, self.gru_impl == "function")


def _patch_statistics(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor):
    """Batch mean and (biased) variance of every member's one-channel 3x3 convolution, from its patches.

    ``x`` is ``(batch, M, frames, mels)``, ``w`` ``(M, C, 1, 3, 3)``; as
    :func:`sedlib.model._single_channel_conv_norm`, in float32.
    """
    batch, m, frames, mels = x.shape
    kernel = w.shape[-2] * w.shape[-1]
    with torch.autocast(device_type=x.device.type, enabled=False):
        one = x.float().transpose(0, 1).reshape(m * batch, 1, frames, mels)
        patches = F.unfold(one, w.shape[-2:], padding=1)  # (M * batch, kernel, positions)
        patches = patches.view(m, batch, kernel, -1).transpose(1, 2).reshape(m, kernel, -1)
        n = patches.shape[-1]
        patch_mean = patches.mean(-1)
        centred = patches - patch_mean.unsqueeze(-1)
        cov = centred @ centred.transpose(1, 2) / n
        wf = w.float().reshape(m, -1, kernel)
        mean = (wf @ patch_mean.unsqueeze(-1)).squeeze(-1) + b.float()
        var = ((wf @ cov) * wf).sum(-1)
    return mean, var, n


def stacked_bigru(
    x: torch.Tensor, forward: list, backward: list, hidden: int, written_backward: bool = False
) -> torch.Tensor:
    """Bidirectional single-layer GRU over stacked weights (PyTorch's gate order r, z, n).

    Both directions run as one recurrence over ``2 M`` weight sets (the
    backward one on time-reversed input); the input projection of all frames
    is one ``baddbmm``, each time step one ``baddbmm`` plus element-wise
    gates. The recurrence runs in float32 (also under autocast), through
    autograd step by step, or with ``written_backward`` as
    :class:`GRURecurrence` (2 graph nodes instead of ~10 a step; on a CPU
    slower, its backward being more, unfused element-wise kernels).
    """
    m, batch, frames, _ = x.shape
    w_ih, w_hh, b_ih, b_hh = (torch.cat([f, r]) for f, r in zip(forward, backward, strict=True))
    xs = torch.cat([x, x.flip(2)]).flatten(1, 2)  # (2M, batch * frames, in)
    gi = torch.baddbmm(b_ih.unsqueeze(1), xs, w_ih.transpose(1, 2))
    with torch.autocast(device_type=x.device.type, enabled=False):
        gi = gi.float().view(2 * m, batch, frames, 3 * hidden)
        if written_backward:
            out = GRURecurrence.apply(gi, w_hh.float(), b_hh.float())
        else:
            out = _recurrence_autograd(gi, w_hh.float(), b_hh.float())
    return torch.cat([out[:m], out[m:].flip(2)], -1)


def _recurrence_autograd(gi: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """:class:`GRURecurrence` through autograd, step by step."""
    hidden = w_hh.shape[-1]
    w_hh_t, b_hh = w_hh.transpose(1, 2), b_hh.unsqueeze(1)
    h = gi.new_zeros(gi.shape[0], gi.shape[1], hidden)
    outputs = []
    # unbind and split: one backward node each (a slice per step would cost T^2 in backward)
    gi_rz, gi_n = (part.unbind(2) for part in gi.split((2 * hidden, hidden), -1))
    for g_rz, g_n in zip(gi_rz, gi_n, strict=True):
        gh_rz, gh_n = torch.baddbmm(b_hh, h, w_hh_t).split((2 * hidden, hidden), -1)
        r, z = torch.sigmoid(g_rz + gh_rz).chunk(2, -1)
        n = torch.tanh(torch.addcmul(g_n, r, gh_n))
        h = torch.addcmul(n, z, h - n)
        outputs.append(h)
    return torch.stack(outputs, 2)


class GRURecurrence(torch.autograd.Function):
    """The GRU recurrence ``h_t = (1 - z) n + z h_{t-1}`` over stacked weights, backward written out.

    Input: the input projections ``gi`` ``(S, batch, frames, 3H)`` (biases
    included), the recurrent weights ``w_hh`` ``(S, 3H, H)`` and biases
    ``b_hh`` ``(S, 3H)``; output: every ``h_t``, ``(S, batch, frames, H)``,
    from ``h_0 = 0``. The forward keeps the gates; the backward runs the steps
    in reverse with plain tensor operations (no autograd graph of 500 steps)
    and forms the weight gradient as one batched product over all steps.
    Checked against autograd with ``torch.autograd.gradcheck`` (tests).
    """

    @staticmethod
    def forward(ctx, gi, w_hh, b_hh):
        s, batch, frames, three = gi.shape
        hidden = three // 3
        w_t, bias = w_hh.transpose(1, 2), b_hh.unsqueeze(1)
        hs = gi.new_zeros(s, batch, frames + 1, hidden)
        gates = gi.new_empty(s, batch, frames, three)  # r, z, n
        gh_n = gi.new_empty(s, batch, frames, hidden)
        h = hs[:, :, 0]
        for t in range(frames):
            gh = torch.baddbmm(bias, h, w_t)
            g = gi[:, :, t]
            rz = torch.sigmoid(g[..., : 2 * hidden] + gh[..., : 2 * hidden])
            n = torch.tanh(
                torch.addcmul(g[..., 2 * hidden :], rz[..., :hidden], gh[..., 2 * hidden :])
            )
            h = torch.addcmul(n, rz[..., hidden:], h - n)
            hs[:, :, t + 1] = h
            gates[:, :, t, : 2 * hidden] = rz
            gates[:, :, t, 2 * hidden :] = n
            gh_n[:, :, t] = gh[..., 2 * hidden :]
        ctx.save_for_backward(w_hh, hs, gates, gh_n)
        return hs[:, :, 1:]

    @staticmethod
    def backward(ctx, d_out):
        w_hh, hs, gates, gh_n = ctx.saved_tensors
        hidden = w_hh.shape[-1]
        d_pre = torch.empty_like(gates)  # gradients of the input projections (r, z, n parts)
        d_gh = torch.empty_like(gates)  # and of the recurrent projections
        dh = torch.zeros_like(hs[:, :, 0])
        for t in range(gates.shape[2] - 1, -1, -1):
            dh = dh + d_out[:, :, t]
            r, z, n = gates[:, :, t].split(hidden, -1)
            da = dh * (1 - z) * (1 - n * n)
            d_pre[:, :, t, :hidden] = da * gh_n[:, :, t] * r * (1 - r)
            d_pre[:, :, t, hidden : 2 * hidden] = dh * (hs[:, :, t] - n) * z * (1 - z)
            d_pre[:, :, t, 2 * hidden :] = da
            d_gh[:, :, t, : 2 * hidden] = d_pre[:, :, t, : 2 * hidden]
            d_gh[:, :, t, 2 * hidden :] = da * r
            dh = torch.baddbmm(dh * z, d_gh[:, :, t], w_hh)
        flat = d_gh.flatten(1, 2)
        d_w = flat.transpose(1, 2) @ hs[:, :, :-1].flatten(1, 2)
        return d_pre, d_w, flat.sum(1)


def _gru_loop(x: torch.Tensor, forward: list, backward: list) -> torch.Tensor:
    """The fused GRU kernel (cuDNN on CUDA) once per member."""
    outputs = []
    for i in range(x.shape[0]):
        weights = [w[i] for w in forward] + [w[i] for w in backward]
        h0 = x.new_zeros(2, x.shape[1], forward[1].shape[-1])
        out, _ = torch._VF.gru(x[i], h0, weights, True, 1, 0.0, torch.is_grad_enabled(), True, True)
        outputs.append(out)
    return torch.stack(outputs)


class StackedOptimizer(torch.optim.Optimizer):
    """Adam or SGD with momentum over stacked parameters, where each member steps only when it trained.

    ``step(active)`` updates the members whose entry of the boolean ``active``
    ``(M,)`` is true and leaves the others (parameters and state) as they
    were; every member counts its own steps, so its bias corrections (Adam)
    and its first momentum step (SGD) are those of a run of its own
    (:func:`sedlib.training.loop.make_optimizer`: ``torch.optim.Adam``, or
    ``torch.optim.SGD`` without dampening), whatever the other members did.

    Parameters
    ----------
    params : iterable of torch.Tensor
        Stacked parameters, members along the first axis.
    kind : {"adam", "sgd"}
        The update rule.
    lr, weight_decay, momentum : float
        As in the torch optimizers (``momentum``: SGD only).
    """

    def __init__(
        self, params, kind: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.0
    ):
        if kind not in ("adam", "sgd"):
            raise ValueError(f"kind must be 'adam' or 'sgd', got {kind!r}")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "kind": kind}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, active: torch.Tensor | None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                on = active if active is not None else p.new_ones(p.shape[0], dtype=torch.bool)
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros(p.shape[0], device=p.device)
                grad = (
                    p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                )
                mask = on.view(-1, *([1] * (p.ndim - 1)))
                state["step"].add_(on.to(state["step"].dtype))
                if group["kind"] == "adam":
                    _adam(p, grad, state, mask, group["lr"])
                else:
                    _sgd(p, grad, state, mask, group["lr"], group["momentum"])


def _adam(
    p, grad, state, mask, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
):
    """``torch.optim.Adam``'s update (its defaults) for the members in ``mask``."""
    if "exp_avg" not in state:
        state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
    exp_avg = state["exp_avg"].lerp(grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"].mul(beta2).addcmul_(grad, grad, value=1 - beta2)
    step = state["step"].clamp_min(1).double().view(mask.shape)
    step_size = (lr / (1 - beta1**step)).to(p.dtype)
    denom = (exp_avg_sq.sqrt() / (1 - beta2**step).sqrt().to(p.dtype)).add_(eps)
    new = p - step_size * exp_avg / denom
    p.copy_(torch.where(mask, new, p))
    state["exp_avg"] = torch.where(mask, exp_avg, state["exp_avg"])
    state["exp_avg_sq"] = torch.where(mask, exp_avg_sq, state["exp_avg_sq"])


def _sgd(p, grad, state, mask, lr: float, momentum: float):
    """``torch.optim.SGD``'s update (no dampening, no Nesterov) for the members in ``mask``."""
    if momentum:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        first = (state["step"] == 1).view(mask.shape)
        buf = torch.where(first, grad, state["momentum_buffer"] * momentum + grad)
        state["momentum_buffer"] = torch.where(mask, buf, state["momentum_buffer"])
        grad = buf
    p.copy_(torch.where(mask, p - lr * grad, p))
