"""The vision and audio methods: each builds a :class:`~hf_frame.methods.Job` over one column of
images or sounds (paths, URLs, bytes, PIL images, file objects; see :mod:`hf_frame.media`).

Listed in :data:`hf_frame.methods.METHODS`, so ``df.hf.<method>`` exists on every
backend. Output fields (the frame columns are ``<column>_<field>``):

================  ==============================  ===============================================
method            HF task                         fields
================  ==============================  ===============================================
classify_image    image-classification            label, score (+ labels when top_k != 1)
zero_shot_image   zero-shot-image-classification  label, score, score_<label> for each label
detect            object-detection                objects: list<label, score, box<xmin..ymax>>
segment           image-segmentation              segments: list<label, score, mask (PNG bytes)>
caption           image-to-text                   caption
transcribe        automatic-speech-recognition    text (+ chunks: list<text, start, end>)
classify_audio    audio-classification            label, score (+ labels when top_k != 1)
visual_qa         visual-question-answering       answer, score (+ answers when top_k != 1)
document_qa       document-question-answering     answer, score, start, end (+ answers when top_k != 1)
================  ==============================  ===============================================
"""

from __future__ import annotations

from typing import Any, Sequence

from . import checks
from .job import Input, Job, make_job, reject_unknown, split_kwargs


def _classification(method: str, task: str, col: Any, top_k: int | None, model, parameters, prefix,
                    settings: dict) -> Job:
    settings, extra = split_kwargs(settings)
    reject_unknown(method, extra)
    checks.positive_int(method, "top_k", top_k)
    # top_k=1 needs no parameter (the API ranks its answer): the image then goes as a raw body.
    wire = {"top_k": top_k if top_k not in (1, None) else None}
    return make_job(method, task, [Input("col", col)], model=model, parameters=parameters, wire=wire,
                    options={"top_k": top_k}, prefix=prefix, settings=settings)


def classify_image(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Any) -> Job:
    """Image classification. Outputs ``label``, ``score``; with ``top_k`` > 1 (or None: every label the
    model returns) also ``labels``, a list of ``{label, score}`` best first.

    >>> df.hf.classify_image("photo")                     # doctest: +SKIP
    """
    return _classification("classify_image", "image-classification", col, top_k, model, parameters, prefix, settings)


def classify_audio(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Any) -> Job:
    """Audio classification. Outputs ``label``, ``score`` (and ``labels`` when ``top_k`` != 1)."""
    return _classification("classify_audio", "audio-classification", col, top_k, model, parameters, prefix, settings)


def zero_shot_image(col: Any, labels: Sequence[str] | None = None, *, hypothesis_template: str | None = None,
                    model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
                    **settings: Any) -> Job:
    """Zero-shot image classification against ``labels``. Outputs ``label``, ``score`` and
    ``score_<label>`` for every label (scores are normalised over all labels, sent in one request)."""
    settings, extra = split_kwargs(settings)
    labels = checks.alias("zero_shot_image", extra, "candidate_labels", labels)
    reject_unknown("zero_shot_image", extra)
    labels = checks.candidate_labels("zero_shot_image", labels, "['cat', 'dog']")
    return make_job("zero_shot_image", "zero-shot-image-classification", [Input("col", col)], model=model,
                    parameters=parameters, wire={"candidate_labels": labels, "hypothesis_template": hypothesis_template},
                    options={"labels": labels}, prefix=prefix, settings=settings)


def detect(col: Any, *, threshold: float | None = None, model: str | None = None, parameters: dict | None = None,
           prefix: str | None = None, **settings: Any) -> Job:
    """Object detection. Output ``objects``: a list of ``{label, score, box: {xmin, ymin, xmax, ymax}}``
    (pixels), best first. ``threshold``: the smallest score kept (the model's default when None)."""
    settings, extra = split_kwargs(settings)
    reject_unknown("detect", extra)
    checks.unit_interval("detect", "threshold", threshold)
    return make_job("detect", "object-detection", [Input("col", col)], model=model, parameters=parameters,
                    wire={"threshold": threshold}, prefix=prefix, settings=settings)


def segment(col: Any, *, subtask: str | None = None, threshold: float | None = None, model: str | None = None,
            parameters: dict | None = None, prefix: str | None = None, **settings: Any) -> Job:
    """Image segmentation. Output ``segments``: a list of ``{label, score, mask}``, ``mask`` a PNG
    (bytes); :func:`hf_frame.decode_mask` turns one into a numpy array. ``subtask``: ``"semantic"``,
    ``"instance"`` or ``"panoptic"`` (the model's default when None)."""
    settings, extra = split_kwargs(settings)
    reject_unknown("segment", extra)
    checks.unit_interval("segment", "threshold", threshold)
    if subtask is not None and subtask not in ("semantic", "instance", "panoptic"):
        raise ValueError(f"segment: subtask must be 'semantic', 'instance', 'panoptic' or None, got {subtask!r}")
    return make_job("segment", "image-segmentation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"subtask": subtask, "threshold": threshold}, prefix=prefix, settings=settings)


def caption(col: Any, *, model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
            **generation: Any) -> Job:
    """Image captioning. Output ``caption``. Extra keywords (``max_new_tokens``...) go to the API
    parameters (then the image is sent base64 in a JSON body)."""
    settings, extra = split_kwargs(generation)
    return make_job("caption", "image-to-text", [Input("col", col)], model=model, parameters=parameters,
                    wire=extra, prefix=prefix, settings=settings)


def transcribe(col: Any, *, return_timestamps: bool | str = False, model: str | None = None,
               parameters: dict | None = None, prefix: str | None = None, **generation: Any) -> Job:
    """Speech recognition. Output ``text``; with ``return_timestamps`` (True, or ``"word"``) also
    ``chunks``: a list of ``{text, start, end}`` in seconds. Extra keywords go to the API parameters."""
    settings, extra = split_kwargs(generation)
    if return_timestamps not in (True, False, "word", "char"):
        raise ValueError(f"transcribe: return_timestamps must be True, False or 'word', got {return_timestamps!r}")
    wire = {"return_timestamps": return_timestamps or None, **extra}
    return make_job("transcribe", "automatic-speech-recognition", [Input("col", col)], model=model,
                    parameters=parameters, wire=wire, options={"timestamps": bool(return_timestamps)},
                    prefix=prefix, settings=settings)


def _image_question(method: str, task: str, image: Any, question: Any, top_k: int | None, model, parameters,
                    prefix, wire: dict, settings: dict) -> Job:
    checks.positive_int(method, "top_k", top_k)
    return make_job(method, task, [Input("image", image), Input("question", question, literal_ok=True)],
                    model=model, parameters=parameters, wire={"top_k": top_k, **wire}, options={"top_k": top_k},
                    prefix=prefix, settings=settings)


def visual_qa(image: Any, question: Any, *, top_k: int | None = 1, model: str | None = None,
              parameters: dict | None = None, prefix: str | None = None, **settings: Any) -> Job:
    """Visual question answering: ``question`` (a column, or one literal question for every row)
    about each image. Outputs ``answer``, ``score``; with ``top_k`` > 1 (or None: every answer
    the model gives) also ``answers``, a list of ``{answer, score}`` best first.

    >>> df.hf.visual_qa("photo", "How many people are there?")              # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("visual_qa", extra)
    return _image_question("visual_qa", "visual-question-answering", image, question, top_k, model, parameters,
                           prefix, {}, settings)


def document_qa(image: Any, question: Any, *, top_k: int | None = 1, model: str | None = None,
                parameters: dict | None = None, prefix: str | None = None, **params: Any) -> Job:
    """Document question answering on document images (invoices, forms, scans). Outputs
    ``answer``, ``score`` and ``start``/``end`` (word positions in the document; None for
    generative models); with ``top_k`` > 1 also ``answers``. Other keywords (``lang``,
    ``max_answer_len``, ``doc_stride``, ``handle_impossible_answer``...) are API parameters.

    >>> df.hf.document_qa("scan", "What is the invoice number?")            # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    return _image_question("document_qa", "document-question-answering", image, question, top_k, model, parameters,
                           prefix, extra, settings)


__all__ = ["caption", "classify_audio", "classify_image", "detect", "document_qa", "segment", "transcribe",
           "visual_qa", "zero_shot_image"]
