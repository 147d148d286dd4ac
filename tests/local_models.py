"""Tiny random-weight models for testing the ``provider="local"`` backend offline.

There is no network in CI, so nothing can be downloaded from the Hugging Face hub. Instead each
builder here creates a *tiny* model (hidden size 32, 2 layers) from a config, initialises its
weights randomly with a fixed seed, and saves it with ``save_pretrained`` into a directory. That
directory is then a perfectly ordinary local model, loadable by ``transformers.pipeline`` and by
:class:`hf_frame.backends.local.LocalBackend` alike. The outputs are meaningless, which is fine: the tests
compare the backend against the transformers pipeline on the *same* model, so they only check
plumbing and response shapes, not model quality.

Every builder takes a root directory and returns the path of the model directory it wrote, and
builds in well under a second. Tokenizers are built offline too:

* BERT-family models share a WordPiece tokenizer whose ``vocab.txt`` holds :data:`WORDS` (every
  word the tests use) plus the BERT special tokens.
* GPT-2 and BART share a byte-level BPE tokenizer *trained* on :data:`CORPUS` with the
  ``tokenizers`` library (training a 400-token BPE takes milliseconds and is deterministic).

Test media (a PNG image and a WAV clip) are generated with PIL and the stdlib ``wave`` module.
"""

from __future__ import annotations

import io
import json
import math
import struct
import wave
from pathlib import Path

import pytest
import torch

# Import transformers classes lazily inside the builders would buy nothing here: this module is only
# imported by tests that already did ``pytest.importorskip("torch")``.
import transformers

SEED = 0
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)

#: Words the BERT vocabulary knows (lower-cased; the tokenizer lower-cases its input).
WORDS = """
. , ? ! ' - : 0 1 2 3 4 5 6 7 8 9 42
i me my you we it is am are was be a an the of in on at to and but or not can call
like love hate great terrible good bad this that movie film day
name sarah jessica parker john smith works for google paris france berlin lives capital city
what where who how many stars does do have has transformers datasets tokenizers repository
goal life happiness meaning sport politics economy weather about sunny today
hello world example
""".split()

#: Word pieces, so that unknown-ish words split into several tokens (exercises NER aggregation).
PIECES = ["##s", "##ing", "##ed", "##er", "##a", "##e", "##o"]

#: Text the byte-level BPE tokenizer is trained on.
CORPUS = [
    "The tower is 324 metres tall, about the same height as an 81-storey building.",
    "Hello world! My name is Sarah and I live in Paris, the capital of France.",
    "Once upon a time there was a tiny model that generated text about the weather.",
    "Translate English to French: the cat sat on the mat. Le chat est sur le tapis.",
]

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LANG_CODES = ["en_XX", "fr_XX", "de_DE"]


def _seeded() -> None:
    """Fix the RNG so each builder produces the same weights on every run."""
    torch.manual_seed(SEED)


# --------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------


def write_bert_vocab(directory: Path, extra_specials: list[str] = ()) -> Path:
    """Write a WordPiece ``vocab.txt`` (specials first, then :data:`WORDS` and :data:`PIECES`)."""
    directory.mkdir(parents=True, exist_ok=True)
    tokens = BERT_SPECIALS + list(extra_specials) + WORDS + PIECES
    path = directory / "vocab.txt"
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n", encoding="utf-8")
    return path


def bert_tokenizer(directory: Path):
    """A fast BERT tokenizer over the tiny vocabulary (saved into ``directory``)."""
    write_bert_vocab(directory)
    # Loading from a directory holding only vocab.txt builds the fast tokenizer from it, which works
    # across transformers 4.x (``vocab_file=``) and 5.x (``vocab=``) constructor signatures.
    tok = transformers.BertTokenizerFast.from_pretrained(str(directory), do_lower_case=True)
    tok.save_pretrained(str(directory))
    return tok


def bpe_tokenizer(directory: Path, *, lang_codes: bool = False):
    """A GPT-2-style byte-level BPE tokenizer trained on :data:`CORPUS` (saved into ``directory``).

    Specials: ``<s>`` (bos, id 0), ``<pad>`` (1), ``</s>`` (eos, 2), ``<unk>`` (3), ``<mask>`` (4),
    laid out like BART's. With ``lang_codes`` the mBART-style language tokens of
    :data:`LANG_CODES` are added as special tokens (used to test ``src_lang``/``tgt_lang``).
    """
    from tokenizers import ByteLevelBPETokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] + (LANG_CODES if lang_codes else [])
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, min_frequency=1, special_tokens=specials,
                            show_progress=False)
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        additional_special_tokens=LANG_CODES if lang_codes else None,
    )
    directory.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(directory))
    return tok


def _save(model, tokenizer, directory: Path, *extra) -> Path:
    """Save model (+ tokenizer / processors) into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(str(directory))
    for obj in (tokenizer, *extra):
        if obj is not None:
            obj.save_pretrained(str(directory))
    return directory


def _bert_config(vocab_size: int, **kwargs):
    return transformers.BertConfig(vocab_size=vocab_size, max_position_embeddings=128, **TINY, **kwargs)


def _labels(names: list[str]) -> dict:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


# --------------------------------------------------------------------------------------------
# Text models (BERT family)
# --------------------------------------------------------------------------------------------


def text_classification_model(root: Path) -> Path:
    """``BertForSequenceClassification`` with labels NEGATIVE / POSITIVE."""
    d = root / "text-classification"
    tok = bert_tokenizer(d)
    _seeded()
    model = transformers.BertForSequenceClassification(
        _bert_config(len(tok), **_labels(["NEGATIVE", "POSITIVE"])))
    return _save(model, tok, d)


def nli_model(root: Path) -> Path:
    """``BertForSequenceClassification`` with MNLI labels, usable for zero-shot classification
    (the zero-shot pipeline looks for a label starting with "entail")."""
    d = root / "nli"
    tok = bert_tokenizer(d)
    _seeded()
    model = transformers.BertForSequenceClassification(
        _bert_config(len(tok), **_labels(["contradiction", "neutral", "entailment"])))
    return _save(model, tok, d)


NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]


def token_classification_model(root: Path) -> Path:
    """``BertForTokenClassification`` with labels O, B-PER, I-PER, B-ORG, I-ORG.

    The classifier is sharpened (weights x10, no bias) so that tokens get a mix of labels with
    clear-cut scores: B-/I- runs for the aggregation to group, and some "O" tokens in between.
    """
    d = root / "token-classification"
    tok = bert_tokenizer(d)
    _seeded()
    model = transformers.BertForTokenClassification(_bert_config(len(tok), **_labels(NER_LABELS)))
    with torch.no_grad():
        model.classifier.weight.mul_(10.0)
        model.classifier.bias.zero_()
    return _save(model, tok, d)


def question_answering_model(root: Path) -> Path:
    """``BertForQuestionAnswering`` (extractive QA: start/end logits per token)."""
    d = root / "question-answering"
    tok = bert_tokenizer(d)
    _seeded()
    model = transformers.BertForQuestionAnswering(_bert_config(len(tok)))
    return _save(model, tok, d)


def masked_lm_model(root: Path) -> Path:
    """``BertForMaskedLM`` (fill-mask; also loads as a plain ``BertModel`` for feature extraction)."""
    d = root / "fill-mask"
    tok = bert_tokenizer(d)
    _seeded()
    model = transformers.BertForMaskedLM(_bert_config(len(tok)))
    return _save(model, tok, d)


def table_question_answering_model(root: Path) -> Path:
    """``TapasForQuestionAnswering`` with WTQ-style aggregation labels + ``TapasTokenizer``."""
    d = root / "table-question-answering"
    write_bert_vocab(d, extra_specials=["[EMPTY]"])
    tok = transformers.TapasTokenizer(vocab_file=str(d / "vocab.txt"))
    _seeded()
    config = transformers.TapasConfig(
        vocab_size=len(tok), max_position_embeddings=128, **TINY,
        num_aggregation_labels=4,
        aggregation_labels={0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"},
        no_aggregation_label_index=0,
        select_one_column=True, allow_empty_column_selection=False,
    )
    model = transformers.TapasForQuestionAnswering(config)
    return _save(model, tok, d)


# --------------------------------------------------------------------------------------------
# Generative text models
# --------------------------------------------------------------------------------------------


def causal_lm_model(root: Path) -> Path:
    """``GPT2LMHeadModel`` + byte-level BPE tokenizer, for text-generation."""
    d = root / "text-generation"
    tok = bpe_tokenizer(d)
    _seeded()
    config = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=128, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    model.generation_config.max_new_tokens = 8  # keep default generations short (and the tests fast)
    return _save(model, tok, d)


def seq2seq_model(root: Path) -> Path:
    """``BartForConditionalGeneration`` + byte-level BPE tokenizer with mBART-style language codes,
    for summarization and translation."""
    d = root / "seq2seq"
    tok = bpe_tokenizer(d, lang_codes=True)
    _seeded()
    config = transformers.BartConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=128,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id,
    )
    model = transformers.BartForConditionalGeneration(config)
    model.generation_config.max_length = 12  # short default generations keep the tests fast
    return _save(model, tok, d)


# --------------------------------------------------------------------------------------------
# Vision / audio models
# --------------------------------------------------------------------------------------------

IMAGE_SIZE = 32
IMAGE_LABELS = ["cat", "dog", "bird"]


def _vit_config(**kwargs):
    return transformers.ViTConfig(image_size=IMAGE_SIZE, patch_size=8, num_channels=3, **TINY, **kwargs)


def _vit_image_processor():
    return transformers.ViTImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def image_classification_model(root: Path) -> Path:
    """``ViTForImageClassification`` (32x32 input) + ``ViTImageProcessor``."""
    d = root / "image-classification"
    _seeded()
    model = transformers.ViTForImageClassification(_vit_config(**_labels(IMAGE_LABELS)))
    return _save(model, None, d, _vit_image_processor())


def object_detection_model(root: Path) -> Path:
    """``YolosForObjectDetection`` (a ViT detector: no CNN/timm backbone needed) + its processor."""
    d = root / "object-detection"
    _seeded()
    config = transformers.YolosConfig(image_size=[IMAGE_SIZE, IMAGE_SIZE], patch_size=8, num_detection_tokens=5,
                                      **TINY, **_labels(["person", "car"]))
    model = transformers.YolosForObjectDetection(config)
    processor = transformers.YolosImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                                                 do_pad=False)
    return _save(model, None, d, processor)


def image_to_text_model(root: Path) -> Path:
    """``VisionEncoderDecoderModel`` (tiny ViT encoder + tiny GPT-2 decoder) for image captioning."""
    d = root / "image-to-text"
    tok = bpe_tokenizer(d)
    _seeded()
    decoder = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2, add_cross_attention=True,
        is_decoder=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(_vit_config(), decoder)
    config.decoder_start_token_id = tok.bos_token_id
    config.pad_token_id = tok.pad_token_id
    config.eos_token_id = tok.eos_token_id
    model = transformers.VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = tok.bos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.max_length = 8
    return _save(model, tok, d, _vit_image_processor())


SAMPLING_RATE = 16_000


def _wav2vec2_config(**kwargs):
    return transformers.Wav2Vec2Config(
        **TINY, conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, **kwargs)


def _wav2vec2_feature_extractor():
    return transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLING_RATE,
                                                 padding_value=0.0, do_normalize=True,
                                                 return_attention_mask=True)


def speech_recognition_model(root: Path) -> Path:
    """``Wav2Vec2ForCTC`` + a character CTC tokenizer (letters and ``|`` as word delimiter)."""
    d = root / "automatic-speech-recognition"
    d.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ'":
        vocab[c] = len(vocab)
    (d / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tok = transformers.Wav2Vec2CTCTokenizer(str(d / "vocab.json"))
    processor = transformers.Wav2Vec2Processor(feature_extractor=_wav2vec2_feature_extractor(), tokenizer=tok)
    _seeded()
    model = transformers.Wav2Vec2ForCTC(_wav2vec2_config(vocab_size=len(vocab), pad_token_id=0))
    return _save(model, None, d, processor)


def audio_classification_model(root: Path) -> Path:
    """``Wav2Vec2ForSequenceClassification`` with emotion labels + feature extractor."""
    d = root / "audio-classification"
    _seeded()
    model = transformers.Wav2Vec2ForSequenceClassification(_wav2vec2_config(**_labels(["neu", "hap", "sad", "ang"])))
    return _save(model, None, d, _wav2vec2_feature_extractor())


# --------------------------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------------------------


def png_bytes(width: int = 48, height: int = 40, seed: int = 0) -> bytes:
    """A small deterministic RGB gradient image, PNG-encoded."""
    from PIL import Image

    img = Image.new("RGB", (width, height))
    img.putdata([((x * 5 + seed * 40) % 256, (y * 6) % 256, ((x + y) * 3) % 256)
                 for y in range(height) for x in range(width)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def wav_bytes(seconds: float = 0.5, freq: float = 440.0, sampling_rate: int = SAMPLING_RATE,
              channels: int = 1) -> bytes:
    """A sine tone as 16-bit PCM WAV bytes (stdlib ``wave``; no ffmpeg needed)."""
    n = int(seconds * sampling_rate)
    frames = bytearray()
    for i in range(n):
        sample = int(12000 * math.sin(2 * math.pi * freq * i / sampling_rate))
        frames += struct.pack("<h", sample) * channels
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(sampling_rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


#: All builders, by the task name the backend uses them for.
BUILDERS = {
    "text-classification": text_classification_model,
    "zero-shot-classification": nli_model,
    "token-classification": token_classification_model,
    "question-answering": question_answering_model,
    "fill-mask": masked_lm_model,
    "table-question-answering": table_question_answering_model,
    "text-generation": causal_lm_model,
    "seq2seq": seq2seq_model,
    "image-classification": image_classification_model,
    "object-detection": object_detection_model,
    "image-to-text": image_to_text_model,
    "automatic-speech-recognition": speech_recognition_model,
    "audio-classification": audio_classification_model,
}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``tiny(name)`` -> directory of the tiny model ``name`` (see :data:`BUILDERS`), built on first
    use and shared by the whole session. Test modules use it with ``from local_models import tiny``."""
    root = tmp_path_factory.mktemp("tiny-models")
    built: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in built:
            built[name] = str(BUILDERS[name](root))
        return built[name]

    return get
