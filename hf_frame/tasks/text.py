"""Task specs for text inputs: classification, zero-shot, NER, QA, table QA, fill-mask,
summarization, translation, generation and sentence similarity.

Parsers accept every answer shape the HF API, TGI and local pipelines are known to produce
(see DESIGN.md): missing fields become None, unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any, Hashable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..formats.arrow_json import read_json_values
from .base import Task, require_text
from .defaults import default_model

LABEL_SCORE = pa.struct([("label", pa.string()), ("score", pa.float64())])


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _per_item(answer: Any, items: Sequence[Any]) -> list[Any]:
    """Split a batched answer into one answer per item (a single item gets the whole answer)."""
    if len(items) == 1:
        return [answer]
    if not isinstance(answer, list) or len(answer) != len(items):
        raise ValueError(f"expected a list of {len(items)} answers, got {type(answer).__name__}")
    return answer


def _label_scores(answer: Any) -> list[dict]:
    """``[[{label, score}]]``, ``[{label, score}]`` or ``{label, score}`` -> sorted label/score list."""
    if isinstance(answer, dict):
        if "labels" in answer and "scores" in answer:
            pairs = zip(answer["labels"], answer["scores"])
            answer = [{"label": label, "score": score} for label, score in pairs]
        else:
            answer = [answer]
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list):
        answer = answer[0]
    if not isinstance(answer, list) or not all(isinstance(x, dict) and "label" in x for x in answer):
        raise ValueError(f"expected a list of {{label, score}}, got {str(answer)[:120]}")
    if not answer:
        raise ValueError("the answer holds no label at all")
    for x in answer:
        if not isinstance(x["label"], (str, int)) or isinstance(x["label"], bool):
            raise ValueError(f"a label must be text, got {type(x['label']).__name__} {str(x['label'])[:60]}")
    out = [{"label": str(x["label"]), "score": _num(x.get("score"))} for x in answer]
    return sorted(out, key=lambda x: -(x["score"] or 0.0))


def label_score_map(answer: Any, labels: Sequence[str]) -> dict[str, float | None]:
    """A zero-shot answer -> ``{label: score}``; every candidate label must have been scored."""
    scores = {x["label"]: x["score"] for x in _label_scores(answer)}
    missing = [label for label in labels if label not in scores]
    if missing:
        raise ValueError(f"the answer scores {sorted(scores)[:10]} but not the candidate label(s) {missing[:10]}")
    return scores


class RankedLabelsOutput:
    """Output of every classification task (text, image, audio): ``label`` and ``score`` of the
    best label; with ``top_k`` other than 1 also ``labels``, the ranked list<struct<label, score>>.
    Results are label/score lists sorted best first (see :func:`_label_scores`)."""

    def output_type(self, call):
        if call.options.get("top_k") == 1:
            return LABEL_SCORE
        return pa.struct([("label", pa.string()), ("score", pa.float64()), ("labels", pa.list_(LABEL_SCORE))])

    def to_row(self, call, result):
        top_k = call.options.get("top_k")
        if not result:  # parse refuses such an answer: only a damaged cache value can hold one
            raise ValueError("the answer holds no label at all")
        ranked = result if top_k is None else result[:top_k]
        best = ranked[0]
        return best if top_k == 1 else {**best, "labels": ranked}

    def decode_array(self, call, datas):
        """The cached label/score lists read by Arrow, the best label taken with Arrow compute."""
        ranked = read_json_values(datas, pa.list_(LABEL_SCORE))
        if ranked is None or ranked.null_count or pc.min(pc.list_value_length(ranked)).as_py() == 0:
            return None  # not what this version caches (see to_row): the values are read one by one
        best = ranked.values.take(ranked.offsets.slice(0, len(ranked)))  # the first of each list
        fields = [best.field("label"), best.field("score")]
        top_k = call.options.get("top_k")
        if top_k == 1:
            return pa.StructArray.from_arrays(fields, fields=list(LABEL_SCORE))
        labels = ranked if top_k is None else pc.list_slice(ranked, 0, top_k)
        return pa.StructArray.from_arrays([*fields, labels], fields=list(self.output_type(call)))


class TextClassification(RankedLabelsOutput, Task):
    name, method = "text-classification", "classify"
    default_model = default_model("text-classification")
    batchable = True

    def parse(self, call, answer, items):
        if len(items) > 1 and isinstance(answer, list) and answer and isinstance(answer[0], dict):
            answer = [[x] for x in answer]  # top-1 batches come back flat: one dict per input
        return [_label_scores(a) for a in _per_item(answer, items)]


class ZeroShotClassification(Task):
    """Scores per label; the method merges label chunks (the API takes at most 10 labels)."""

    name, method = "zero-shot-classification", "zero_shot"
    default_model = default_model("zero-shot-classification")

    def parse(self, call, answer, items):
        if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict) and "labels" in answer[0]:
            answer = answer[0]
        return [label_score_map(answer, call.options["labels"])]

    def output_type(self, call):
        fields = [("label", pa.string()), ("score", pa.float64())]
        fields += [(f"score_{label}", pa.float64()) for label in call.options["labels"]]
        return pa.struct(fields)

    def to_row(self, call, result):
        best = max(result.items(), key=lambda kv: kv[1]) if result else (None, None)
        row = {"label": best[0], "score": best[1]}
        row.update({f"score_{label}": result.get(label) for label in call.options["labels"]})
        return row


ENTITY = pa.struct([
    ("entity_group", pa.string()), ("word", pa.string()), ("score", pa.float64()),
    ("start", pa.int64()), ("end", pa.int64()),
])


class TokenClassification(Task):
    name, method = "token-classification", "ner"
    default_model = default_model("token-classification")
    batchable = True

    def parse(self, call, answer, items):
        if len(items) == 1 and isinstance(answer, list) and answer and isinstance(answer[0], list):
            answer = answer[0]
        out = []
        for entities in _per_item(answer, items):
            if not isinstance(entities, list):
                raise ValueError(f"expected a list of entities, got {str(entities)[:120]}")
            out.append([
                {"entity_group": e.get("entity_group", e.get("entity")), "word": e.get("word"),
                 "score": _num(e.get("score")), "start": _int(e.get("start")), "end": _int(e.get("end"))}
                for e in entities
            ])
        return out

    row_field = "entities"

    def output_type(self, call):
        return pa.struct([("entities", pa.list_(ENTITY))])

    def to_row(self, call, result):
        return {"entities": result}


class QuestionAnswering(Task):
    name, method = "question-answering", "qa"
    default_model = default_model("question-answering")

    def prepare(self, call, values, row):
        question = require_text(values[0], call, row, 0)
        context = require_text(values[1], call, row, 1)
        return None if question is None or context is None else {"question": question, "context": context}

    def parse(self, call, answer, items):
        if isinstance(answer, list):  # top_k > 1 answers come as a list, best first
            answer = answer[0] if answer else {}
        if not isinstance(answer, dict):
            raise ValueError(f"expected an answer object, got {str(answer)[:120]}")
        return [{"answer": answer.get("answer"), "score": _num(answer.get("score")),
                 "start": _int(answer.get("start")), "end": _int(answer.get("end"))}]

    def output_type(self, call):
        return pa.struct([("answer", pa.string()), ("score", pa.float64()), ("start", pa.int64()), ("end", pa.int64())])


class TableQuestionAnswering(Task):
    """The table (``{column: [str, ...]}``) is fixed for the call and sent from ``call.body``."""

    name, method = "table-question-answering", "table_qa"
    default_model = default_model("table-question-answering")

    def payload(self, call, items):
        body = {"inputs": {"query": items[0], "table": call.body["table"]}}
        if call.parameters:
            body["parameters"] = call.parameters
        return body

    def parse(self, call, answer, items):
        if isinstance(answer, list) and answer:
            answer = answer[0]
        if not isinstance(answer, dict):
            raise ValueError(f"expected an answer object, got {str(answer)[:120]}")
        coords = [[int(c) for c in pair] for pair in answer.get("coordinates") or []]
        cells = [None if c is None else str(c) for c in answer.get("cells") or []]
        return [{"answer": answer.get("answer"), "cells": cells, "coordinates": coords,
                 "aggregator": answer.get("aggregator")}]

    def output_type(self, call):
        return pa.struct([("answer", pa.string()), ("cells", pa.list_(pa.string())),
                          ("coordinates", pa.list_(pa.list_(pa.int64()))), ("aggregator", pa.string())])


CANDIDATE = pa.struct([("sequence", pa.string()), ("token_str", pa.string()), ("token", pa.int64()), ("score", pa.float64())])


class FillMask(Task):
    name, method = "fill-mask", "fill_mask"
    default_model = default_model("fill-mask")

    def parse(self, call, answer, items):
        if isinstance(answer, list) and answer and isinstance(answer[0], list):
            answer = answer[0]  # several masks: keep the first mask's candidates
        if not isinstance(answer, list):
            raise ValueError(f"expected a list of candidates, got {str(answer)[:120]}")
        candidates = [{"sequence": c.get("sequence"), "token_str": c.get("token_str"), "token": _int(c.get("token")),
                       "score": _num(c.get("score"))} for c in answer]
        return [sorted(candidates, key=lambda c: -(c["score"] or 0.0))]

    def output_type(self, call):
        return pa.struct([("sequence", pa.string()), ("token_str", pa.string()), ("score", pa.float64()),
                          ("candidates", pa.list_(CANDIDATE))])

    def to_row(self, call, result):
        best = result[0] if result else {}
        return {"sequence": best.get("sequence"), "token_str": best.get("token_str"), "score": best.get("score"),
                "candidates": result}


class _TextToText(Task):
    """Tasks answering ``[{"<key>": text}]`` (or a bare dict) with one string output."""

    answer_key = ""
    output = ""
    batchable = True

    def parse(self, call, answer, items):
        out = []
        for a in _per_item(answer, items):
            if isinstance(a, list) and len(a) >= 1:
                a = a[0]
            if isinstance(a, list) and len(a) >= 1:  # num_return_sequences nests one more level
                a = a[0]
            if not isinstance(a, dict) or self.answer_key not in a:
                raise ValueError(f"expected {{{self.answer_key!r}: ...}}, got {str(a)[:120]}")
            out.append(a[self.answer_key])
        return out

    def output_type(self, call):
        return pa.struct([(self.output, pa.string())])

    @property
    def row_field(self):
        return self.output

    def to_row(self, call, result):
        return {self.output: result}


class Summarization(_TextToText):
    name, method = "summarization", "summarize"
    default_model = default_model("summarization")
    answer_key, output = "summary_text", "summary"


class Translation(_TextToText):
    name, method = "translation", "translate"
    default_model = default_model("translation")
    answer_key, output = "translation_text", "translation"


class TextGeneration(_TextToText):
    name, method = "text-generation", "generate"
    default_model = default_model("text-generation")
    answer_key, output = "generated_text", "generated"


class SentenceSimilarity(Task):
    """Rows sharing a source sentence share one request: ``{source_sentence, sentences: [...]}``."""

    name, method = "sentence-similarity", "similarity"
    default_model = default_model("sentence-similarity")
    pipeline_route = True
    batchable = remote_batch = True

    def prepare(self, call, values, row):
        a = require_text(values[0], call, row, 0)
        b = require_text(values[1], call, row, 1)
        return None if a is None or b is None else {"source": a, "sentence": b}

    def group_key(self, call, item) -> Hashable:
        return item["source"]

    def payload(self, call, items):
        body = {"inputs": {"source_sentence": items[0]["source"], "sentences": [i["sentence"] for i in items]}}
        if call.parameters:
            body["parameters"] = call.parameters
        return body

    def parse(self, call, answer, items):
        if hasattr(answer, "tolist"):
            answer = answer.tolist()
        if not isinstance(answer, list) or len(answer) != len(items):
            raise ValueError(f"expected {len(items)} scores, got {str(answer)[:120]}")
        return [float(x) for x in answer]

    row_field = "similarity"

    def output_type(self, call):
        return pa.struct([("similarity", pa.float64())])

    def to_row(self, call, result):
        return {"similarity": result}


SPECS = (TextClassification(), ZeroShotClassification(), TokenClassification(), QuestionAnswering(),
         TableQuestionAnswering(), FillMask(), Summarization(), Translation(), TextGeneration(),
         SentenceSimilarity())
