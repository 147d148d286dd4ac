"""Handlers of the questions about an image: visual and document question answering.

Each input is ``{"image": <bytes, base64 or a data: URL>, "question": str}`` (a list of them for
a batch; the legacy body with ``image``/``question`` at its root is accepted too).

* **visual-question-answering** has no pipeline in transformers 5: the model and its processor
  are called directly. Classifier models (ViLT: one score per answer of the model's vocabulary, a
  sigmoid as the HF pipeline had) give the ``top_k`` best (5 by default); generative ones (BLIP)
  their generated answer, with no score.
* **document-question-answering** runs the transformers pipeline: Donut models read the image
  themselves; LayoutLM-family models need OCR (``pytesseract`` and the ``tesseract`` binary) or
  the ``word_boxes`` parameter.
"""

from __future__ import annotations

from typing import Any

from ...errors import LocalModelError
from .decoding import answer, check_params, media_inputs, root_inputs, to_image
from .models import ModelHandle

#: The HF pipelines' default number of visual answers.
VQA_TOP_K = 5
#: Longest generated answer of a generative visual QA model, in tokens.
VQA_MAX_NEW_TOKENS = 20
DOCUMENT_QA_PARAMETERS = frozenset({"top_k", "doc_stride", "max_answer_len", "max_seq_len", "max_question_len",
                                    "handle_impossible_answer", "lang", "word_boxes"})


def _questions(model: ModelHandle, body: dict, params: dict, allowed) -> tuple[list[tuple[Any, str]], bool]:
    """((RGB image, question) per input, whether the caller sent a list), after checking ``params``."""
    check_params(model.task, params, allowed)
    items, many = media_inputs(model.task, {"inputs": root_inputs(body, ("image", "question"))})
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or item.get("image") is None:
            raise LocalModelError(f"{model.task}: each input must be {{'image': ..., 'question': str}}")
        pairs.append((to_image(item["image"], model.task), item["question"]))
    return pairs, many


def _vqa_batch(net: Any, processor: Any, pairs: list, top_k: int | None, device: str) -> list[list[dict]]:
    import torch

    encoded = processor(images=[p[0] for p in pairs], text=[p[1] for p in pairs], return_tensors="pt",
                        padding=True).to(device)
    with torch.no_grad():
        if net.can_generate():
            ids = net.generate(**encoded, max_new_tokens=VQA_MAX_NEW_TOKENS)
            texts = processor.batch_decode(ids, skip_special_tokens=True)
            return [[{"answer": text.strip(), "score": None}] for text in texts]
        probabilities = net(**encoded).logits.sigmoid()
    scores, ids = probabilities.topk(min(top_k or VQA_TOP_K, probabilities.shape[-1]), dim=-1)
    labels = net.config.id2label
    return [[{"score": float(s), "answer": labels[int(i)]} for s, i in zip(row_scores, row_ids)]
            for row_scores, row_ids in zip(scores, ids)]


def visual_question_answering(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{answer, score}]`` per (image, question), best first."""
    pairs, many = _questions(model, body, params, {"top_k"})
    loaded = model.with_processor("AutoModelForVisualQuestionAnswering")

    def run() -> list:
        net, processor = loaded.obj
        out: list = []
        for start in range(0, len(pairs), model.batch_size):
            out += _vqa_batch(net, processor, pairs[start:start + model.batch_size], params.get("top_k"), model.device)
        return out

    return answer(model.compute(loaded, run), many)


def document_question_answering(model: ModelHandle, body: dict, params: dict) -> Any:
    """``[{answer, score, start, end}]`` per (document image, question), best first."""
    pairs, many = _questions(model, body, params, DOCUMENT_QA_PARAMETERS)
    loaded = model.pipeline()
    kwargs = {k: v for k, v in params.items() if v is not None}
    out = [model.compute(loaded, lambda p=p: loaded.obj(image=p[0], question=p[1], **kwargs)) for p in pairs]
    return answer([o if isinstance(o, list) else [o] for o in out], many)
