"""``provider="local"`` for visual_qa, document_qa and text_to_speech, on tiny random models
built at test time (``local_media_models``): the values equal what the models give when called
directly, the columns have the remote types, reruns come from the cache, seeds reproduce sounds.

No network: ``HF_HUB_OFFLINE=1`` is set before transformers is imported.
"""

from __future__ import annotations

import io
import wave

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from local_media_models import VQA_ANSWERS, transformers  # noqa: E402  (sets the offline environment first)
from local_models import png_bytes, tiny  # noqa: E402,F401  (a fixture)
from PIL import Image  # noqa: E402

from hf_frame.backends.local import SUPPORTED_TASKS, LocalBackend  # noqa: E402
from hf_frame.errors import FatalRequestError  # noqa: E402

WORD_BOXES = [["total", [10, 10, 50, 20]], ["42", [60, 10, 80, 20]], ["paris", [10, 30, 50, 40]]]


@pytest.fixture
def computations(monkeypatch):
    """Every (task, model) the local backend computes."""
    seen: list[tuple] = []
    original = LocalBackend.run

    def spy(self, task, model, body):
        seen.append((task, model))
        return original(self, task, model, body)

    monkeypatch.setattr(LocalBackend, "run", spy)
    return seen


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def remote_dtypes(hub, method: str, df: pd.DataFrame, *args, **kwargs) -> pd.Series:
    out = getattr(df.hf, method)(*args, base_url=hub.base_url, cache=False, **kwargs)
    return out.dtypes


def test_the_handlers_are_registered():
    assert {"visual-question-answering", "document-question-answering", "text-to-speech"} <= SUPPORTED_TASKS


def test_visual_qa_locally(tiny, hub, computations):
    model = tiny("vqa")
    images = [png_bytes(seed=0), png_bytes(seed=1), png_bytes(seed=0)]
    df = pd.DataFrame({"img": images, "q": ["what is it ?", "how many ?", "what is it ?"]})
    out = df.hf.visual_qa("img", "q", top_k=3, provider="local", model=model, batch_size=4)
    assert computations == [("visual-question-answering", model)]  # two unique rows, one batch
    processor = transformers.AutoProcessor.from_pretrained(model)
    net = transformers.ViltForQuestionAnswering.from_pretrained(model).eval()
    for i in range(3):
        encoded = processor(images=image(images[i]), text=df["q"][i], return_tensors="pt")
        with torch.no_grad():
            probabilities = net(**encoded).logits.sigmoid()[0]
        scores, ids = probabilities.topk(3)
        answers = out["img_answers"][i]
        assert [a["answer"] for a in answers] == [VQA_ANSWERS[int(j)] for j in ids]
        assert [a["score"] for a in answers] == pytest.approx(scores.tolist(), abs=1e-5)
        assert out["img_answer"][i] == answers[0]["answer"] and out["img_error"].isna().all()
    assert out["img_answers"][0] == out["img_answers"][2]
    assert (out.dtypes == remote_dtypes(hub, "visual_qa", df, "img", "q", top_k=3)).all()
    df.hf.visual_qa("img", "q", top_k=3, provider="local", model=model, batch_size=4)
    assert len(computations) == 1  # the rerun is served from the cache


def test_document_qa_locally_extractive_with_word_boxes(tiny, hub, computations):
    model = tiny("layoutlm")
    df = pd.DataFrame({"scan": [png_bytes(seed=2)]})
    out = df.hf.document_qa("scan", "what is the total ?", top_k=2, word_boxes=WORD_BOXES, provider="local",
                            model=model)
    pipe = transformers.pipeline("document-question-answering", model=model, device="cpu")
    expected = pipe(image=image(png_bytes(seed=2)), question="what is the total ?", word_boxes=WORD_BOXES, top_k=2)
    got = out["scan_answers"][0]
    assert [(a["answer"], a["start"], a["end"]) for a in got] == [(e["answer"], e["start"], e["end"]) for e in expected]
    assert [a["score"] for a in got] == pytest.approx([e["score"] for e in expected], abs=1e-6)
    assert out["scan_answer"][0] in {"total", "42", "paris", "total 42", "42 paris", "total 42 paris"}
    assert str(out["scan_start"].dtype) == "int64[pyarrow]"


def test_document_qa_locally_with_donut(tiny):
    model = tiny("donut")
    df = pd.DataFrame({"scan": [png_bytes(seed=3)]})
    out = df.hf.document_qa("scan", "what is the total ?", provider="local", model=model)
    pipe = transformers.pipeline("document-question-answering", model=model, device="cpu")
    [expected] = pipe(image=image(png_bytes(seed=3)), question="what is the total ?")
    assert out["scan_answer"][0] == expected["answer"] or (pd.isna(out["scan_answer"][0]) and expected["answer"] is None)
    assert pd.isna(out["scan_score"][0]) and pd.isna(out["scan_error"][0])  # generative: no score, no positions


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def test_text_to_speech_locally_with_a_seed(tiny, hub, computations):
    model = tiny("tts")
    df = pd.DataFrame({"line": ["hello world", "good day", "hello world", None]})
    pd.DataFrame({"line": ["warm up"]}).hf.text_to_speech("line", seed=1, provider="local", model=model)  # loads it
    state = torch.get_rng_state()
    out = df.hf.text_to_speech("line", seed=3, provider="local", model=model)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random state is left alone
    assert len(computations) == 3 and out["line_audio_format"].tolist()[:3] == ["wav"] * 3
    pipe = transformers.pipeline("text-to-speech", model=model, device="cpu")
    for i in (0, 1):
        torch.manual_seed(3)
        expected = pipe(df["line"][i])
        samples, rate = read_wav(out["line_audio"][i])
        assert rate == expected["sampling_rate"] == 16000
        assert np.array_equal(samples, (np.clip(expected["audio"], -1, 1) * 32767).astype("<i2").ravel())
    assert out["line_audio"][0] == out["line_audio"][2] and pd.isna(out["line_audio"][3])
    again = df.hf.text_to_speech("line", seed=3, provider="local", model=model, cache=False)
    assert again["line_audio"].tolist()[:3] == out["line_audio"].tolist()[:3]  # the seed reproduces the sound
    assert (out.dtypes == remote_dtypes(hub, "text_to_speech", df, "line")).all()


def test_remote_only_tasks_say_so():
    df = pd.DataFrame({"p": ["a cat"]})
    with pytest.raises(FatalRequestError, match="diffusers"):
        df.hf.text_to_image("p", provider="local", model="some/model")
    with pytest.raises(FatalRequestError, match="scikit-learn"):
        df.hf.tabular_classify(provider="local", model="some/model")
