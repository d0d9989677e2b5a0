"""Runner: long results, likelihood files beside samples, statuses, pairwise tests, results files."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metrics
from genbench import runner
from genbench.errors import OutputError, SampleError
from genbench.results import Comparison, ResultRow, comparisons_path, load_results
from genbench.runner import COLUMNS, read_results, score, score_run, write_results
from genbench.significance import compare, generated_set_test, log_prob_test, wants_test
from metrics import InputError, MetricResult, metric

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def registry():
    """Register test-only metrics; the registry is restored afterwards."""
    from metrics import registry as reg

    reg.available_metrics()
    saved = dict(reg._REGISTRY)
    yield reg
    reg._REGISTRY.clear()
    reg._REGISTRY.update(saved)


def _register_test_metrics():
    @metric("mean_gap_test", needs="features", higher_is_better=False, group="kernel")
    def mean_gap_test(real, generated):
        """Distance between the means (test only)."""
        return MetricResult("mean_gap_test", float(np.linalg.norm(real.mean(0) - generated.mean(0))), False,
                            n=(len(real), len(generated)))

    @metric("boom_test", needs="features", higher_is_better=True, group="kernel")
    def boom_test(real, generated):
        """Always fails (test only)."""
        raise RuntimeError("kaboom")


@pytest.fixture
def sets(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.normal(size=(200, 3)))
    for name, shift in [("near", 0.1), ("far", 1.5)]:
        np.save(tmp_path / f"{name}.npy", rng.normal(size=(200, 3)) + shift)
    return tmp_path


def test_rows_match_direct_metric_calls(sets):
    df = score(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="fid")
    assert list(df.columns) == COLUMNS
    assert df["model"].tolist() == ["near", "far"]
    assert (df["status"] == "ok").all() and (df["error"] == "").all()
    real = np.load(sets / "real.npy")
    for name in ("near", "far"):
        expected = metrics.fid(real, np.load(sets / f"{name}.npy")).value
        assert df.set_index("model").loc[name, "value"] == pytest.approx(expected, rel=1e-12)
    assert df.loc[0, "n"] == (200, 200) and isinstance(df.loc[0, "extras"], dict)  # objects, not JSON text
    assert df.loc[0, "input_hash"] != df.loc[1, "input_hash"] and len(df.loc[0, "reference_hash"]) == 64


def test_model_names(sets):
    df = score(sets / "real.npy", {"A": sets / "near.npy"}, metrics="fid")
    assert df["model"].tolist() == ["A"]
    df = score(sets / "real.npy", [f"B={sets / 'near.npy'}"], metrics="fid")
    assert df["model"].tolist() == ["B"]


def test_bad_input_messages(sets, tmp_path):
    with pytest.raises(InputError, match=r"duplicate model names \['near'\]; name models explicitly with NAME=PATH"):
        score(sets / "real.npy", [sets / "near.npy", f"near={sets / 'far.npy'}"])
    with pytest.raises(SampleError, match=r"reference set '.*nope.npy': no such file or directory"):
        score(sets / "nope.npy", [sets / "near.npy"])
    with pytest.raises(SampleError, match=r"model 'gone': '.*gone.npy': no such file or directory"):
        score(sets / "real.npy", [sets / "gone.npy"])
    np.save(tmp_path / "wide.npy", np.zeros((10, 5)))
    with pytest.raises(InputError, match=r"model 'wide' \(.*wide.npy\) has 5 features but the reference .* has 3"):
        score(sets / "real.npy", [tmp_path / "wide.npy"])
    with pytest.raises(InputError, match=r"unknown metric 'fdi'\. Did you mean 'fid'"):
        score(sets / "real.npy", [sets / "near.npy"], metrics="fdi")


def test_failing_metric_keeps_the_others(sets, registry):
    _register_test_metrics()
    df = score(sets / "real.npy", [sets / "near.npy"], metrics="boom_test,fid")
    assert df["status"].tolist() == ["failed", "ok"]
    assert df.loc[0, "error"] == "RuntimeError: kaboom" and math.isnan(df.loc[0, "value"])


# ---- likelihood files ------------------------------------------------------------------------


def test_log_probs_beside_directory_and_file_models(sets, tmp_path):
    rng = np.random.default_rng(1)
    lp_dir, lp_file = rng.normal(-10, 1, size=40), rng.normal(-12, 1, size=40)
    (tmp_path / "vae").mkdir()
    np.save(tmp_path / "vae" / "log_probs.npy", lp_dir)
    (tmp_path / "vae" / "likelihood.json").write_text('{"n_dims": 3}')
    np.save(sets / "near.log_probs.npy", lp_file)
    assert [p.name for p in runner.likelihood_files(tmp_path / "vae")] == ["log_probs.npy", "likelihood.json"]
    assert [p.name for p in runner.likelihood_files(sets / "near.npy")] == ["near.log_probs.npy",
                                                                            "near.likelihood.json"]
    # a directory model: what is beside the samples is attached whatever the loader read from it
    vae = runner.ModelInputs("vae", runner.FeatureSet(name="vae", path=str(tmp_path / "vae")))
    runner._attach_likelihood(vae, tmp_path / "vae")
    np.testing.assert_array_equal(vae.features.log_probs, lp_dir)
    assert vae.likelihood == {"n_dims": 3}
    df = score(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="log_likelihood,fid")
    by = df.set_index(["model", "metric"])
    assert by.loc[("near", "log_likelihood"), "value"] == pytest.approx(lp_file.mean(), rel=1e-12)
    assert by.loc[("near", "log_likelihood"), "status"] == "ok"
    # a model without log-probs: not applicable, not a failure
    assert by.loc[("far", "log_likelihood"), "status"] == "n/a"
    assert "needs the model's test log-probabilities (log_probs.npy beside its samples)" in \
        by.loc[("far", "log_likelihood"), "error"]
    assert by.loc[("far", "fid"), "status"] == "ok"


def test_likelihood_json_metadata_and_report(sets):
    rng = np.random.default_rng(2)
    lp = rng.normal(-20, 1, size=30)
    np.save(sets / "near.log_probs.npy", lp * np.log2(np.e))  # stored in bits
    (sets / "near.likelihood.json").write_text(json.dumps({"n_dims": 3, "base": "2"}))
    (sets / "far.likelihood.json").write_text(json.dumps(
        {"nll": 2.0, "unit": "bits_per_dim", "n_dims": 3, "n": 1000, "source": "Table 1"}))
    df = score(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="log_likelihood")
    near, far = df.iloc[0], df.iloc[1]
    assert near["value"] == pytest.approx(lp.mean(), rel=1e-12)
    assert near["extras"]["bits_per_dim"] == pytest.approx(-lp.mean() / (3 * np.log(2)), rel=1e-12)
    # 2 bits/dim NLL over 3 dims = -6 bits = -6 ln 2 nats per example
    assert far["status"] == "ok" and far["value"] == pytest.approx(-6 * np.log(2), rel=1e-12)
    assert far["n"] == (1000,) and far["extras"]["citation"] == "Table 1"
    run = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="log_likelihood")
    assert run.comparisons == ()  # a reported number has nothing to resample


@pytest.mark.parametrize("text, message", [
    ("{not json", r"near.likelihood.json: cannot read as JSON"),
    ("[1]", r"near.likelihood.json: must hold a JSON object; got list"),
    ('{"nll": 1, "units": "nats"}', r"unknown key\(s\) \['units'\]; accepted: log_likelihood, nll, unit"),
    ('{"nll": 1, "log_likelihood": -1, "unit": "nats"}', r"give one of `log_likelihood` and `nll`, not both"),
    ('{"nll": 1}', r"`nll` needs a `unit` \(nats, bits, nats_per_dim or bits_per_dim\)"),
])
def test_bad_likelihood_json(sets, text, message):
    (sets / "near.likelihood.json").write_text(text)
    with pytest.raises(SampleError, match=message):
        score(sets / "real.npy", [sets / "near.npy"], metrics="fid")


# ---- significance ----------------------------------------------------------------------------


def test_sign_flip_test_matches_hand_count():
    # d = (1, 2, 3): of the 8 sign patterns only +-(1, 2, 3) reach |mean| >= 2, so the exact p is 2/8
    test = log_prob_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], n_resamples=40000, seed=0)
    assert test.statistic == pytest.approx(2.0)
    assert test.pvalue == pytest.approx(0.25, abs=0.01)
    assert test.method.startswith("paired sign-flip")


def test_unpaired_log_prob_test_when_lengths_differ():
    rng = np.random.default_rng(0)
    test = log_prob_test(rng.normal(1, 1, 300), rng.normal(0, 1, 200), n_resamples=999, seed=0)
    assert test.method.startswith("unpaired label permutation") and test.pvalue == pytest.approx(1 / 1000)
    same = log_prob_test(np.zeros(5), np.zeros(7), n_resamples=99)
    assert same.pvalue == 1.0


def test_generated_set_test_calibration_under_the_null():
    # same distribution for A and B: a level-0.1 test must reject about 10% of the time
    rng = np.random.default_rng(0)
    pvals = [generated_set_test(lambda g: float(np.abs(g.mean(0)).sum()), rng.normal(size=(30, 2)),
                                rng.normal(size=(30, 2)), n_permutations=49, seed=i).pvalue for i in range(150)]
    rate = np.mean(np.array(pvals) <= 0.1)
    assert 0.03 <= rate <= 0.2, rate
    assert min(pvals) >= 1 / 50


def test_generated_set_test_subsamples_to_max_n():
    seen = []
    test = generated_set_test(lambda g: seen.append(len(g)) or 0.0, np.zeros((500, 1)), np.ones((300, 1)),
                              n_permutations=3, max_n=100)
    assert set(seen) == {100} and test.n == (100, 100) and "at most 100 per model" in test.method


def test_comparisons_are_their_own_table(sets, registry):
    _register_test_metrics()
    rng = np.random.default_rng(3)
    base = rng.normal(-5, 1, size=100)
    np.save(sets / "near.log_probs.npy", base)
    np.save(sets / "far.log_probs.npy", base + 0.5 + 0.1 * rng.normal(size=100))
    run = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"],
                    metrics="log_likelihood,mean_gap_test,fid", significance=["log_likelihood", "mean_gap_test"])
    assert all(isinstance(r, ResultRow) for r in run.rows) and "comparisons" not in run.results.columns
    by = {(c.metric, c.model_a, c.model_b): c for c in run.comparisons}
    assert sorted(by) == [("log_likelihood", "near", "far"), ("mean_gap_test", "near", "far")]  # fid not requested
    ll = by["log_likelihood", "near", "far"]
    rows = run.results.set_index(["model", "metric"])["value"]
    assert ll.difference == pytest.approx(rows["near", "log_likelihood"] - rows["far", "log_likelihood"], rel=1e-12)
    assert ll.difference < 0 and ll.pvalue == pytest.approx(1 / 10000) and ll.pvalue_adjusted == ll.pvalue
    assert ll.adjustment == "holm over 1 pair of log_likelihood" and ll.better() == "far"
    gap = by["mean_gap_test", "near", "far"]
    assert gap.difference < 0 and gap.status == "ok" and gap.better(1.0) == "near"  # lower is better
    auto = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="log_likelihood,mean_gap_test")
    assert [c.metric for c in auto.comparisons] == ["log_likelihood", "mean_gap_test"]  # auto: every metric
    none = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="log_likelihood",
                     significance="none")
    assert none.comparisons == ()
    # comparing more models later reuses the run: no metric is scored again
    extra = run.compare("fid", ["far", "near"])
    assert [(c.metric, c.model_a, c.model_b) for c in extra] == [("fid", "far", "near")]
    assert run.comparisons == tuple(by.values())  # the run's own table is unchanged
    with pytest.raises(InputError, match=r"`metric` must be one of this run's metrics \(log_likelihood, "):
        run.compare("kid")
    with pytest.raises(InputError, match=r"`models` names models that are not in this run: \['x'\]"):
        run.compare("fid", ["near", "x"])


def test_holm_adjustment_over_the_pairs_of_one_metric():
    from metrics import available_metrics

    spec = available_metrics()["log_likelihood"]
    rng = np.random.default_rng(0)
    base = rng.normal(size=60)
    lp = {"a": base + 0.6, "b": base + 0.3 + 0.05 * rng.normal(size=60), "c": base + 0.25 * rng.normal(size=60)}
    results = {m: metrics.log_likelihood(v) for m, v in lp.items()}
    comps = compare(spec, {m: (v,) for m, v in lp.items()}, results, options={}, seed=0)
    assert [(c.model_a, c.model_b) for c in comps] == [("a", "b"), ("a", "c"), ("b", "c")]
    raw = sorted((c.pvalue, i) for i, c in enumerate(comps))
    expected = {}
    running = 0.0
    for k, (p, i) in enumerate(raw):  # Holm: step-down (3 - k) * p, made monotone
        running = max(running, min(1.0, (3 - k) * p))
        expected[i] = running
    assert [c.pvalue_adjusted for c in comps] == pytest.approx([expected[i] for i in range(3)], rel=1e-12)
    assert wants_test(spec, "auto") and not wants_test(available_metrics()["fid"], "none")


def test_non_finite_value_is_failed_with_its_cause(sets, registry):
    @metrics.metric("nan_test", needs="features", higher_is_better=False, group="kernel")
    def nan_test(real, generated):
        """Returns NaN (test only)."""
        return MetricResult("nan_test", float("nan"), False)

    run = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="nan_test",
                    significance="all")
    assert [r.status for r in run.rows] == ["failed", "failed"] and run.comparisons == ()
    assert run.rows[0].error.startswith("nan_test returned a non-finite value (nan): the computation overflowed "
                                        "or was undefined on these inputs (NaN)")
    with pytest.raises(ValueError, match=r"an 'ok' row needs a finite value"):
        ResultRow("a", "m", float("inf"), True, status="ok")


# ---- results files ---------------------------------------------------------------------------


def test_results_round_trip(sets, tmp_path):
    np.save(sets / "near.log_probs.npy", np.linspace(-3, -1, 20))
    np.save(sets / "far.log_probs.npy", np.linspace(-4, -1, 20))
    run = score_run(sets / "real.npy", [sets / "near.npy", sets / "far.npy"], metrics="fid,log_likelihood")
    write_results(run.result_set(), tmp_path / "r.jsonl")
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["n"] == [200, 200]
    assert comparisons_path(tmp_path / "r.jsonl").name == "r.comparisons.jsonl"
    back = load_results(tmp_path / "r.jsonl")
    assert back.rows == run.rows and back.comparisons == run.comparisons
    pd.testing.assert_frame_equal(read_results(tmp_path / "r.jsonl"), run.results)


def test_old_results_files_keep_loading():
    df = read_results(FIXTURES / "results_v1.jsonl")
    assert list(df.columns) == COLUMNS
    assert df["status"].tolist() == ["ok", "ok", "failed"]  # derived from `error`
    assert (df["input_hash"] == "").all() and df.loc[0, "extras"] == {"route": "covariance"}
    assert df.loc[0, "value"] == pytest.approx(12.5) and df.loc[0, "n"] == (500, 400)
    v2 = load_results(FIXTURES / "results_v2.jsonl")
    assert len(v2.rows) == 12
    # the per-row `comparisons` of version 2 become one Comparison per pair
    pairs = sorted((c.metric, c.model_a, c.model_b) for c in v2.comparisons)
    assert ("log_likelihood", "flow", "vae") in pairs and len(pairs) == len(set(pairs))
    ll = next(c for c in v2.comparisons if (c.metric, c.model_a, c.model_b) == ("log_likelihood", "flow", "vae"))
    assert (ll.difference, ll.pvalue, ll.pvalue_adjusted) == (5.0, 0.0002, None)
    assert ll.adjustment.startswith("none (read from a results file written before")


def test_string_false_and_non_finite_ok_in_old_files(tmp_path):
    (tmp_path / "old.jsonl").write_text(
        '{"model": "a", "metric": "fid", "value": 2.0, "higher_is_better": "false"}\n'
        '{"model": "b", "metric": "fid", "value": null, "higher_is_better": "False", "status": "ok"}\n')
    rows = load_results(tmp_path / "old.jsonl").rows
    assert [r.higher_is_better for r in rows] == [False, False]
    assert rows[1].status == "failed" and rows[1].error == "the value is not finite (None in the results file)"
    (tmp_path / "bad.jsonl").write_text('{"model": "a", "metric": "fid", "value": 2.0, "higher_is_better": "no"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1 \(metric 'fid'\): `higher_is_better` must be true or false; got 'no'"):
        load_results(tmp_path / "bad.jsonl")


def test_results_file_errors(tmp_path):
    with pytest.raises(SampleError, match=r"results file '.*missing.jsonl': no such file"):
        read_results(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"model": "a"}\nnot json\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not a JSON object"):
        read_results(tmp_path / "bad.jsonl")
    with pytest.raises(InputError, match=r"model 'a' has more than one 'fid' result across the results files"):
        read_results([FIXTURES / "results_v1.jsonl", FIXTURES / "results_v1.jsonl"])
    with pytest.raises(OutputError, match=r"cannot write '.*': directory .* does not exist or is not writable"):
        runner.check_writable(tmp_path / "no" / "such" / "r.jsonl")


def test_in_memory_arrays_and_log_probs_option():
    rng = np.random.default_rng(4)
    real, a, b = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)), rng.normal(size=(80, 2)) + 1.0
    lp = rng.normal(-3, 1, size=50)
    df = score(real, {"a": a, "b": b}, metrics="fid,log_likelihood", log_probs={"a": lp})
    by = df.set_index(["model", "metric"])
    assert by.loc[("b", "fid"), "value"] == pytest.approx(metrics.fid(real, b).value, rel=1e-12)
    assert by.loc[("a", "log_likelihood"), "value"] == pytest.approx(lp.mean(), rel=1e-12)
    assert by.loc[("b", "log_likelihood"), "status"] == "n/a"
    assert by.loc[("a", "fid"), "input_hash"] != by.loc[("b", "fid"), "input_hash"]
    with pytest.raises(InputError, match=r"in-memory arrays need names; pass `models` as a dict"):
        score(real, [a])
    with pytest.raises(InputError, match=r"`log_probs` names models that are not scored: \['c'\]"):
        score(real, {"a": a}, log_probs={"c": lp})
    with pytest.raises(InputError, match=r"`features` must be 'identity' for in-memory arrays"):
        score(real, {"a": a}, features="random_cnn")
    with pytest.raises(InputError, match=r"`models\['a'\]` contains non-finite values"):
        score(real, {"a": np.full((5, 2), np.nan)})


def test_per_metric_options_reach_the_metric_and_are_checked(sets, registry):
    _register_test_metrics()
    seen = {}

    @metrics.metric("opt_probe", needs="features", higher_is_better=True, group="kernel")
    def opt_probe(real, generated, *, scale=1.0, seed=0):
        """Records its options (test only)."""
        seen.update(scale=scale, seed=seed)
        return metrics.MetricResult("opt_probe", scale, higher_is_better=True)

    df = score(sets / "real.npy", [sets / "near.npy"], metrics="opt_probe", seed=3,
               options={"opt_probe": {"scale": 2.5}})
    assert df.loc[0, "value"] == 2.5 and seen == {"scale": 2.5, "seed": 3}
    with pytest.raises(InputError, match=r"metric 'opt_probe' takes no option\(s\) \['scael'\]; its options are \['scale', 'seed'\]"):
        score(sets / "real.npy", [sets / "near.npy"], metrics="opt_probe", options={"opt_probe": {"scael": 1}})
    with pytest.raises(InputError, match="names metric 'fid', which is not among the requested metrics"):
        score(sets / "real.npy", [sets / "near.npy"], metrics="opt_probe", options={"fid": {}})
