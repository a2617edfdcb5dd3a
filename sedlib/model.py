"""The CRNN of the paper's Table 3.

Three convolutional blocks (128 channels, 3x3 kernels) with frequency-only
max pooling 8, 4 and 2 bring 64 mel bands down to 1 while keeping every time
frame; one bidirectional GRU of 32 units per direction; one fully connected
layer of 32 units; one output per class (logits; the sigmoid lives in the
losses and in :meth:`CRNN.predict_proba`).

What Table 3 leaves open follows the DCASE 2018 task 4 baseline that the
paper names as its model (Serizel et al., 2018), in its common CRNN form:
batch normalisation after each convolution, ReLU activations, dropout after
each convolutional block and after the dense layer, and bidirectional GRU
outputs concatenated (2 x 32 = 64 features per frame). :class:`ConvBlock`
computes its block in a faster order with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Module):
    """Conv 3x3 -> batch norm -> max pool over frequency only -> ReLU -> dropout.

    ReLU and max pooling commute exactly (both are monotone), values and
    gradients alike, so the ReLU runs on the pooled map, 2 to 8 times smaller.
    Two further shortcuts compute the same function as the plain sequence
    (up to float rounding, tested):

    - with one input channel (the first block), the batch statistics of the
      convolution's output follow from the 3x3 covariance of the input
      patches, so in training the normalisation is folded into the
      convolution's weights and the full-resolution map is never normalised
      separately (the largest tensor of the model, 128 x 500 x 64 per clip);
    - in evaluation the running statistics are folded into the weights.
    """

    def __init__(self, in_channels: int, out_channels: int, freq_pool: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=(1, freq_pool))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        if not norm.training and norm.track_running_stats:
            h = _conv_with_folded_norm(x, self.conv, norm, norm.running_mean, norm.running_var)
        elif self.conv.in_channels == 1 and norm.track_running_stats and norm.momentum is not None:
            h = _single_channel_conv_norm(x, self.conv, norm)
        else:
            h = norm(self.conv(x))
        return self.dropout(self.act(self.pool(h)))


def _conv_with_folded_norm(x, conv: nn.Conv2d, norm: nn.BatchNorm2d, mean, var) -> torch.Tensor:
    """``norm(conv(x))`` for a normalisation by ``mean`` and ``var``, as one convolution."""
    scale = norm.weight / torch.sqrt(var + norm.eps)
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    bias = norm.bias + (conv.bias - mean) * scale
    return F.conv2d(x, weight, bias, padding=conv.padding)


def _single_channel_conv_norm(x, conv: nn.Conv2d, norm: nn.BatchNorm2d) -> torch.Tensor:
    """Training-mode ``norm(conv(x))`` for a one-channel input, without normalising the output.

    Output channel ``c`` is ``w_c . p + b_c`` for the input patches ``p``, so
    its batch mean is ``w_c . mean(p) + b_c`` and its (biased) variance
    ``w_c^T cov(p) w_c``; the running statistics are updated as
    :class:`torch.nn.BatchNorm2d` updates them (unbiased variance).
    """
    kernel = conv.weight.shape[-2] * conv.weight.shape[-1]
    # the statistics in float32 even under bfloat16 autocast, as batch norm computes them
    with torch.autocast(device_type=x.device.type, enabled=False):
        patches = F.unfold(
            x.float(), conv.kernel_size, padding=conv.padding
        )  # (batch, kernel, positions)
        patches = patches.transpose(0, 1).reshape(kernel, -1)
        n = patches.shape[1]
        patch_mean = patches.mean(1)
        centred = patches - patch_mean[:, None]
        cov = centred @ centred.T / n
        w = conv.weight.float().reshape(conv.out_channels, kernel)
        mean = w @ patch_mean + conv.bias.float()
        var = ((w @ cov) * w).sum(1)
    with torch.no_grad():
        m = norm.momentum
        norm.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
        norm.running_var.mul_(1 - m).add_(var.detach() * (n / max(n - 1, 1)), alpha=m)
        norm.num_batches_tracked.add_(1)
    return _conv_with_folded_norm(x, conv, norm, mean, var)


class CRNN(nn.Module):
    """Convolutional recurrent network for frame-wise multi-label detection.

    Parameters
    ----------
    n_classes : int
        Number of sound event classes (25 in the paper).
    n_mels : int
        Input mel bands (64). Must equal the product of ``freq_pools``.
    channels : int
        Channels of each convolutional layer (128).
    freq_pools : sequence of int
        Frequency max-pooling factor of each convolutional block (8, 4, 2).
    gru_units : int
        Units per direction of the bidirectional GRU (32).
    fc_units : int
        Units of the fully connected layer (32).
    dropout : float
        Dropout after each convolutional block and after the dense layer
        (0.3, not given by the paper).

    Notes
    -----
    ``forward`` maps log-mel features ``(batch, frames, n_mels)`` to logits
    ``(batch, frames, n_classes)``; any number of frames works and is kept.
    With 25 classes the model has 331,225 trainable parameters.

    Examples
    --------
    >>> model = CRNN(n_classes=25)
    >>> model(torch.zeros(2, 500, 64)).shape
    torch.Size([2, 500, 25])
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 64,
        channels: int = 128,
        freq_pools: Sequence[int] = (8, 4, 2),
        gru_units: int = 32,
        fc_units: int = 32,
        dropout: float = 0.3,
    ):
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"n_classes must be at least 1, got {n_classes}")
        remaining = n_mels
        for pool in freq_pools:
            if remaining % pool:
                raise ValueError(
                    f"freq_pools={tuple(freq_pools)} do not divide n_mels={n_mels} evenly"
                )
            remaining //= pool
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.n_classes = n_classes
        self.n_mels = n_mels
        blocks, in_ch = [], 1
        for pool in freq_pools:
            blocks.append(ConvBlock(in_ch, channels, pool, dropout))
            in_ch = channels
        self.cnn = nn.Sequential(*blocks)
        self.gru = nn.GRU(
            input_size=channels * remaining,
            hidden_size=gru_units,
            batch_first=True,
            bidirectional=True,
        )
        self.fc = nn.Sequential(nn.Linear(2 * gru_units, fc_units), nn.ReLU(), nn.Dropout(dropout))
        self.out = nn.Linear(fc_units, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Frame-wise logits ``(batch, frames, n_classes)`` of ``(batch, frames, n_mels)`` input."""
        if x.ndim != 3 or x.shape[-1] != self.n_mels:
            raise ValueError(
                f"CRNN expects input (batch, frames, {self.n_mels}), got {tuple(x.shape)}"
            )
        h = self.cnn(x.unsqueeze(1))  # (batch, channels, frames, mels_left)
        h = h.permute(0, 2, 1, 3).flatten(2)  # (batch, frames, channels * mels_left)
        h, _ = self.gru(h)
        return self.out(self.fc(h))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Frame-wise class probabilities in evaluation mode (the sigmoid of the logits)."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(x))
        finally:
            self.train(was_training)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
