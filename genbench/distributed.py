"""Many processes, many machines: ``torch.distributed`` under ``torchrun``.

``torchrun --nproc-per-node N -m genbench.cli score REF GEN... --features inception-fid --device cuda``
(and the same under SLURM with ``--nnodes``) runs one genbench process per rank. Only two things
cross between ranks, both small and both through collectives with a timeout:

1. the **manifest**: rank 0 scans every sample set (sorted files, content hash, shard keys) and
   broadcasts it; the other ranks check that they see the same files and the same extractor;
2. the **final barrier**: every rank has written its shards.

Everything else goes through the feature cache, which must be a directory every rank can reach
(``$GENBENCH_CACHE`` on a shared filesystem for several nodes). The global index of each set is cut
into fixed shards (a multiple of the batch size, never padded); every rank walks all shards from
its own starting point, skips those already cached, and claims the others with an ``O_EXCL`` claim
file (:meth:`genbench.cache.FeatureCache.claim`), so each shard is computed once, by whichever rank
gets there first: ranks finish within about one shard of each other. After the barrier rank 0 reads
the shards in shard order, scores and writes; the others exit 0 without output.

Results are the same bits for any world size, shard assignment or resume history: batches never
straddle shards, so every batch (and its features) is the same as in one process, and every
reduction folds shards in shard order.

Failure: a rank that dies makes ``torchrun`` stop the others (non-zero exit); a rank that hangs
makes the barrier fail after ``GENBENCH_DIST_TIMEOUT`` seconds (default :data:`DEFAULT_TIMEOUT`),
naming the rank. Shards written before the failure stay in the cache; a rerun (any world size)
computes only the missing ones. Control messages use ``gloo`` on every machine (GPU jobs too):
they are a few kilobytes, and gloo's barrier can report which rank failed to arrive.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta

from metrics import InputError

from .errors import SampleError

#: Seconds a collective (manifest broadcast, final barrier) waits for every rank. Ranks reach the
#: barrier within about one shard's extraction of each other, so this must exceed that (a 4096-image
#: shard of Inception features takes ~10 minutes on 2 CPU cores, seconds on a GPU). A rank that
#: dies is seen at once (its connection closes); only a hung rank costs the whole timeout.
DEFAULT_TIMEOUT = 1800.0


class DistributedError(RuntimeError):
    """A rank did not arrive (dead or hung) or the process group could not start."""


@dataclass(frozen=True)
class Context:
    """Where this process stands in a ``torchrun`` job (a single process: rank 0 of 1).

    Attributes
    ----------
    rank, world_size, local_rank : int
        From ``torchrun``'s ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``.
    timeout : float
        Seconds a collective waits.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    timeout: float = DEFAULT_TIMEOUT

    @property
    def active(self) -> bool:
        """Whether several ranks share the work."""
        return self.world_size > 1

    @property
    def writer(self) -> bool:
        """Whether this rank scores and writes results (rank 0)."""
        return self.rank == 0


def launched() -> bool:
    """Whether this process was started by ``torchrun`` with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def _timeout() -> float:
    raw = os.environ.get("GENBENCH_DIST_TIMEOUT", "")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InputError(f"`GENBENCH_DIST_TIMEOUT` must be a positive number of seconds; got {raw!r}.")
    return value


def context() -> Context:
    """This process's :class:`Context`; under ``torchrun`` the ``gloo`` process group is started.

    Raises
    ------
    DistributedError
        The process group cannot start (a rank missing at rendezvous past the timeout).
    """
    if not launched():
        return Context()
    import torch.distributed as dist

    timeout = _timeout()
    if not dist.is_initialized():
        try:
            dist.init_process_group("gloo", timeout=timedelta(seconds=timeout))
        except Exception as exc:
            raise DistributedError(f"cannot start the torch.distributed process group ({type(exc).__name__}: "
                                   f"{exc}).") from None
    return Context(rank=dist.get_rank(), world_size=dist.get_world_size(),
                   local_rank=int(os.environ.get("LOCAL_RANK", "0") or 0), timeout=timeout)


def broadcast(ctx: Context, obj=None):
    """Rank 0's ``obj`` on every rank (pickled; only the small manifest travels this way)."""
    if not ctx.active:
        return obj
    import torch.distributed as dist

    box = [obj]
    try:
        dist.broadcast_object_list(box, src=0)
    except Exception as exc:
        raise DistributedError(f"rank {ctx.rank}: the manifest broadcast from rank 0 failed within "
                               f"{ctx.timeout:g} s ({type(exc).__name__}: {exc}).") from None
    return box[0]


def barrier(ctx: Context, what: str) -> None:
    """Wait until every rank is here, at most ``ctx.timeout`` seconds.

    Raises
    ------
    DistributedError
        Naming the rank(s) that did not arrive (gloo's monitored barrier), so a dead or hung rank
        ends the job with a message instead of a hang.
    """
    if not ctx.active:
        return
    import torch.distributed as dist

    try:
        dist.monitored_barrier(timeout=timedelta(seconds=ctx.timeout), wait_all_ranks=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DistributedError(f"rank {ctx.rank}: not every rank reached the barrier after {what} (timeout "
                               f"{ctx.timeout:g} s, GENBENCH_DIST_TIMEOUT): {first}. A rank died or hangs; rerun to "
                               "resume (shards already written are kept).") from None


def threads_for_scoring(ctx: Context) -> None:
    """On the scoring rank: as many BLAS / OpenMP / torch threads as one process would have.

    ``torchrun`` sets ``OMP_NUM_THREADS=1`` for its ranks (when it is unset), which suits the
    extraction, where ranks share the cores. Scoring runs on rank 0 alone, and float64 BLAS results
    depend in their last bits on the thread count (the reduction order), so rank 0 goes back to a
    single process's default (every core it may run on) and its results are byte-identical to
    ``genbench score`` run as one process with ``OMP_NUM_THREADS`` unset. A user who sets
    ``OMP_NUM_THREADS`` to something other than 1 keeps it.
    """
    if not ctx.active or os.environ.get("OMP_NUM_THREADS") != "1":
        return
    import torch
    from threadpoolctl import threadpool_limits

    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(n)
    _LIMITS.append(threadpool_limits(limits=n))  # kept referenced: the limits hold until the process ends


_LIMITS: list = []


def shutdown(ctx: Context) -> None:
    """Leave the process group (a no-op for one process)."""
    if ctx.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# the sharded extraction


def plan_sets(ctx: Context, sets: list, options: dict, reference_sizes: bool = True) -> list:
    """Plan every set (``[(name, path), ...]``, the reference first) on every rank.

    Rank 0 scans and hashes; the manifest (files, content hashes, extractor identifiers, and a run
    id naming this job's claims) is broadcast; other ranks rebuild their plans from it. A set that
    rank 0 cannot read stops every rank with rank 0's message.

    Returns
    -------
    (run_id, list of SetPlan)
    """
    from .features import plan_set

    plans, manifest = [], None
    if ctx.writer:
        try:
            size = None
            for name, path in sets:
                plan = plan_set(path, **options, image_size=size)
                if reference_sizes and size is None and plan.kind == "images":
                    size = tuple(plan.samples.item_shape[:2])  # models are brought to the reference's size
                plans.append(plan)
            manifest = {"run": uuid.uuid4().hex, "sets": [p.manifest() for p in plans], "size": size}
        except InputError as exc:
            broadcast(ctx, {"error": str(exc)})
            raise
        broadcast(ctx, manifest)
        return manifest["run"], plans
    manifest = broadcast(ctx)
    if "error" in manifest:
        raise SampleError(f"rank 0 stopped: {manifest['error']}")
    size = None
    for (name, path), m in zip(sets, manifest["sets"]):
        plan = plan_set(path, **options, image_size=size, manifest=m)
        if reference_sizes and size is None and plan.kind == "images":
            size = tuple(plan.samples.item_shape[:2])
        plans.append(plan)
    return manifest["run"], plans


def extract_claimed(ctx: Context, run: str, plans: list, store) -> dict:
    """Walk every shard of every plan, claim and extract those nobody has cached or claimed.

    Each rank starts at its own offset in the global shard list (rank r at r/world of the way), so
    ranks rarely contend for a claim and each rank's shards are mostly contiguous.

    Returns
    -------
    dict
        ``{"extracted": k, "cached": c, "claimed_elsewhere": o}`` for this rank.
    """
    from .features import extract_shard

    work = [(p, i) for p in plans for i in range(p.n_shards)]
    first = ctx.rank * len(work) // max(ctx.world_size, 1)
    counts = {"extracted": 0, "cached": 0, "claimed_elsewhere": 0}
    for plan, i in work[first:] + work[:first]:
        key = plan.keys[i]
        if store.has(key):
            counts["cached"] += 1
            continue
        if not store.claim(key, run):
            counts["claimed_elsewhere"] += 1
            continue
        try:
            if store.has(key):  # finished by another rank between the check and the claim
                counts["cached"] += 1
                continue
            arrays, meta = extract_shard(plan, i)
            store.put(key, arrays, meta)
            counts["extracted"] += 1
        finally:
            store.release(key)
    return counts


def prefetch(ctx: Context, sets: list, options: dict, *, log: bool = True, reference_sizes: bool = True) -> None:
    """Every rank: plan (manifest from rank 0), extract claimed shards, then the final barrier.

    After it returns, every shard of every set is in the cache (or rank 0 computes the few a
    read-only cache could not take), and rank 0 loads them with :func:`genbench.features.load_features`.

    Raises
    ------
    DistributedError
        A rank died or hung (barrier timeout).
    """
    from .cache import FeatureCache

    store = FeatureCache()
    run, plans = plan_sets(ctx, sets, options, reference_sizes)
    counts = extract_claimed(ctx, run, plans, store)
    if log:
        total = sum(p.n_shards for p in plans)
        print(f"genbench: rank {ctx.rank}/{ctx.world_size}: extracted {counts['extracted']} of {total} shards "
              f"({counts['cached']} already cached, {counts['claimed_elsewhere']} taken by other ranks)",
              file=sys.stderr, flush=True)
    barrier(ctx, "feature extraction")
