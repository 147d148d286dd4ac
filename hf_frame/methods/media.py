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

The docstrings describe what users call, ``df.hf.<method>(...)`` (they are the accessors' own):
called directly, each function returns the :class:`Job` that the accessor runs on the frame.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..config import SettingsKwargs, Unpack
from . import checks
from .job import Input, Job, make_job, reject_unknown, split_kwargs
from .kwargs import DocumentQAKwargs, GenerationKwargs, TranscriptionKwargs


def _classification(method: str, task: str, col: Any, top_k: int | None, model, parameters, prefix,
                    settings: Mapping[str, Any]) -> Job:
    settings, extra = split_kwargs(settings)
    reject_unknown(method, extra)
    checks.positive_int(method, "top_k", top_k)
    # top_k=1 needs no parameter (the API ranks its answer): the image then goes as a raw body.
    wire = {"top_k": top_k if top_k not in (1, None) else None}
    return make_job(method, task, [Input("col", col)], model=model, parameters=parameters, wire=wire,
                    options={"top_k": top_k}, prefix=prefix, settings=settings)


def classify_image(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Image classification: each image's label and its score.

    Parameters
    ----------
    col : str
        The image column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes, PIL images, binary file objects or ``{"bytes", "path"}`` dicts (as ``datasets``
        stores images).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    top_k : int or None, default 1
        How many of the best labels to keep per row; above 1, or None for every label the model
        returns, the outputs add ``labels``.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``google/vit-base-patch16-224``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``label`` (string): the best label;
        * ``score`` (double): its score;
        * ``labels`` (list<struct<label: string, score: double>>, best first): only when ``top_k`` is not 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.classify_image("photo")                 # doctest: +SKIP
    >>> df.hf.classify_image("photo", top_k=3)["photo_labels"]   # doctest: +SKIP
    """
    return _classification("classify_image", "image-classification", col, top_k, model, parameters, prefix, settings)


def classify_audio(col: Any, *, top_k: int | None = 1, model: str | None = None, parameters: dict | None = None,
                   prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Audio classification: each audio's label and its score.

    Parameters
    ----------
    col : str
        The audio column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes (WAV, FLAC, MP3...), binary file objects or ``{"bytes", "path"}`` dicts (as
        ``datasets`` stores audio).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    top_k : int or None, default 1
        How many of the best labels to keep per row; above 1, or None for every label the model
        returns, the outputs add ``labels``.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``MIT/ast-finetuned-audioset-10-10-0.4593``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``label`` (string): the best label;
        * ``score`` (double): its score;
        * ``labels`` (list<struct<label: string, score: double>>, best first): only when ``top_k`` is not 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.classify_audio("clip")                  # doctest: +SKIP
    """
    return _classification("classify_audio", "audio-classification", col, top_k, model, parameters, prefix, settings)


def zero_shot_image(col: Any, labels: Sequence[str] | None = None, *, hypothesis_template: str | None = None,
                    model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
                    **settings: Unpack[SettingsKwargs]) -> Job:
    """Zero-shot image classification: each image scored against labels you choose.

    The scores are normalised over all labels, sent in one request per image.

    Parameters
    ----------
    col : str
        The image column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes, PIL images, binary file objects or ``{"bytes", "path"}`` dicts (as ``datasets``
        stores images).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    labels : list of str
        The candidate labels: non-empty, distinct strings (one string is one label).
        ``candidate_labels=`` is accepted too.
    hypothesis_template : str, optional
        The sentence each label is tested with, ``{}`` standing for the label, e.g.
        ``"a photo of a {}."`` (default: the server's).
    model : str, optional
        A Hub model id; default ``openai/clip-vit-base-patch32``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``label`` (string): the best label;
        * ``score`` (double): its score;
        * ``score_<label>`` (double): the score of every label, in the order given;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.zero_shot_image("photo", labels=["cat", "dog", "bird"])   # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    labels = checks.alias("zero_shot_image", extra, "candidate_labels", labels)
    reject_unknown("zero_shot_image", extra)
    labels = checks.candidate_labels("zero_shot_image", labels, "['cat', 'dog']")
    return make_job("zero_shot_image", "zero-shot-image-classification", [Input("col", col)], model=model,
                    parameters=parameters, wire={"candidate_labels": labels, "hypothesis_template": hypothesis_template},
                    options={"labels": labels}, prefix=prefix, settings=settings)


def detect(col: Any, *, threshold: float | None = None, model: str | None = None, parameters: dict | None = None,
           prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Object detection: the objects in each image, with their boxes.

    Parameters
    ----------
    col : str
        The image column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes, PIL images, binary file objects or ``{"bytes", "path"}`` dicts (as ``datasets``
        stores images).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    threshold : float, optional
        The smallest score kept, from 0 to 1 (default: the model's).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``facebook/detr-resnet-50``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``objects`` (list<struct<label: string, score: double, box: struct>>): best first; each
          ``box`` is a struct<xmin: int64, ymin: int64, xmax: int64, ymax: int64>, in pixels;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.detect("photo", threshold=0.9)["photo_objects"].explode()   # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("detect", extra)
    checks.unit_interval("detect", "threshold", threshold)
    return make_job("detect", "object-detection", [Input("col", col)], model=model, parameters=parameters,
                    wire={"threshold": threshold}, prefix=prefix, settings=settings)


def segment(col: Any, *, subtask: str | None = None, threshold: float | None = None, model: str | None = None,
            parameters: dict | None = None, prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Image segmentation: the labelled regions of each image, each with a mask.

    Parameters
    ----------
    col : str
        The image column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes, PIL images, binary file objects or ``{"bytes", "path"}`` dicts (as ``datasets``
        stores images).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    subtask : {"semantic", "instance", "panoptic"}, optional
        The kind of segmentation, for models that do several: ``semantic``, ``instance`` or
        ``panoptic`` (default: the model's).
    threshold : float, optional
        The smallest score kept, from 0 to 1 (default: the model's).
    model : str, optional
        A Hub model id; default ``nvidia/segformer-b0-finetuned-ade-512-512``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``segments`` (list<struct<label: string, score: double, mask: binary>>): ``score`` is null
          for semantic segmentation; ``mask`` is a PNG, :func:`hf_frame.decode_mask` turns it into a
          numpy array;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> out = df.hf.segment("photo")                                      # doctest: +SKIP
    >>> hf_frame.decode_mask(out["photo_segments"][0][0]["mask"]).shape   # doctest: +SKIP
    (512, 512)
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("segment", extra)
    checks.unit_interval("segment", "threshold", threshold)
    if subtask is not None and subtask not in ("semantic", "instance", "panoptic"):
        raise ValueError(f"segment: subtask must be 'semantic', 'instance', 'panoptic' or None, got {subtask!r}")
    return make_job("segment", "image-segmentation", [Input("col", col)], model=model, parameters=parameters,
                    wire={"subtask": subtask, "threshold": threshold}, prefix=prefix, settings=settings)


def caption(col: Any, *, model: str | None = None, parameters: dict | None = None, prefix: str | None = None,
            **generation: Unpack[GenerationKwargs]) -> Job:
    """Image captioning: a sentence describing each image.

    Parameters
    ----------
    col : str
        The image column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes, PIL images, binary file objects or ``{"bytes", "path"}`` dicts (as ``datasets``
        stores images).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``Salesforce/blip-image-captioning-base``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **generation
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and generation parameters
        sent to the API (``max_new_tokens``, ``num_beams``...; see
        :class:`~hf_frame.methods.kwargs.GenerationKwargs`): any keyword that is not a setting.
        With parameters, the image is sent base64 in a JSON body.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``caption`` (string): the caption;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.caption("photo", max_new_tokens=30)   # doctest: +SKIP
    """
    settings, extra = split_kwargs(generation)
    return make_job("caption", "image-to-text", [Input("col", col)], model=model, parameters=parameters,
                    wire=extra, prefix=prefix, settings=settings)


def transcribe(col: Any, *, return_timestamps: bool | str = False, model: str | None = None,
               parameters: dict | None = None, prefix: str | None = None,
               **generation: Unpack[TranscriptionKwargs]) -> Job:
    """Speech recognition: the text of each audio clip.

    Parameters
    ----------
    col : str
        The audio column (or a Series of as many rows), whose cells are local paths, ``http(s)://``
        URLs, bytes (WAV, FLAC, MP3...), binary file objects or ``{"bytes", "path"}`` dicts (as
        ``datasets`` stores audio).
        On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input. Missing cells
        give null outputs and send nothing; a cell larger than ``max_media_bytes`` is a row error.
    return_timestamps : bool or {"word", "char"}, default False
        Also return the text in timed ``chunks``: True (segments; words for CTC models), ``word``,
        or ``char`` (CTC models).
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``openai/whisper-large-v3``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **generation
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and parameters sent to the API
        (``chunk_length_s``, ``generation_parameters``...; see
        :class:`~hf_frame.methods.kwargs.TranscriptionKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<col>_<field>``, of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``text`` (string): the transcript;
        * ``chunks`` (list<struct<text: string, start: double, end: double>>, seconds): only with
          ``return_timestamps``;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.transcribe("clip")                                              # doctest: +SKIP
    >>> df.hf.transcribe("clip", return_timestamps=True)["clip_chunks"]       # doctest: +SKIP
    """
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
              parameters: dict | None = None, prefix: str | None = None, **settings: Unpack[SettingsKwargs]) -> Job:
    """Visual question answering: a question about each image, answered in a word or a few.

    Parameters
    ----------
    image : str
        The image column; cells as for the other vision methods (paths, URLs, bytes, PIL images,
        files). On ``Series.hf`` and ``Expr.hf`` the series or expression itself is this input.
    question : str
        The question column, or one literal question asked of every image (a string that is not a
        column of the frame is a literal).
    top_k : int or None, default 1
        How many of the best answers to keep per row; above 1, or None for every answer the model
        gives, the outputs add ``answers``.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``dandelin/vilt-b32-finetuned-vqa``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **settings
        Settings for this call only, any of :class:`~hf_frame.SettingsKwargs`
        (``max_concurrency=8``, ``cache=False``, ``errors="raise"``, ``provider="local"``...).

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<column>_<field>`` after the image column, of
        the Arrow types below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars).
        ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf``
        is one struct of them:

        * ``answer`` (string): the best answer;
        * ``score`` (double): its score (null for generative models);
        * ``answers`` (list<struct<answer: string, score: double>>, best first): only when ``top_k`` is not 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.visual_qa("photo", "How many people are there?")              # doctest: +SKIP
    >>> df.hf.visual_qa("photo", "question", top_k=3)["photo_answers"]      # doctest: +SKIP
    """
    settings, extra = split_kwargs(settings)
    reject_unknown("visual_qa", extra)
    return _image_question("visual_qa", "visual-question-answering", image, question, top_k, model, parameters,
                           prefix, {}, settings)


def document_qa(image: Any, question: Any, *, top_k: int | None = 1, model: str | None = None,
                parameters: dict | None = None, prefix: str | None = None,
                **params: Unpack[DocumentQAKwargs]) -> Job:
    """Document question answering: a question about each document image (invoices, forms, scans).

    Parameters
    ----------
    image : str
        The column of document images (paths, URLs, bytes, PIL images, files). On ``Series.hf`` and
        ``Expr.hf`` the series or expression itself is this input.
    question : str
        The question column, or one literal question asked of every image (a string that is not a
        column of the frame is a literal).
    top_k : int or None, default 1
        How many of the best answers to keep per row; above 1, or None for every answer the model
        gives, the outputs add ``answers``.
    model : str, optional
        A Hub model id (with ``provider="local"`` also a local directory); default
        ``naver-clova-ix/donut-base-finetuned-docvqa``.
    parameters : dict, optional
        Extra API parameters, sent as given; they win over the named arguments.
    prefix : str, optional
        The output columns' prefix, instead of the input column's name.
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **params
        Settings for this call (:class:`~hf_frame.SettingsKwargs`), and the API's document QA
        parameters (``lang``, ``max_answer_len``, ``doc_stride``, ``handle_impossible_answer``...; see
        :class:`~hf_frame.methods.kwargs.DocumentQAKwargs`): any keyword that is not a setting.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<column>_<field>`` after the image column, of
        the Arrow types below (``pd.ArrowDtype`` in pandas, the matching dtypes in polars).
        ``Series.hf`` returns the fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf``
        is one struct of them:

        * ``answer`` (string): the best answer;
        * ``score`` (double): its score;
        * ``start``, ``end`` (int64): its word positions in the document (null for generative models);
        * ``answers`` (list<struct<answer: string, score: double, start: int64, end: int64>>, best
          first): only when ``top_k`` is not 1;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.document_qa("scan", "What is the invoice number?")            # doctest: +SKIP
    """
    settings, extra = split_kwargs(params)
    return _image_question("document_qa", "document-question-answering", image, question, top_k, model, parameters,
                           prefix, extra, settings)


__all__ = ["caption", "classify_audio", "classify_image", "detect", "document_qa", "segment", "transcribe",
           "visual_qa", "zero_shot_image"]
