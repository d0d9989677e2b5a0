"""Suite ``scheduled-sampling``: the seed paper's critique, with exact KL values.

Data: sequences x_1..x_T over a small vocabulary with dependent tokens; P is known exactly (a
length-2 joint table, and a short first-order Markov chain). Model: an autoregressive table
Q(x_1) prod_t Q_t(x_t | c_{t-1}), where c_{t-1} is the token fed to step t (position-specific
softmax tables, so both P and the product of its marginals are representable).

Training minimises the *expected* loss over P (no sampling noise, so every number is exact):

- teacher forcing (maximum likelihood): the fed token is the true x_{t-1};
- scheduled sampling (Bengio et al., 2015): the fed token is the true x_{t-1} with probability eps
  and the model's own sample (drawn from Q_{t-1}(. | c_{t-2})) otherwise; eps is annealed to 0.
  As in the original method the sampling is not differentiated through.

The joint law of (fed token, true token) at each step is propagated exactly:

    J_1[c, x]     = eps * 1{c = x} P_1(x) + (1 - eps) Q_1(c) P_1(x)
    J_{t+1}[c, x] = eps * 1{c = x} P_{t+1}(x) + (1 - eps) sum_{c', x'} J_t[c', x'] Q_{t+1}(c | c') P(x | x')

and the loss at step t+1 is -sum_{c, x} (J_t T_t)[c, x] log Q_{t+1}(x | c) with T_t the true
transition. At eps = 0 the fed token is independent of the true one, so the optimum of every
conditional is the marginal P_{t+1}: scheduled sampling converges to the product of marginals, an
objective that is not a proper scoring rule (Huszar, 2015). KL(P || Q) then equals the total
correlation KL(P || prod_t P_t) (the mutual information for T = 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import atomic_write_text, markdown_table, pyplot, readme_header, save_figure, torch_threads

SUITE = "scheduled-sampling"


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) for probability arrays of the same shape (0 log 0 = 0)."""
    try:  # the shared exact implementation (issue 4), once it exists
        from metrics.divergences import kl

        value = kl(np.ravel(p), np.ravel(q))
        return max(0.0, float(getattr(value, "value", value)))
    except ImportError:
        p, q = np.ravel(p), np.ravel(q)
        m = p > 0
        # rounding can leave a KL of an exact fit a few ulps below zero
        return max(0.0, float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m])))))


def worlds() -> dict:
    """The two data distributions: a length-2 joint table and a 4-step Markov chain (both exact).

    Each world is ``(initial, transitions)``: ``initial`` the law of x_1, ``transitions[t]`` the
    matrix P(x_{t+2} | x_{t+1}).
    """
    pair = np.array([[0.30, 0.03, 0.02],
                     [0.02, 0.25, 0.03],
                     [0.05, 0.05, 0.25]])
    p1 = pair.sum(1)
    markov_init = np.array([0.6, 0.3, 0.1])
    markov_t = np.array([[0.80, 0.15, 0.05],
                         [0.10, 0.70, 0.20],
                         [0.25, 0.05, 0.70]])
    return {
        "pair (T=2)": (p1, [pair / p1[:, None]]),
        "markov (T=4)": (markov_init, [markov_t] * 3),
    }


def joint(initial: np.ndarray, transitions: list[np.ndarray]) -> np.ndarray:
    """Full joint table of a (possibly position-dependent) first-order chain."""
    out = initial
    for tr in transitions:
        out = out[..., :, None] * tr.reshape((1,) * (out.ndim - 1) + tr.shape)
    return out


def marginals(initial: np.ndarray, transitions: list[np.ndarray]) -> list[np.ndarray]:
    ms = [initial]
    for tr in transitions:
        ms.append(ms[-1] @ tr)
    return ms


def product(ms: list[np.ndarray]) -> np.ndarray:
    out = ms[0]
    for m in ms[1:]:
        out = np.multiply.outer(out, m)
    return out


def train(initial: np.ndarray, transitions: list[np.ndarray], *, method: str, steps: int,
          anneal_steps: int, lr: float = 0.1, record_every: int = 1) -> list[dict]:
    """Train the autoregressive table on the exact expected loss; return KL curves.

    ``method`` is ``"teacher-forcing"`` (eps = 1 always) or ``"scheduled-sampling"`` (eps falls
    linearly from 1 to 0 over ``anneal_steps`` and stays 0).
    """
    import torch

    v = len(initial)
    p_true = joint(initial, transitions)
    p_prod = product(marginals(initial, transitions))
    ms = [torch.as_tensor(m, dtype=torch.float64) for m in marginals(initial, transitions)]
    trs = [torch.as_tensor(t, dtype=torch.float64) for t in transitions]
    init = torch.as_tensor(initial, dtype=torch.float64)
    # deterministic, non-uniform starting point shared by both methods
    start = np.random.default_rng(0).normal(scale=0.3, size=(1 + len(transitions), v, v))
    logits1 = torch.tensor(start[0, 0], dtype=torch.float64, requires_grad=True)
    logits = [torch.tensor(start[k + 1], dtype=torch.float64, requires_grad=True) for k in range(len(trs))]
    opt = torch.optim.Adam([logits1, *logits], lr=lr)
    history = []
    for step in range(steps + 1):
        if method == "teacher-forcing":
            eps = 1.0
        else:
            eps = max(0.0, 1.0 - step / anneal_steps)
        q1 = torch.softmax(logits1, 0)
        conds = [torch.softmax(lg, 1) for lg in logits]  # conds[k][c, x] = Q_{k+2}(x | c)
        if step % record_every == 0 or step == steps:
            q = joint(q1.detach().numpy(), [c.detach().numpy() for c in conds])
            history.append({"step": step, "eps": eps, "kl_to_p": _kl(p_true, q), "kl_to_product": _kl(p_prod, q)})
        if step == steps:
            break
        loss = -(init * torch.log(q1)).sum()
        with torch.no_grad():  # scheduled sampling does not differentiate through its own samples
            j = eps * torch.diag(ms[0]) + (1 - eps) * torch.outer(q1, ms[0])
        for k, (tr, cond) in enumerate(zip(trs, conds)):
            target = j @ tr  # target[c, x] = P(fed = c, next true token = x)
            loss = loss - (target * torch.log(cond)).sum()
            with torch.no_grad():
                j = eps * torch.diag(ms[k + 1]) + (1 - eps) * (cond.T @ j @ tr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return history


def run(out_dir, *, quick: bool = False, seed: int = 0, progress=None) -> dict:
    """Train both methods on both worlds; write the table, the figure and the README.

    The training is deterministic (exact expected gradients); ``seed`` is kept for a uniform suite
    signature. Returns ``{"rows": [...], "curves": {(world, method): history}}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps, anneal = (600, 200) if quick else (1500, 500)
    ws = worlds()
    methods = ("teacher-forcing", "scheduled-sampling")
    task = progress.task(f"{SUITE}: training", len(ws) * len(methods)) if progress else None
    rows, curves = [], {}
    with torch_threads(1):
        for wname, (initial, transitions) in ws.items():
            p_true = joint(initial, transitions)
            tc = _kl(p_true, product(marginals(initial, transitions)))
            for method in methods:
                hist = train(initial, transitions, method=method, steps=steps, anneal_steps=anneal,
                             record_every=max(1, steps // 150))
                curves[(wname, method)] = hist
                rows.append({"world": wname, "method": method, "total_correlation": tc,
                             "kl_to_p": hist[-1]["kl_to_p"], "kl_to_product": hist[-1]["kl_to_product"]})
                if progress:
                    progress.advance(task)
    _write(out, rows, curves, steps=steps, anneal=anneal, quick=quick, seed=seed)
    return {"rows": rows, "curves": curves}


def _write(out: Path, rows, curves, *, steps: int, anneal: int, quick: bool, seed: int) -> None:
    import pandas as pd

    pd.DataFrame(rows).to_csv(out / "final.csv", index=False, float_format="%.10g")
    pd.DataFrame([{"world": w, "method": m, **h} for (w, m), hist in curves.items() for h in hist]).to_csv(
        out / "curves.csv", index=False, float_format="%.8g")
    plt = pyplot()
    worlds_ = list(dict.fromkeys(w for w, _ in curves))
    fig, axes = plt.subplots(1, len(worlds_), figsize=(5.5 * len(worlds_), 3.8), squeeze=False)
    for ax, w in zip(axes[0], worlds_):
        tc = next(r["total_correlation"] for r in rows if r["world"] == w)
        for m, color in (("teacher-forcing", "C0"), ("scheduled-sampling", "C3")):
            h = curves[(w, m)]
            st = [r["step"] for r in h]
            ax.semilogy(st, [max(r["kl_to_p"], 1e-12) for r in h], color=color, label=f"{m}: KL(P||Q)")
            ax.semilogy(st, [max(r["kl_to_product"], 1e-12) for r in h], color=color, ls="--",
                        label=f"{m}: KL(prod P_t||Q)")
        ax.axhline(tc, color="0.5", ls=":", label="KL(P||prod P_t) (mutual information)")
        ax.axvline(anneal, color="0.8", lw=0.8)
        ax.set_ylim(1e-7, 3)
        ax.set_title(w)
        ax.set_xlabel("training step (eps reaches 0 at the grey line)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out / "scheduled_sampling.png")

    text = readme_header(SUITE, "scheduled-sampling: an improper objective, measured exactly", quick=quick, seed=seed)
    text += (
        "An autoregressive table model is trained on the exact expected loss over P (no sampling "
        "noise) by teacher forcing (maximum likelihood) and by scheduled sampling, whose probability "
        f"of feeding the true previous token falls linearly from 1 to 0 over {anneal} of {steps} Adam "
        "steps. Teacher forcing converges to P; scheduled sampling converges to the product of the "
        "per-position marginals, so its final KL(P||Q) equals the data's mutual information / total "
        "correlation KL(P||prod_t P_t) - the objective is improper (Huszar 2015, section on "
        "scheduled sampling).\n\n![KL over training](scheduled_sampling.png)\n\n"
    )
    text += markdown_table(
        ["world", "method", "KL(P||Q)", "KL(prod P_t||Q)", "KL(P||prod P_t)"],
        [[r["world"], r["method"], r["kl_to_p"], r["kl_to_product"], r["total_correlation"]] for r in rows],
        floatfmt=".3g")
    atomic_write_text(out / "README.md", text)
