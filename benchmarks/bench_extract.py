"""Feature extraction throughput: images/second through ``pixels`` and ``random-cnn``.

A directory of N PNG files (default 10,000, 32x32 RGB, smooth random images so they compress like
real ones) is generated in a temp dir. For each extractor, three loaders feed the same network:

  * ``genbench``   : :func:`genbench.features.load_features`, the whole path: list + content-hash
                      the files (cache key), decode + resize in 2 worker threads with one batch of
                      look-ahead (decoding overlaps the network), keep data-space samples;
  * ``stream``     : only the streaming part of that path (``SampleSet.batches`` + the network),
                      so the difference to ``genbench`` is the bookkeeping (hash, listing, samples);
  * ``serial``     : decode + resize in the main thread, then the network (what a plain loop does);
  * ``dataloader`` : ``torch.utils.data.DataLoader(num_workers=2)`` worker *processes* doing the same
                      decode + resize, the usual torch recipe.

It also times decoding+resizing alone and the network alone on pre-decoded arrays (both serial),
to report which share of the work is decoding and which is the network. No peer package extracts
features from an image folder without torchvision here, so the baselines are the two standard
hand-written loaders above. Timings on a shared machine are noisy: each configuration runs
``--repeat`` times (default 2) and the best is reported.

Run:  python benchmarks/bench_extract.py [--n 10000] [--size 32] [--batch-size 256] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genbench.extractors import get_extractor
from genbench.features import load_features
from genbench.samples import decode_image, open_samples


def make_pngs(root: Path, n: int, size: int, seed: int = 0) -> list[Path]:
    """``n`` smooth random RGB PNGs (upsampled 4x4 noise), named so they sort in order."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size, size), Image.BILINEAR)
        p = root / f"{i:06d}.png"
        img.save(p)
        paths.append(p)
    return paths


class _Files(torch.utils.data.Dataset):
    def __init__(self, files, prepare):
        self.files, self.prepare = files, prepare

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.prepare(decode_image(self.files[i]))


def run_serial(files, ext, batch_size):
    feats = []
    for start in range(0, len(files), batch_size):
        batch = np.stack([ext.prepare(decode_image(f)) for f in files[start:start + batch_size]])
        feats.append(ext(batch)[0])
    return np.concatenate(feats)


def run_dataloader(files, ext, batch_size, workers=2):
    loader = torch.utils.data.DataLoader(_Files(files, ext.prepare), batch_size=batch_size, num_workers=workers,
                                         collate_fn=lambda items: np.stack(items))
    return np.concatenate([ext(b)[0] for b in loader])


def run_stream(root, ext, batch_size):
    s = open_samples(root)
    return np.concatenate([ext(b)[0] for b, _ in s.batches(batch_size, ext.prepare)])


def best_of(repeat, fn):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pngs"
        root.mkdir()
        t = time.perf_counter()
        files = make_pngs(root, args.n, args.size)
        print(f"generated {args.n} PNGs of {args.size}x{args.size} in {time.perf_counter() - t:.1f} s "
              f"({sum(f.stat().st_size for f in files) / 1e6:.1f} MB)\n")
        print(f"{'extractor':<11} {'loader':<11} {'seconds':>8} {'img/s':>8} {'vs serial':>9}  check")
        shares = []
        for name in ("pixels", "random-cnn"):
            ext = get_extractor(name).for_image_size(args.size, args.size)
            t_ser, f_ser = best_of(args.repeat, lambda: run_serial(files, ext, args.batch_size))
            t_gb, fs = best_of(args.repeat, lambda: load_features(root, extractor=name, cache=False, progress=False,
                                                                  batch_size=args.batch_size))
            t_st, f_st = best_of(args.repeat, lambda: run_stream(root, ext, args.batch_size))
            t_dl, f_dl = best_of(args.repeat, lambda: run_dataloader(files, ext, args.batch_size))
            for loader, secs, feats in (("serial", t_ser, f_ser), ("genbench", t_gb, fs.features),
                                        ("stream", t_st, f_st), ("dataloader", t_dl, f_dl)):
                same = np.allclose(feats, f_ser, rtol=1e-5, atol=1e-6)
                print(f"{name:<11} {loader:<11} {secs:8.2f} {args.n / secs:8.0f} {t_ser / secs:8.2f}x  "
                      f"{'same features' if same else 'DIFFERENT'}")
            # where the time goes (serial, so the two parts do not overlap)
            sub = files[: min(len(files), 2000)]
            t_dec, decoded = best_of(args.repeat, lambda: np.stack([ext.prepare(decode_image(f)) for f in sub]))
            t_net, _ = best_of(args.repeat, lambda: [ext(decoded[s:s + args.batch_size])
                                                    for s in range(0, len(sub), args.batch_size)])
            shares.append((name, t_dec / len(sub), t_net / len(sub)))
        print("\nper image, serial:   decode+resize     network    decode share")
        for name, dec, net in shares:
            print(f"{name:<18} {dec * 1e6:10.0f} us {net * 1e6:10.0f} us    {dec / (dec + net):8.0%}")


if __name__ == "__main__":
    main()
