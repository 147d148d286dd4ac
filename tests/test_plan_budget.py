"""Plans (``dry_run=True``, ``hf_frame.plan``), budgets (``max_requests``, ``max_tokens``, ``max_cost``)
and what calls cost (``last_run()``, ``usage(by_model=True)``), against the loopback hub.

The hub's ``GET /v1/models`` lists the default chat model on hf-inference (USD 0.2 / 0.6 per
million input / output tokens) and groq (0.05 / 0.08); its chat answers count whitespace words as
tokens, so every cost below can be computed by hand.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fake_hub import answers

import hf_frame
from hf_frame.backends.remote.providers import pricing
from hf_frame.errors import BudgetExceeded, ConfigError
from hf_frame.methods import tokens

pl = pytest.importorskip("polars")

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
HF_PRICE = (0.2, 0.6)  # hf-inference, the provider the fake router answers chat with


@pytest.fixture
def hf(hub):
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001)
    return hub


def usd(prompt: int, completion: int, price=HF_PRICE) -> float:
    return (prompt * price[0] + completion * price[1]) / 1e6


REVIEWS = pd.DataFrame({"review": ["good kettle", "bad lamp", "good kettle", None, "fine toaster"]})


# ---------------------------------------------------------------------------------------------
# plans


def test_a_plan_counts_rows_unique_cached_and_requests_and_sends_nothing(hf):
    plan = REVIEWS.hf.classify("review", dry_run=True)
    assert hf.count() == 0 and not hf.catalog_requests  # nothing sent; no price asked for a non-chat task
    assert (plan.rows, plan.unique, plan.cached, plan.requests) == (5, 3, 0, 3)
    [stage] = plan.stages
    assert (stage.name, stage.task, stage.rows, stage.provider) == ("classify", "text-classification", 4,
                                                                    "hf-inference")
    assert stage.input_tokens is None and stage.cost is None and plan.exact
    REVIEWS.iloc[:2].hf.classify("review")
    again = hf_frame.plan(REVIEWS.hf.classify, "review")
    assert (again.unique, again.cached, again.requests) == (3, 2, 1)
    REVIEWS.hf.classify("review")
    assert hf.count() == 3 and REVIEWS.hf.classify("review", dry_run=True).requests == 0


def test_plans_on_every_frame_kind_and_batched_requests(hf):
    texts = [f"text {i % 40}" for i in range(100)]
    for obj in (pd.DataFrame({"t": texts}), pl.DataFrame({"t": texts}), pl.DataFrame({"t": texts}).lazy()):
        plan = obj.hf.embed("t", dry_run=True)
        assert (plan.rows, plan.unique, plan.requests) == (100, 40, 2)  # 40 texts in batches of 32
    assert pd.Series(texts).hf.embed(dry_run=True).requests == 2
    assert pl.Series("t", texts).hf.embed(dry_run=True, batch_size=8).requests == 5
    with pytest.raises(TypeError, match="dry_run=True needs a frame"):
        pl.col("t").hf.embed(dry_run=True)
    # several calls (zero-shot above 10 labels): one stage each
    labels = [f"label {i}" for i in range(15)]
    plan = pd.DataFrame({"t": texts[:3]}).hf.zero_shot("t", labels=labels, multi_label=True, dry_run=True)
    assert [s.requests for s in plan.stages] == [3, 3] and plan.requests == 6
    assert hf.count() == 0


def test_a_chat_plan_estimates_tokens_and_cost(hf):
    df = pd.DataFrame({"q": ["What is a kettle for?", "Why is the sky blue today?"]})
    plan = df.hf.chat("q", system="Be brief.", max_tokens=50, dry_run=True)
    [stage] = plan.stages
    # no tokenizer on this machine: characters / 4, plus 4 tokens per message
    expected = sum(math.ceil(len("Be brief.") / 4) + math.ceil(len(q) / 4) + 8 for q in df["q"])
    assert (stage.input_tokens, stage.token_count, stage.output_tokens) == (expected, "estimate", 100)
    # provider auto: the router picks, so the dearest listed provider prices it
    assert stage.cost == pytest.approx(usd(expected, 100)) and stage.cost_complete
    assert "dearest of 2 providers" in stage.note and "4 characters per token" in repr(plan)
    assert hf.count() == 0 and len(hf.catalog_requests) == 1
    # a provider suffix prices that provider; no max_tokens: the cost is a lower bound
    groq = df.hf.chat("q", model=f"{MODEL}:groq", dry_run=True)
    assert groq.stages[0].cost == pytest.approx(usd(groq.input_tokens, 0, (0.05, 0.08)))
    assert not groq.cost_complete and "≥" in repr(groq)
    # the price list is fetched once per process, then kept beside the cache
    pricing.forget()
    df.hf.chat("q", dry_run=True)
    assert len(hf.catalog_requests) == 1
    # a self-hosted server has no price list
    own = df.hf.chat("q", endpoint=hf.base_url, dry_run=True)
    assert own.cost is None and len(hf.catalog_requests) == 1


def test_a_plan_counts_tokens_with_the_models_tokenizer_when_it_is_on_this_machine(hf, tmp_path, monkeypatch):
    tokenizers = pytest.importorskip("tokenizers")
    words = "what is a kettle for ? be brief .".split()
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])},
                                                           unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    repo = tmp_path / "hf_home" / "hub" / "models--test-org--tiny-chat"
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    tok.save(str(repo / "snapshots" / "abc123" / "tokenizer.json"))
    hf.catalog["test-org/tiny-chat"] = [{"provider": "groq", "status": "live", "pricing": {"input": 1.0,
                                                                                             "output": 2.0}}]
    plan = pd.DataFrame({"q": ["what is a kettle for?"]}).hf.chat("q", model="test-org/tiny-chat", system="be brief.",
                                                                   max_tokens=10, dry_run=True)
    [stage] = plan.stages
    assert stage.token_count == "tokenizer"
    assert stage.input_tokens == 6 + 3 + 2 * tokens.MESSAGE_OVERHEAD  # "what is a kettle for ?" + "be brief ."
    assert stage.cost == pytest.approx((stage.input_tokens * 1.0 + 10 * 2.0) / 1e6)
    assert "~" not in repr(plan)


def test_the_plan_renders_as_a_table_in_notebooks(hf):
    plan = REVIEWS.hf.chat("review", max_tokens=5, dry_run=True)
    html = plan._repr_html_()
    assert html.count("<table>") == 1 and "<th>requests</th>" in html and "<td>chat</td>" in html
    assert "$" in html and "nothing sent" in html
    assert plan.to_dict()["requests"] == 3 and plan.to_dict()["stages"][0]["task"] == "chat-completion"


# ---------------------------------------------------------------------------------------------
# budgets


def test_max_requests_stops_before_sending(hf):
    with pytest.raises(BudgetExceeded, match=r"max_requests=2 would be exceeded: this step \(classify\) needs "
                                             r"3 requests; nothing was sent") as info:
        REVIEWS.hf.classify("review", max_requests=2)
    assert hf.count() == 0
    assert (info.value.setting, info.value.limit, info.value.needed, info.value.spent) == ("max_requests", 2, 3, 0)
    assert len(REVIEWS.hf.classify("review", max_requests=3)) == 5 and hf.count() == 3
    hf_frame.configure(max_requests=0)  # a session budget; cached rows cost nothing
    REVIEWS.hf.classify("review")
    with pytest.raises(BudgetExceeded):
        REVIEWS.hf.zero_shot("review", labels=["a", "b"])
    assert len(REVIEWS.hf.zero_shot("review", labels=["a", "b"], max_requests=None)) == 5  # lifted for one call


def test_budgets_as_settings_and_environment(hf, monkeypatch):
    monkeypatch.setenv("HF_FRAME_MAX_COST", "0.5")
    monkeypatch.setenv("HF_FRAME_MAX_TOKENS", "none")
    s = hf_frame.resolve_settings()
    assert (s.max_cost, s.max_tokens, s.max_requests) == (0.5, None, None)
    with pytest.raises(ConfigError, match="max_requests"):
        hf_frame.configure(max_requests=-1)
    with pytest.raises(ConfigError, match="max_cost"):
        hf_frame.resolve_settings(max_cost="a lot")
    # chat's max_tokens= is the reply's length, as in every chat API, not the token budget
    pd.DataFrame({"q": ["hi"]}).hf.chat("q", max_tokens=7)
    assert hf.requests[0].json["max_tokens"] == 7


def test_a_budget_is_shared_by_the_steps_of_an_operator(hf):
    left = pd.DataFrame({"review": ["great kettle", "bad toaster", "love the lamp"]})
    right = pd.DataFrame({"name": ["kettle", "toaster", "lamp"]})
    with pytest.raises(BudgetExceeded, match=r"this step \(join\) needs 3 requests") as info:
        left.hf.join(right, "Positive about {right.name}? {review}", k=1, embed_model="test/bow-x", max_requests=3)
    assert info.value.spent == 1  # the embeddings went out (and are cached); the chat requests did not
    assert hf.count() == 1 and "1 requests already spent by this call" in str(info.value)
    out = left.hf.join(right, "Positive about {right.name}? {review}", k=1, embed_model="test/bow-x", max_requests=3)
    assert len(out) == 2 and hf.count() == 4  # the embeddings came from the cache


def test_max_tokens_stops_a_filter_before_sending(hf):
    df = pd.DataFrame({"review": [f"review {i} is great" for i in range(10)]})
    plan = df.hf.filter("Satisfied? {review}", dry_run=True)
    needed = plan.input_tokens + plan.output_tokens  # the reply of a yes/no question is a few tokens
    hf_frame.configure(max_tokens=needed - 1)
    with pytest.raises(BudgetExceeded, match=rf"max_tokens={needed - 1} would be exceeded"):
        df.hf.filter("Satisfied? {review}")
    assert hf.count() == 0
    hf_frame.configure(max_tokens=needed * 2)
    assert len(df.hf.filter("Satisfied? {review}")) == 10 and hf.count() == 10


def test_max_cost_stops_when_reached_keeps_what_it_got_and_a_rerun_resumes(hf):
    texts = [f"review number {i} is here" for i in range(20)]
    df = pd.DataFrame({"t": texts})
    each = usd(5, 6)  # 5 words in, "Echo: " + 5 words out, at hf-inference's price
    plan = df.hf.chat("t", dry_run=True)
    assert not plan.cost_complete and plan.cost < 20 * each  # the replies' length is unknown
    budget = 10.5 * each
    with pytest.raises(BudgetExceeded, match=r"max_cost=.* reached") as info:
        df.hf.chat("t", max_cost=budget)
    e = info.value
    assert e.setting == "max_cost" and e.spent <= budget and e.spent == pytest.approx(e.requests * each)
    assert hf.count() == e.requests and 5 <= e.requests <= 10 and e.remaining == 20 - e.requests
    assert f"{e.requests:,} of 20 inputs of this step were answered and cached" in str(e)
    done = hf.count()
    out = df.hf.chat("t", max_cost=1.0)  # a higher budget: only the rest is sent
    assert hf.count() == 20 and hf_frame.last_run()["requests"] == 20 - done
    assert out["t_reply"].tolist() == [f"Echo: {t}" for t in texts]
    assert hf_frame.last_run()["cost"] == pytest.approx((20 - done) * each)


# ---------------------------------------------------------------------------------------------
# what calls cost


def test_last_run_and_usage_report_tokens_and_cost_per_provider_and_model(hf):
    hf_frame.usage(reset=True)
    df = pd.DataFrame({"q": ["a b c", "d e", "a b c"]})
    df.hf.chat("q")
    spent = [answers.chat_completion(MODEL, [{"role": "user", "content": t}])["usage"] for t in ("a b c", "d e")]
    prompt = sum(u["prompt_tokens"] for u in spent)
    completion = sum(u["completion_tokens"] for u in spent)
    run = hf_frame.last_run()
    assert run["cost"] == pytest.approx(usd(prompt, completion))
    assert run["by_model"] == [{"provider": "hf-inference", "model": MODEL, "requests": 2, "prompt_tokens": prompt,
                                "completion_tokens": completion, "total_tokens": prompt + completion,
                                "cost": pytest.approx(usd(prompt, completion))}]
    hf.mappings = {MODEL: {"groq": {"providerId": "llama-3.1-8b-instant", "task": "conversational",
                                    "status": "live"}}}
    pd.DataFrame({"q": ["x y"]}).hf.chat("q", model=f"{MODEL}:groq")
    rows = {r["provider"]: r for r in hf_frame.usage(by_model=True)}
    assert set(rows) == {"hf-inference", "groq"} and rows["hf-inference"]["requests"] == 2
    groq = answers.chat_completion(MODEL, [{"role": "user", "content": "x y"}])["usage"]
    assert rows["groq"]["cost"] == pytest.approx(usd(groq["prompt_tokens"], groq["completion_tokens"], (0.05, 0.08)))
    assert hf_frame.usage()["total_tokens"] == prompt + completion + groq["total_tokens"]
    assert hf_frame.usage(reset=True, by_model=True) and hf_frame.usage(by_model=True) == []
    # a model the router does not price: tokens, no cost
    pd.DataFrame({"q": ["z"]}).hf.chat("q", model="someone/unlisted")
    assert hf_frame.last_run()["cost"] is None and hf_frame.last_run()["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("catalog", [{}, None], ids=["empty list", "404"])
def test_a_router_without_the_model_listed_has_no_prices(hf, catalog):
    hf.catalog = catalog
    plan = REVIEWS.hf.chat("review", dry_run=True)
    assert plan.cost is None and "no price known" in plan.stages[0].note
    pd.DataFrame({"q": ["a"]}).hf.chat("q")
    assert hf_frame.last_run()["cost"] is None and hf_frame.last_run()["usage"]["total_tokens"] > 0
    assert len(hf.catalog_requests) == 1  # asked once, remembered
