"""The bad-input catalogue: every known bad input to the ``genbench`` command, its exit code and its
one-line message.

Exit codes: 2 bad input (the run stops before or without scoring), 1 a metric failed (the other
rows are still reported). Each case runs the CLI's ``main`` in-process on real files (the code path
of the console script after its shim, fast); tests/genbench/test_hardening.py and test_cli.py run
representative cases through the installed console script. Add a case here with every new check.
"""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from genbench.cli import main

#: (id, argv, exit code, regex the error line must match). Paths are relative to the fixture folder.
CASES = [
    # --- sample sets
    ("model-missing", ["score", "real.npy", "nothere.npy"], 2,
     r"^genbench: error: model 'nothere': 'nothere\.npy': no such file or directory\. Check the path\.$"),
    ("reference-missing", ["score", "nothere.npy", "fake.npy"], 2,
     r"^genbench: error: reference set 'nothere\.npy': no such file or directory\. Check the path\.$"),
    ("dims-differ", ["score", "real.npy", "wide.npy"], 2,
     r"^genbench: error: model 'wide' \(wide\.npy\) has 4 features but the reference \(real\.npy\) has 3\. Both "
     r"must come from the same extractor\.$"),
    ("nan-row", ["score", "real.npy", "nan.npy"], 2,
     r"^genbench: error: nan\.npy: contains non-finite values \(nan\) first at row 7\. Remove or fix those samples"),
    ("complex", ["score", "real.npy", "complex.npy"], 2,
     r"^genbench: error: complex\.npy: holds complex numbers \(dtype complex128\); samples must be real\. Save the "
     r"real part, the magnitude, or real and imaginary parts as separate features\.$"),
    ("pickle-refused", ["score", "real.npy", "pickled.npy"], 2,
     r"^genbench: error: pickled\.npy: cannot read as an array file \(ValueError: .*Python objects"),
    ("layout-unknown", ["score", "real.npy", "cube.npy"], 2,
     r"^genbench: error: cube\.npy: cannot tell the layout of a 4-D array of shape \(4, 5, 6, 7\)\."),
    ("unsupported-file", ["score", "real.npy", "notes.csv"], 2,
     r"^genbench: error: notes\.csv: unsupported file type '\.csv'; expected an image"),
    ("empty-folder", ["score", "real.npy", "empty"], 2,
     r"^genbench: error: empty: the directory holds no samples \(looked for images"),
    ("mixed-kinds", ["score", "real.npy", "mixed"], 2,
     r"^genbench: error: mixed: the directory mixes kinds of samples \(1 arrays files, 1 text files\); keep one kind"),
    ("images-default-extractor", ["score", "imgs_real", "imgs_fake"], 2,
     r"^genbench: error: imgs_real: holds images, but extractor 'identity' takes vectors .*Pick an image extractor "
     r"with --features \(features= in Python\): pixels \(raw pixels\), random-cnn .*inception-fid .*digits"),
    ("vectors-image-extractor", ["score", "real.npy", "fake.npy", "--features", "pixels"], 2,
     r"^genbench: error: real\.npy: holds \(n, d\) = \(60, 3\) vectors, but extractor 'pixels' takes images\. Use "
     r"the `identity` extractor"),
    ("corrupt-image", ["score", "imgs_real", "imgs_fake", "--features", "pixels"], 2,
     r"^genbench: error: imgs_fake/broken\.png: cannot decode image \(UnidentifiedImageError"),
    # --- metrics, options, flags
    ("unknown-metric", ["score", "real.npy", "fake.npy", "--metrics", "fdi"], 2,
     r"^genbench: error: unknown metric 'fdi'\. Did you mean 'fid'"),
    ("unknown-option", ["score", "real.npy", "fake.npy", "--option", "fid.bogus=1"], 2,
     r"^genbench: error: metric 'fid' takes no option\(s\) \['bogus'\]; its options are none\.$"),
    ("option-syntax", ["score", "real.npy", "fake.npy", "--option", "nonsense"], 2,
     r"^genbench: error: `--option` must look like METRIC\.OPTION=VALUE \(e\.g\. kid\.subset_size=500\); got "
     r"'nonsense'\.$"),
    ("option-for-unrequested-metric", ["score", "real.npy", "fake.npy", "--option", "kid.subset_size=5"], 2,
     r"^genbench: error: `options` names metric 'kid', which is not among the requested metrics \(fid\)\."),
    ("duplicate-names", ["score", "real.npy", "a=fake.npy", "a=wide.npy"], 2,
     r"^genbench: error: duplicate model names \['a'\]; name models explicitly with NAME=PATH\.$"),
    ("unknown-extractor", ["score", "real.npy", "fake.npy", "--features", "nosuch"], 2,
     r"^genbench: error: unknown feature extractor 'nosuch'\. Available: "),
    ("negative-seed", ["score", "real.npy", "fake.npy", "--seed", "-1"], 2,
     r"^genbench: error: `seed` must be an int >= 0; got -1\.$"),
    ("significance-unknown", ["score", "real.npy", "fake.npy", "--significance", "fdi"], 2,
     r"^genbench: error: unknown metric 'fdi'\. Did you mean 'fid'"),
    # --- metrics that fail on their input: exit 1, the row carries the error
    ("kid-subset-too-large", ["score", "real.npy", "fake.npy", "--metrics", "kid", "--option",
                              "kid.subset_size=500"], 1,
     r"^metric failed: kid on fake: InputError: `subset_size` must be an int in \[2, 60\] .*got 500\. Pass "
     r"`subset_size=60` or smaller"),
    ("fid-beyond-float64", ["score", "huge_ref.npy", "huge.npy", "--metrics", "fid"], 1,
     r"^metric failed: fid on huge: InputError: the Frechet distance is beyond the float64 range \(inf\) for features "
     r"of magnitude up to 2\.71e\+160: it grows as the square of the feature scale\. Rescale the features"),
    # --- likelihood.json beside a model
    ("likelihood-unit", ["score", "real.npy", "lk_unit.npy", "--metrics", "log_likelihood"], 2,
     r'^genbench: error: lk_unit\.likelihood\.json: `unit` must be one of nats, bits, nats_per_dim, bits_per_dim; '
     r'got "furlongs"\. Fix the file\.$'),
    ("likelihood-string-nll", ["score", "real.npy", "lk_strnll.npy", "--metrics", "log_likelihood"], 2,
     r'^genbench: error: lk_strnll\.likelihood\.json: `nll` must be a finite number \(not a string\); got "3\.3"\. '
     r'Fix the file\.$'),
    ("likelihood-string-n_dims", ["score", "real.npy", "lk_strdims.npy", "--metrics", "log_likelihood"], 2,
     r'^genbench: error: lk_strdims\.likelihood\.json: `n_dims` must be a positive integer \(not a string\); got '
     r'"3"\. Fix the file\.$'),
    ("likelihood-nan", ["score", "real.npy", "lk_nan.npy", "--metrics", "log_likelihood"], 2,
     r"^genbench: error: lk_nan\.likelihood\.json: `log_likelihood` must be a finite number \(not a string\); got "
     r"NaN\. Fix the file\.$"),
    ("likelihood-both", ["score", "real.npy", "lk_both.npy", "--metrics", "log_likelihood"], 2,
     r"^genbench: error: lk_both\.likelihood\.json: give one of `log_likelihood` and `nll`, not both\.$"),
    ("likelihood-no-unit", ["score", "real.npy", "lk_nounit.npy", "--metrics", "log_likelihood"], 2,
     r"^genbench: error: lk_nounit\.likelihood\.json: `nll` needs a `unit` \(nats, bits, nats_per_dim or "
     r"bits_per_dim\)\.$"),
    ("likelihood-unknown-key", ["score", "real.npy", "lk_unknown.npy", "--metrics", "log_likelihood"], 2,
     r"^genbench: error: lk_unknown\.likelihood\.json: unknown key\(s\) \['nlll'\]; accepted: log_likelihood, nll"),
    ("likelihood-bad-json", ["score", "real.npy", "lk_badjson.npy", "--metrics", "log_likelihood"], 2,
     r"^genbench: error: lk_badjson\.likelihood\.json: cannot read as JSON \(Expecting property name"),
    # --- outputs
    ("out-fifo", ["score", "real.npy", "fake.npy", "--out", "pipe"], 2,
     r"^genbench: error: cannot write 'pipe': it is a FIFO \(named pipe\), not a regular file\. Choose a file path\.$"),
    ("out-device", ["score", "real.npy", "fake.npy", "--out", "/dev/null"], 2,
     r"^genbench: error: cannot write '/dev/null': it is a character device, not a regular file\. Choose a file "
     r"path\.$"),
    ("out-directory", ["score", "real.npy", "fake.npy", "--out", "adir"], 2,
     r"^genbench: error: cannot write 'adir': it is a directory, not a regular file\. Choose a file path\.$"),
    ("out-no-folder", ["score", "real.npy", "fake.npy", "--out", "nodir/r.jsonl"], 2,
     r"^genbench: error: cannot write 'nodir/r\.jsonl': directory '.*nodir' does not exist or is not writable\. "
     r"Choose a writable location\.$"),
    ("out-under-a-file", ["score", "real.npy", "fake.npy", "--out", "afile/r.jsonl"], 2,
     r"^genbench: error: cannot write 'afile/r\.jsonl': directory '.*afile' does not exist or is not writable\."),
    ("publish-onto-a-file", ["leaderboard", "results.jsonl", "--publish", "afile"], 2,
     r"^genbench: error: cannot publish to '.*afile': it exists and is not a directory\. Choose another path\.$"),
    ("publish-foreign-folder", ["leaderboard", "results.jsonl", "--publish", "foreign"], 2,
     r"^genbench: error: cannot publish to '.*foreign': it holds files genbench did not write \(mine\.txt\)\."),
    ("publish-no-parent", ["leaderboard", "results.jsonl", "--publish", "nodir/deeper/board"], 2,
     r"^genbench: error: cannot publish to '.*nodir/deeper/board': directory '.*nodir/deeper' does not exist or is "
     r"not writable\."),
    # --- results files and suites
    ("results-missing", ["leaderboard", "nothere.jsonl"], 2,
     r"^genbench: error: results file 'nothere\.jsonl': no such file\. Check the path\.$"),
    ("results-not-json", ["leaderboard", "garbage.jsonl"], 2,
     r"^genbench: error: garbage\.jsonl:1: not a JSON object .*Is this a results\.jsonl file\?$"),
    ("results-no-direction", ["leaderboard", "nodir.jsonl"], 2,
     r"^genbench: error: .*fid.*higher_is_better"),
    ("suite-missing", ["run", "nothere.toml"], 2,
     r"^genbench: error: suite file 'nothere\.toml': no such file\. Check the path\.$"),
    ("suite-unknown-key", ["run", "suite_key.toml"], 2,
     r"^genbench: error: suite_key\.toml: unknown key `metric` in \[suite\]\. Did you mean 'metrics'\?"),
    ("suite-not-toml", ["run", "suite_bad.toml"], 2,
     r"^genbench: error: suite_bad\.toml: not valid TOML \(Expected ']' at the end of a table declaration"),
    ("suite-no-models", ["run", "suite_nomodels.toml"], 2,
     r'^genbench: error: suite_nomodels\.toml: \[models\] must list at least one model as name = "path"\.$'),
    ("suite-reference-missing", ["run", "suite_noref.toml"], 2,  # its output's missing parents are not created
     r"^genbench: error: reference set '.*nothere\.npy': no such file or directory\. Check the path\.$"),
    ("suite-bad-seed", ["run", "suite_seed.toml"], 2,
     r"^genbench: error: suite_seed\.toml: `seed` must be a non-negative int; got 'zero'\.$"),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-input")
    rng = np.random.default_rng(0)
    np.save(d / "real.npy", rng.normal(size=(60, 3)))
    np.save(d / "fake.npy", rng.normal(size=(60, 3)) + 0.5)
    np.save(d / "wide.npy", rng.normal(size=(60, 4)))
    x = rng.normal(size=(60, 3))
    x[7, 1] = np.nan
    np.save(d / "nan.npy", x)
    np.save(d / "complex.npy", rng.normal(size=(60, 3)) + 1j)
    np.save(d / "huge_ref.npy", np.random.default_rng(1).normal(size=(60, 3)) * 1e160)
    np.save(d / "huge.npy", np.random.default_rng(2).normal(size=(60, 3)) * 1e160)
    np.save(d / "pickled.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    np.save(d / "cube.npy", rng.normal(size=(4, 5, 6, 7)))
    (d / "notes.csv").write_text("1,2\n")
    (d / "empty").mkdir()
    for name in ("imgs_real", "imgs_fake"):
        (d / name).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(d / name / f"{i}.png")
    (d / "imgs_fake" / "broken.png").write_bytes(b"not a png")
    (d / "mixed").mkdir()
    np.save(d / "mixed" / "a.npy", rng.normal(size=(5, 3)))
    (d / "mixed" / "b.txt").write_text("hello\n")
    likelihoods = {"unit": {"nll": 3.3, "unit": "furlongs"}, "strnll": {"nll": "3.3", "unit": "nats"},
                   "strdims": {"nll": 3.3, "unit": "bits_per_dim", "n_dims": "3"},
                   "nan": {"log_likelihood": float("nan"), "unit": "nats"},
                   "both": {"nll": 3.3, "log_likelihood": -3.3, "unit": "nats"}, "nounit": {"nll": 3.3},
                   "unknown": {"nll": 3.3, "unit": "nats", "nlll": 1}}
    for key, meta in likelihoods.items():
        np.save(d / f"lk_{key}.npy", rng.normal(size=(60, 3)))
        (d / f"lk_{key}.likelihood.json").write_text(json.dumps(meta))
    np.save(d / "lk_badjson.npy", rng.normal(size=(60, 3)))
    (d / "lk_badjson.likelihood.json").write_text("{nll: 3")
    (d / "results.jsonl").write_text(json.dumps({"model": "a", "metric": "fid", "value": 1.0,
                                                 "higher_is_better": False}) + "\n")
    (d / "garbage.jsonl").write_text("not json\n")
    (d / "nodir.jsonl").write_text(json.dumps({"model": "a", "metric": "fid", "value": 1.0}) + "\n")
    models = '[models]\na = "fake.npy"\n'
    (d / "suite_key.toml").write_text('[suite]\nreference = "real.npy"\nmetric = ["fid"]\noutput = "o"\n' + models)
    (d / "suite_bad.toml").write_text("[suite\n")
    (d / "suite_noref.toml").write_text(
        '[suite]\nreference = "nothere.npy"\nmetrics = ["fid"]\noutput = "new/deep/board"\n' + models)
    (d / "suite_nomodels.toml").write_text('[suite]\nreference = "real.npy"\nmetrics = ["fid"]\noutput = "o"\n')
    (d / "suite_seed.toml").write_text(
        '[suite]\nreference = "real.npy"\nmetrics = ["fid"]\nseed = "zero"\noutput = "o"\n' + models)
    os.mkfifo(d / "pipe")
    (d / "adir").mkdir()
    (d / "afile").write_text("x")
    (d / "foreign").mkdir()
    (d / "foreign" / "mine.txt").write_text("keep")
    return d


@pytest.mark.parametrize("argv, code, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(folder, monkeypatch, capsys, argv, code, message):
    monkeypatch.chdir(folder)
    before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    extra = ["--no-cache", "-q"] if argv[0] == "score" else []
    assert main(argv + extra) == code
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.startswith(("genbench: error:", "metric failed:"))]
    assert len(lines) == 1 and re.search(message, lines[0]), err
    if code == 2:
        assert out == ""  # nothing scored, nothing rendered
    # bad input leaves nothing behind: no temporary, staging or partial output files
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == before
