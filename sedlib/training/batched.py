"""The batched engine: many trainings of one model shape in one process, as one stacked model.

A *member* is one training of a run (one fold, or the single dev-eval
training). Members that share a *schedule* (model shape, optimizer and its
settings, batch size, device) train together as one
:class:`~sedlib.training.stacked.StackedCRNN`; any mix of seed, loss, γ and
fold can share a group. Each member keeps what a single run of
:func:`sedlib.training.run.train` would have:

- its initialisation (``torch.manual_seed(seed)``, ``CRNN(...)``,
  :func:`~sedlib.training.loop.init_bias`) and its batch order (the seeded
  permutation of :func:`~sedlib.training.loop.train_epoch`), its loss, its
  validation, its model selection and early stopping
  (:func:`~sedlib.training.loop.end_epoch`);
- its optimizer: :class:`~sedlib.training.stacked.StackedOptimizer` is
  Adam (or SGD) per member, with the member's own step count;
- its dropout masks, from a generator seeded with its seed (independent of
  the other members; not the masks of the single run, which draws them
  from the global generator);
- its records: ``best.pt``, ``validation.npz``, ``test.npz`` and
  ``fold.json`` in its fold folder (with ``member.pt``, the state it
  stopped in, which :mod:`sedlib.training.extend` reopens), and the run's
  ``metrics.json``, written by its :class:`~sedlib.training.folder.RunFolder`
  as a single run writes them (with ``timing["engine"] = "batched"``).

Folds of different lengths in one group: the training clips of every fold
in the group live on the device as one tensor, and each member indexes its
fold's part with its own batch order. Members step together while they all
have full batches (all but the last step or two of an epoch); at an epoch's
end the members with a batch of one size (a fold's last, smaller batch)
step together, and a member whose epoch is over waits: it does not step, its
optimizer state and step count stay as they are. So the batch statistics
and the optimizer are exactly a run's own, while the paper's grid (40 runs
x 4 folds of unequal length) is one group of 160 members, not four of 40:
the recurrent layer's 500 sequential steps, which cost about the same for
any number of members, are shared four times as widely.

A member that stops (early stopping, its budget, or a non-finite loss,
which fails that member only, naming it) leaves the group at the end of the
epoch: parameters, buffers and optimizer state are re-packed without it. The
group checkpoints after every epoch (one file, written atomically, with
``members.json`` beside it naming the members still training) and resumes
after an interruption (SIGINT or SIGKILL) exactly where it stood: a member
whose record was written before the interruption leaves the group with that
record untouched, and a member whose run folder lost its kept model (a
deleted folder) starts again in a new group while the others resume.

Timing: a member's ``seconds`` per epoch are the group's epoch time divided by
the members active in it (its share of the device); ``group_seconds`` and
``group_members`` in its history give the group's own numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sedlib import provenance
from sedlib.errors import FolderTakenError
from sedlib.losses import get_loss, targets_checked_elsewhere
from sedlib.model import CRNN
from sedlib.training import checkpoint
from sedlib.training.config import device_kind
from sedlib.training.folder import (
    FoldOutcome,
    Interrupted,
    Member,
    RunFolder,
    initial_model,
    training_lock,
)
from sedlib.training.inference import MAX_BATCH_FRAMES, as_predictions, batches
from sedlib.training.loop import (
    DeviceClips,
    RunState,
    batch_order,
    diverged,
    end_epoch,
    loss_over_valid,
    outputs_finite,
    planned_steps,
    steps_per_epoch,
)
from sedlib.training.preflight import RunPlan, preflight
from sedlib.training.record import RunRecord
from sedlib.training.split import FoldData, prepare_fold
from sedlib.training.stacked import StackedCRNN, StackedOptimizer
from sedlib.training.threads import cpu_threads
from sedlib.util.io import read_json, write_json
from sedlib.util.lock import FileLock

log = logging.getLogger(__name__)

#: Member-frames per validation pass (frames of the batch x members): 8 single-run batches.
VALIDATION_FRAMES = 8 * MAX_BATCH_FRAMES

GROUP_CHECKPOINT = "group.pt"

#: A stopped member's training state in its training folder: the group checkpoint of a group
#: of one, from which :mod:`sedlib.training.extend` reopens it under a larger budget or patience.
MEMBER_STATE = "member.pt"
GROUP_MEMBERS = "members.json"


def schedule_key(member: Member) -> str:
    """What members of one group must share: model shape, optimizer and its settings, batch size, device."""
    c, resolved = member.config, member.config.resolved(member.plan.device.type)
    shared = {
        "device": str(member.plan.device),
        "classes": len(member.plan.dataset.labels),
        "model": resolved["model"],
        "optimizer": [c.optimizer, c.lr, resolved["momentum"], c.weight_decay],
        "amp": resolved["amp"],
        "batch_size": c.batch_size,
    }
    return json.dumps(shared, sort_keys=True)


def group_name(members: list[Member]) -> str:
    """A folder name for a group: a hash of its members' keys (order-free)."""
    return group_folder_name([m.key for m in members])


def group_folder_name(keys: list[str]) -> str:
    """The folder name of the group of the members ``keys`` (:attr:`Member.key`; order-free)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


@dataclass
class _Group:
    """The live state of a training group (what its checkpoint holds, and the model)."""

    members: list[Member]
    model: StackedCRNN
    optimizer: torch.optim.Optimizer
    generators: list[torch.Generator]
    states: list[RunState]
    active: list[int]  # member indices, in the model's member order
    failed: dict[int, str] = field(default_factory=dict)


def _start(members: list[Member], folder: Path, device: torch.device, gru: str) -> _Group:
    """A fresh group, or the group of the checkpoint in ``folder``."""
    model = StackedCRNN([initial_model(m) for m in members], gru=gru).to(device)
    generators = [torch.Generator(device=device).manual_seed(m.config.seed) for m in members]
    states = [RunState() for _ in members]
    path = folder / GROUP_CHECKPOINT
    if not path.is_file():
        optimizer = stacked_optimizer(model, members[0].config)
        return _Group(members, model, optimizer, generators, states, list(range(len(members))))
    saved = _without_departed(checkpoint.load(path, device), [m.key for m in members], path)
    model.keep(torch.tensor(saved["active"], dtype=torch.long, device=device))
    model.load_state_dict(saved["model"])
    optimizer = stacked_optimizer(model, members[0].config)
    optimizer.load_state_dict(saved["optimizer"])
    for g, state in zip(generators, saved["generators"], strict=True):
        g.set_state(state.cpu())  # a generator's state is a CPU tensor, even a CUDA one's
    states = [RunState(**s) for s in saved["states"]]
    failed = {int(k): v for k, v in saved["failed"].items()}
    return _Group(members, model, optimizer, generators, states, list(saved["active"]), failed)


def _without_departed(saved: dict, keys: list[str], path: Path) -> dict:
    """The checkpoint ``saved`` for the members ``keys``: all of its members, or all but some that left.

    A member that left the group finished (or failed); once its run is
    promoted it is no longer among the trainings to plan, and the group is
    re-formed without it. Every member still training must be in ``keys``.
    """
    old = saved["members"]
    if old == keys:
        return saved
    if not set(keys) <= set(old) or not {old[i] for i in saved["active"]} <= set(keys):
        raise FolderTakenError(f"{path} belongs to another group of trainings; delete its folder")
    index = [old.index(k) for k in keys]
    new_of = {i: n for n, i in enumerate(index)}
    return {
        **saved,
        "members": keys,
        "active": [new_of[i] for i in saved["active"]],
        "generators": [saved["generators"][i] for i in index],
        "states": [saved["states"][i] for i in index],
        "failed": {str(new_of[int(k)]): v for k, v in saved["failed"].items() if int(k) in new_of},
    }


def _save(group: _Group, folder: Path) -> None:
    """The group's checkpoint, atomically, then ``members.json`` (who trains, who kept a model)."""
    checkpoint.save(
        folder / GROUP_CHECKPOINT,
        {
            "members": [m.key for m in group.members],
            "active": group.active,
            "model": group.model.state_dict(),
            "optimizer": group.optimizer.state_dict(),
            "generators": [g.get_state() for g in group.generators],
            "states": [asdict(s) for s in group.states],
            "failed": {str(k): v for k, v in group.failed.items()},
        },
    )
    kept = [i for i in group.active if group.states[i].best_epoch >= 0]
    _write_members(folder, group.members, group.active, kept)


def member_checkpoint(group: _Group, i: int) -> dict:
    """Member ``i``'s training state as the checkpoint of a group of one (copies).

    Every stacked parameter, buffer and optimizer state has the members along
    its first axis, so the member's slice of each is its own state.
    """
    pos = group.active.index(i)

    def own(value):
        return value[pos : pos + 1].clone() if torch.is_tensor(value) and value.ndim else value

    optimizer = group.optimizer.state_dict()
    return {
        "members": [group.members[i].key],
        "active": [0],
        "model": {name: own(v) for name, v in group.model.state_dict().items()},
        "optimizer": {
            **optimizer,
            "state": {
                k: {n: own(v) for n, v in st.items()} for k, st in optimizer["state"].items()
            },
        },
        "generators": [group.generators[i].get_state()],
        "states": [asdict(group.states[i])],
        "failed": {},
        "identity": group.members[i].plan.identity,
    }


def _keep(group: _Group, keep: list[int]) -> None:
    """Re-pack the model and the optimizer state for the members ``keep`` (indices of members)."""
    positions = [group.active.index(i) for i in keep]
    index = torch.tensor(positions, dtype=torch.long, device=next(group.model.parameters()).device)
    old = group.optimizer
    state_of = {name: old.state.get(p, {}) for name, p in group.model.params.items()}
    group.model.keep(index)
    new = stacked_optimizer(group.model, group.members[0].config)
    for name, p in group.model.params.items():
        new.state[p] = {
            k: (v.index_select(0, index) if torch.is_tensor(v) and v.ndim > 0 else v)
            for k, v in state_of[name].items()
        }
    group.optimizer, group.active = new, list(keep)


@dataclass
class _Clips:
    """The training clips of every fold of a group, one tensor on the device, and where each fold starts."""

    clips: DeviceClips
    start: dict[int, int]  # id(FoldData) -> first clip

    @classmethod
    def of(cls, members: list[Member], device: torch.device) -> _Clips:
        datas = list({id(m.data): m.data for m in members}.values())
        parts = [DeviceClips.of(d, device) for d in datas]
        starts = np.cumsum([0] + [len(p.x) for p in parts])[:-1]
        clips = DeviceClips(
            *(torch.cat([getattr(p, a) for p in parts]) for a in ("x", "y", "mask"))
        )
        return cls(clips, {id(d): int(s) for d, s in zip(datas, starts, strict=True)})


def _loss_groups(
    group: _Group, device: torch.device, positions: tuple[int, ...]
) -> list[tuple[object, torch.Tensor]]:
    """The active members at ``positions`` by identical loss (function and parameters): one call each.

    Indices are into ``positions`` (the rows of that step's logits).
    """
    by_loss: dict[str, tuple[object, list[int]]] = {}
    for pos, i in enumerate(group.active[p] for p in positions):
        member = group.members[i]
        loss = get_loss(member.config.loss, **member.config.loss_params(member.data.class_frames))
        params = {
            k: np.asarray(v).tolist() if k == "class_frames" else v for k, v in loss.params.items()
        }
        key = json.dumps([loss.name, params], sort_keys=True, default=str)
        by_loss.setdefault(key, (loss, []))[1].append(pos)
    return [(fn, torch.tensor(pos, device=device)) for fn, pos in by_loss.values()]


def member_losses(logits, targets, mask, loss_groups) -> torch.Tensor:
    """Each member's loss averaged over its valid frames and all classes (``loss_over_valid``), ``(M,)``."""
    out = logits.new_zeros(logits.shape[0], dtype=torch.float32)
    for loss_fn, index in loss_groups:
        mine = (logits[index], targets[index], mask[index])
        out = out.index_copy(0, index, loss_over_valid(loss_fn, *mine, dims=(1, 2, 3)))
    return out


def stacked_optimizer(model: StackedCRNN, config) -> StackedOptimizer:
    """The configured optimizer (:func:`~sedlib.training.loop.make_optimizer`'s) for every member."""
    momentum = config.momentum if config.optimizer == "sgd" else 0.0
    return StackedOptimizer(
        model.parameters(), config.optimizer, config.lr, config.weight_decay, momentum
    )


def _parts(lengths: list[int], step: int, batch: int) -> list[tuple[int, tuple[int, ...]]]:
    """The members (positions) that train at ``step``, by their batch size there (0: epoch over)."""
    parts: dict[int, list[int]] = {}
    for pos, n in enumerate(lengths):
        size = min(batch, n - step * batch)
        if size > 0:
            parts.setdefault(size, []).append(pos)
    return [(size, tuple(positions)) for size, positions in parts.items()]


def _train_epoch(group: _Group, clips: _Clips, epoch: int, device: torch.device) -> torch.Tensor:
    """One epoch of every active member; their mean training losses, on the device (no host sync).

    Members of different folds have different numbers of clips: at every step
    the members with a batch of one size train together (usually all of
    them, with full batches; at an epoch's end, the members of each fold with
    their last, smaller batch), and a member whose epoch is over does not step.
    """
    model, optimizer = group.model, group.optimizer
    active = [group.members[i] for i in group.active]
    config = active[0].config
    batch = config.batch_size
    model.train()
    # each member's order of ``train_epoch``, as indices into the union clips
    orders = [
        batch_order(m.config.seed, epoch, len(m.data.clips)) + clips.start[id(m.data)]
        for m in active
    ]
    lengths = [len(o) for o in orders]
    steps = max(-(-n // batch) for n in lengths)
    order = torch.stack([F.pad(o, (0, steps * batch - len(o))) for o in orders]).to(device)
    cached: dict[tuple, tuple] = {}  # per set of members training together
    masks: dict[tuple, torch.Tensor] = {}  # per set of members stepping
    total = torch.zeros(len(active), device=device)
    with targets_checked_elsewhere():
        for step in range(steps):
            parts = _parts(lengths, step, batch)
            optimizer.zero_grad(set_to_none=True)
            for size, positions in parts:
                if positions not in cached:
                    cached[positions] = _part(group, positions, device)
                index, every, loss_groups, generators = cached[positions]
                rows = order if every else order.index_select(0, index)
                idx = rows[:, step * batch : step * batch + size]
                with torch.autocast(
                    device.type, torch.bfloat16, enabled=config.amp and device.type == "cuda"
                ):
                    logits = model(clips.clips.x[idx], generators, None if every else index)
                losses = member_losses(
                    logits, clips.clips.y[idx], clips.clips.mask[idx], loss_groups
                )
                losses.sum().backward()
                total.index_add_(0, index, losses.detach())
            trained = tuple(sorted(p for _, positions in parts for p in positions))
            if trained not in masks:  # on the device once: a copy per step would wait for the GPU
                stepping = torch.isin(torch.arange(len(active)), torch.tensor(trained))
                masks[trained] = stepping.to(device)
            optimizer.step(masks[trained])
    counts = torch.tensor([-(-n // batch) for n in lengths], dtype=torch.float32, device=device)
    return total / counts


def _part(group: _Group, positions: tuple[int, ...], device: torch.device) -> tuple:
    """What a step of the members at ``positions`` needs: their index, losses, generators."""
    index = torch.tensor(positions, dtype=torch.long, device=device)
    every = positions == tuple(range(len(group.active)))
    loss_groups = _loss_groups(group, device, positions)
    generators = [group.generators[group.active[p]] for p in positions]
    return index, every, loss_groups, generators


def _validate(group: _Group, positions: list[int], data: FoldData, device: torch.device):
    """Validation metrics and loss of the active members at ``positions`` (one fold): lists."""
    members = [group.members[group.active[p]] for p in positions]
    fns = [get_loss(m.config.loss, **m.config.loss_params(data.class_frames)) for m in members]
    model, features, k = group.model, data.validation, len(positions)
    model.eval()
    index = torch.tensor(positions, dtype=torch.long, device=device)
    lengths = np.diff(features.offsets).tolist()
    probs = [[None] * len(lengths) for _ in range(k)]
    totals, count = torch.zeros(k, device=device), 0
    with torch.inference_mode(), targets_checked_elsewhere():
        for batch in batches(lengths, max(1, VALIDATION_FRAMES // k)):
            pairs = [features.file(i) for i in batch]
            x = data.norm(torch.from_numpy(np.stack([f for f, _ in pairs])).to(device))
            logits = model(x.expand(k, *x.shape), members=index).float()
            target = torch.from_numpy(np.stack([y for _, y in pairs]).astype(np.float32)).to(device)
            for j, fn in enumerate(fns):
                totals[j] += fn(logits[j], target, reduction="sum")
            count += target.numel()
            p = torch.sigmoid(logits).cpu().numpy()
            for j in range(k):
                for q, i in enumerate(batch):
                    probs[j][i] = p[j, q]
    metrics = [  # None: outputs that are not finite (the member diverged)
        as_predictions(features, data.train_meta, probs[j], "all").segment_metrics(
            m.config.threshold, m.config.time_resolution
        )
        if outputs_finite(probs[j])
        else None
        for j, m in enumerate(members)
    ]
    return metrics, (totals / max(count, 1)).tolist()


def _member_failed(group: _Group, i: int, problem: str, epoch: int) -> None:
    member = group.members[i]
    group.failed[i] = (
        f"{member.what}: {problem} {diverged(member.config, epoch)}; the other members of its "
        "group went on"
    )
    log.error("%s", group.failed[i])


def _validate_all(group: _Group, device: torch.device, skip: set[int]) -> dict[int, tuple]:
    """(metrics, validation loss) of every active member not in ``skip``, fold by fold."""
    by_fold: dict[int, list[int]] = {}
    for pos, i in enumerate(group.active):
        if i not in skip:
            by_fold.setdefault(id(group.members[i].data), []).append(pos)
    out = {}
    for same_fold in by_fold.values():
        data = group.members[group.active[same_fold[0]]].data
        longest = int(np.diff(data.validation.offsets).max())
        size = max(1, VALIDATION_FRAMES // max(longest, 1))  # members per pass
        for k in range(0, len(same_fold), size):
            positions = same_fold[k : k + size]
            metrics, losses = _validate(group, positions, data, device)
            out.update({p: (m, v) for p, m, v in zip(positions, metrics, losses, strict=True)})
    return out


def _epoch(group: _Group, clips: _Clips, device: torch.device) -> list[int]:
    """Train and validate every active member for one epoch; the members that stop now."""
    epoch = group.states[group.active[0]].epoch
    start = time.perf_counter()
    train_losses = _train_epoch(group, clips, epoch, device).tolist()  # the epoch's one host sync
    training = time.perf_counter() - start
    for pos, i in enumerate(group.active):
        if not np.isfinite(train_losses[pos]):
            _member_failed(group, i, f"the loss is {train_losses[pos]}", epoch)
    validated = _validate_all(group, device, set(group.failed))
    elapsed, share = time.perf_counter() - start, len(group.active)
    for pos, (metrics, val_loss) in validated.items():
        i = group.active[pos]
        if metrics is None:
            _member_failed(group, i, "the outputs on the validation clips are not finite", epoch)
            continue
        member, state = group.members[i], group.states[i]
        steps = steps_per_epoch(len(member.data.clips), member.config.batch_size)
        improved = end_epoch(
            state, member.config, steps, train_losses[pos], val_loss, metrics, elapsed / share,
            training / share, group_seconds=round(elapsed, 3), group_members=share,
        )  # fmt: skip
        if improved:
            checkpoint.save(
                member.folder / checkpoint.BEST,
                {
                    "identity": member.plan.identity,
                    "model": group.model.member_state(pos),
                    "epoch": state.epoch,
                },
            )
    return [
        i
        for i in group.active
        if i in group.failed or group.states[i].finished(group.members[i].config)
    ]


def _finish(group: _Group, stopping: list[int], device: torch.device) -> None:
    """Write the training state and the records of the members that stop, then re-pack the group
    without them."""
    for i in stopping:
        if i in group.failed:
            continue
        member = group.members[i]
        checkpoint.save(member.folder / MEMBER_STATE, member_checkpoint(group, i))
        model = CRNN(n_classes=len(member.plan.dataset.labels), **member.config.model).to(device)
        member.run.finish_fold(member.fold, member.data, model, group.states[i])
    _leave(group, stopping)


def _leave(group: _Group, leaving: list[int]) -> None:
    """Re-pack the group without the members ``leaving`` (their records, if any, are untouched)."""
    keep = [i for i in group.active if i not in leaving]
    if keep:
        _keep(group, keep)
    else:
        group.active = []


def train_group(
    members: list[Member],
    folder: Path,
    device: torch.device,
    *,
    gru: str = "cell",
    progress: bool = True,
    max_epochs: int | None = None,
    restart: frozenset[str] = frozenset(),
) -> list[FoldOutcome | Interrupted | Exception | None]:
    """Train a group of members of one schedule to their ends (or ``max_epochs`` more epochs).

    Parameters
    ----------
    members : list of Member
        The trainings; they must share :func:`schedule_key`.
    folder : Path
        The group's folder (its checkpoint); resumed when it holds one.
    device : torch.device
        Where to train.
    gru : {"cell", "loop"}
        The recurrent layer's implementation (:class:`StackedCRNN`).
    progress : bool
        Show a progress bar over the epochs.
    max_epochs : int, optional
        Stop (as if interrupted) after this many epochs in this call.
    restart : frozenset of str
        Keys of members that leave a resumed group untrained (their run folder
        lost what the checkpoint needs; :func:`plan_groups` gives them a new group).

    Returns
    -------
    list
        Per member: its :class:`FoldOutcome`, :class:`Interrupted` when it is
        still training, the exception that stopped it (a non-finite loss), or
        None when it left for another group (``restart``).
    """
    if len({schedule_key(m) for m in members}) != 1:
        raise ValueError("a group's members must share one schedule (see schedule_key)")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / GROUP_CHECKPOINT).is_file():
        _write_members(folder, members, list(range(len(members))), [])
    for member in members:
        member.folder.mkdir(parents=True, exist_ok=True)
    group = _start(members, folder, device, gru)
    # a member whose record was written before the group's checkpoint (an interruption between
    # the two) has finished: it leaves with its record untouched; a member to restart leaves too
    leaving = [i for i in group.active if members[i].finished or members[i].key in restart]
    if leaving:
        _leave(group, leaving)
        _save(group, folder)
    _run_epochs(group, folder, device, progress, max_epochs)
    return [_outcome(group, i) for i in range(len(members))]


def _write_members(folder: Path, members: list[Member], active: list[int], kept: list[int]) -> None:
    """``members.json``: every member's key, those still training, those with a kept model."""
    write_json(
        folder / GROUP_MEMBERS,
        {
            "members": [m.key for m in members],
            "active": [members[i].key for i in active],
            "kept": [members[i].key for i in kept],
        },
    )


def _run_epochs(
    group: _Group, folder: Path, device: torch.device, progress: bool, max_epochs: int | None
) -> None:
    """Epochs until every member has stopped (or ``max_epochs``), checkpointing after each.

    The progress bar counts the optimizer steps of the group's longest training.
    """
    from tqdm.auto import tqdm

    members = group.members
    clips = _Clips.of([members[i] for i in group.active] or members, device)
    total = max(
        planned_steps(m.config, steps_per_epoch(len(m.data.clips), m.config.batch_size))
        for m in members
    )
    done = max((s.steps for s in group.states), default=0)
    epochs_here = 0
    what = f"group of {len(members)}"
    finished = [i for i in group.active if group.states[i].finished(members[i].config)]
    if finished:  # reopened in a state its settings already stop (a patience or budget extended)
        _finish(group, finished, device)
        _save(group, folder)
    with tqdm(total=total, initial=done, desc=what, unit="step", disable=not progress) as bar:
        while group.active and (max_epochs is None or epochs_here < max_epochs):
            _finish(group, _epoch(group, clips, device), device)
            _save(group, folder)
            epochs_here += 1
            now = max(s.steps for s in group.states)
            bar.update(now - done)
            done = now
            bar.set_postfix(members=len(group.active))


def _outcome(group: _Group, i: int) -> FoldOutcome | Interrupted | Exception | None:
    member = group.members[i]
    if i in group.failed:
        return FloatingPointError(group.failed[i])
    if i in group.active:
        return Interrupted(member.fold.name, group.states[i].epoch)
    if not member.finished:  # left to train in another group
        return None
    return member.run.load_fold(member.fold, member.data)


def group_size(
    member: Member, device: torch.device, gru: str = "cell", fraction: float = 0.8
) -> int | None:
    """Members per group that fit in ``fraction`` of the free device memory (CUDA); None (no limit) on a CPU.

    The device memory of one more member is measured in a training step of
    ``member``'s shape: one step of a 1-member and of a 3-member group on
    random clips, half the difference of their peaks.
    """
    if device.type != "cuda":
        return None
    config = member.config
    peaks = []
    for m in (1, 3):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        model = StackedCRNN([initial_model(member)] * m, gru=gru).to(device)
        optimizer = stacked_optimizer(model, config)
        x = torch.randn(m, config.batch_size, 500, model.n_mels, device=device)
        generators = [torch.Generator(device=device).manual_seed(k) for k in range(m)]
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=config.amp):
            loss = model(x, generators).float().square().mean()
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
        del model, optimizer, x, loss
    per_member = max(1, (peaks[1] - peaks[0]) // 2)
    free, _ = torch.cuda.mem_get_info(device)
    size = max(1, int(free * fraction / per_member))
    log.info(
        "batched: %.0f MiB per member, %.0f MiB free: up to %d members a group",
        per_member / 2**20,
        free / 2**20,
        size,
    )
    return size


@dataclass
class PlannedGroup:
    """A group to train: its members, and the keys of those that restart elsewhere."""

    members: list[Member]
    restart: frozenset[str] = frozenset()
    folder: Path | None = None  # a checkpointed group's folder (None: a new group)


def plan_groups(
    everyone: list[Member], todo: list[Member], groups_dir: Path, max_members: int | None
) -> list[PlannedGroup]:
    """The groups to train: first the unfinished groups of earlier calls, then new ones.

    A group checkpointed in ``groups_dir`` is re-formed as it was when the
    members it still trains are among ``everyone`` and one of them is in
    ``todo`` (members that left it finished and whose runs are no longer
    planned are left out). A member it still trains whose run folder lost its kept model
    (``best.pt``; e.g. a deleted work folder) cannot resume: it restarts in
    a new group, and the others resume without it (a warning names the group
    folder). The other members of ``todo`` form new groups by
    :func:`schedule_key`, at most ``max_members`` each.
    """
    by_key = {m.key: m for m in everyone}
    left = {m.key: m for m in todo}
    groups = []
    for path in sorted(groups_dir.glob(f"*/{GROUP_MEMBERS}")):
        found = read_json(path, "group members")
        keys = [k for k in found["members"] if k in by_key]
        training = found.get("active", found["members"])
        if not (path.parent / GROUP_CHECKPOINT).is_file():
            continue
        if not all(k in by_key for k in training):
            if any(k in left for k in training):
                log.warning(
                    "batched: %s cannot resume (a member it trains is not planned now); its "
                    "planned members start again in a new group", path.parent,
                )  # fmt: skip
            continue
        active = [k for k in training if k in left]
        if not active:
            continue
        kept = set(found.get("kept", ()))
        lost = [
            k for k in active if k in kept and not (by_key[k].folder / checkpoint.BEST).is_file()
        ]
        if lost:
            log.warning(
                "batched: %s lost its kept model (%s); it starts again in a new group, the "
                "other members of %s resume",
                ", ".join(by_key[k].what for k in lost),
                checkpoint.BEST,
                path.parent,
            )
        groups.append(PlannedGroup([by_key[k] for k in keys], frozenset(lost), path.parent))
        for k in active:
            if k not in lost:
                left.pop(k)
    by_schedule: dict[str, list[Member]] = {}
    for member in sorted(left.values(), key=lambda m: m.key):
        by_schedule.setdefault(schedule_key(member), []).append(member)
    for members in by_schedule.values():
        size = max_members or len(members)
        groups += [PlannedGroup(members[k : k + size]) for k in range(0, len(members), size)]
    return groups


def _members_of(configs, run_dirs, dataset, progress):
    """Check and claim every unfinished run; (results so far, run folders, every training)."""
    results: list = [None] * len(configs)
    folders: dict[int, RunFolder] = {}
    everyone: list[Member] = []
    cache: dict[tuple, FoldData] = {}
    for k, (config, run_dir) in enumerate(zip(configs, run_dirs, strict=True)):
        run = RunFolder(run_dir, RunPlan(config, dataset, progress=progress))
        results[k] = run.finished()
        if results[k] is not None:
            continue
        plan = preflight(run.plan, run.path, progress=progress)
        run.claim()
        folders[k] = run
        for fold in plan.folds:
            key = (json.dumps(plan.data, sort_keys=True), fold, config.val_fraction)
            if key not in cache:
                cache[key] = prepare_fold(plan.dataset, fold, config.val_fraction, progress)
            everyone.append(Member(run, fold, cache[key]))
    return results, folders, everyone


def train_batched(
    configs: list,
    run_dirs: list,
    *,
    dataset=None,
    groups_dir: Path | None = None,
    max_members: int | None = None,
    gru: str = "cell",
    progress: bool = True,
    stop_after_epochs: int | None = None,
    on_record: Callable[[int, RunRecord], None] | None = None,
) -> list:
    """Train many runs at once: :func:`sedlib.training.run.train` for each, as groups of one model.

    Parameters
    ----------
    configs : list of TrainConfig
        The runs.
    run_dirs : list of path-like
        Their folders (as for ``train``; a finished run is returned as it is).
    dataset : Dataset, optional
        Use this data set instead of resolving each ``config.dataset``.
    groups_dir : Path, optional
        Where the groups' checkpoints live (default: ``.batched`` beside the first run folder).
    max_members : int, optional
        Members per group; default: what fits the free memory on CUDA, all on a CPU.
    gru : {"cell", "loop"}
        The recurrent layer's implementation.
    progress : bool
        Progress bars.
    stop_after_epochs : int, optional
        Stop every group after this many epochs in this call (tests).
    on_record : callable, optional
        Called as ``on_record(k, record)`` when this call has written run
        ``k``'s record: after the group that trained its last fold, not after
        every group (a sweep promotes it then, so that its finished runs can
        be aggregated while the others train).

    Returns
    -------
    list
        Per run: its :class:`RunRecord`, an :class:`Interrupted`, or the exception that failed it.
    """
    provenance.training_code()  # the code that trains, taken before it does
    with ExitStack() as held:  # whoever trains a run holds its lock, as train() does
        for run_dir in run_dirs:
            held.enter_context(FileLock(training_lock(run_dir), f"the run folder {run_dir}"))
        kinds = {device_kind(c.device) for c in configs}
        held.enter_context(cpu_threads(torch.device("cpu" if kinds == {"cpu"} else "cuda")))
        wall_start = time.perf_counter()
        results, folders, everyone = _members_of(configs, run_dirs, dataset, progress)
        todo = [m for m in everyone if not m.finished]
        groups_dir = Path(groups_dir) if groups_dir else Path(run_dirs[0]).parent / ".batched"
        outcomes: dict[str, object] = {}
        pending = dict(folders)  # the runs without a record yet

        def record(finished_only: bool) -> None:
            for k, run in list(pending.items()):
                mine = [m for m in everyone if m.run is run]
                if finished_only and not all(m.finished or m.key in outcomes for m in mine):
                    continue
                results[k] = _record(run, mine, outcomes, time.perf_counter() - wall_start)
                del pending[k]
                if on_record and isinstance(results[k], RunRecord):
                    on_record(k, results[k])

        record(finished_only=True)  # runs whose every fold finished in an earlier call
        if todo:
            device = todo[0].plan.device
            size = max_members or group_size(todo[0], device, gru)
            for group in plan_groups(everyone, todo, groups_dir, size):
                done = train_group(
                    group.members, group.folder or groups_dir / group_name(group.members), device,
                    gru=gru,
                    progress=progress, max_epochs=stop_after_epochs, restart=group.restart,
                )  # fmt: skip
                for member, outcome in zip(group.members, done, strict=True):
                    if outcome is not None:  # None: it trains in another group
                        outcomes[member.key] = outcome
                record(finished_only=True)
        record(finished_only=False)  # the rest: what stopped each
        return results


def _record(run: RunFolder, members: list[Member], outcomes: dict, wall: float):
    """The run's record once every training has finished; else what stopped it."""
    done = []
    for m in members:
        outcome = outcomes.get(m.key)
        if outcome is None:
            outcome = m.run.load_fold(m.fold, m.data)
        if not isinstance(outcome, FoldOutcome):
            return outcome
        done.append(outcome)
    return run.record(done, wall, engine="batched")
