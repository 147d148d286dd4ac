"""Tiny random-weight models for the local visual QA, document QA and text-to-speech handlers.

Built at test time like those of ``local_models`` (a config, seeded random weights,
``save_pretrained`` into a directory) and served by its ``tiny`` fixture once this module is
imported: ``tiny("vqa")`` a ViLT visual-QA classifier, ``tiny("layoutlm")`` a LayoutLM extractive
document-QA model (answers from given ``word_boxes``, no OCR), ``tiny("donut")`` a Donut
document-QA model (reads the image; generative) and ``tiny("tts")`` a VITS text-to-speech model
with a character tokenizer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# No network: set before transformers is imported (by local_models, just below).
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from local_models import BUILDERS, TINY, _labels, bert_tokenizer, bpe_tokenizer  # noqa: E402

VQA_ANSWERS = ["yes", "no", "two", "cat", "red", "blue"]
DONUT_TOKENS = ["<s_docvqa>", "<s_question>", "</s_question>", "<s_answer>", "</s_answer>"]


def vqa_model(root: Path) -> Path:
    """``ViltForQuestionAnswering`` (32x32 images, 6 answers) + ``ViltProcessor``."""
    d = root / "visual-question-answering"
    tok = bert_tokenizer(d)
    torch.manual_seed(0)
    config = transformers.ViltConfig(vocab_size=len(tok), image_size=32, patch_size=8, max_position_embeddings=40,
                                     num_images=-1, **TINY, **_labels(VQA_ANSWERS))
    model = transformers.ViltForQuestionAnswering(config)
    processor = transformers.ViltProcessor(
        image_processor=transformers.ViltImageProcessor(size={"shortest_edge": 32}, size_divisor=8), tokenizer=tok)
    model.save_pretrained(d)
    processor.save_pretrained(d)
    return d


def layoutlm_model(root: Path) -> Path:
    """``LayoutLMForQuestionAnswering``: extractive, over the words (and boxes) it is given."""
    d = root / "document-question-answering-layoutlm"
    tok = bert_tokenizer(d)
    tok.model_max_length = 64
    torch.manual_seed(0)
    config = transformers.LayoutLMConfig(vocab_size=len(tok), max_position_embeddings=64,
                                         max_2d_position_embeddings=1024, **TINY)
    transformers.LayoutLMForQuestionAnswering(config).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def donut_model(root: Path) -> Path:
    """A Donut ``VisionEncoderDecoderModel`` (tiny Swin encoder, tiny mBART decoder) + processor."""
    d = root / "document-question-answering-donut"
    tok = bpe_tokenizer(d)
    tok.add_special_tokens({"additional_special_tokens": DONUT_TOKENS})
    encoder = transformers.DonutSwinConfig(image_size=[32, 32], patch_size=4, embed_dim=16, depths=[1, 1],
                                           num_heads=[2, 2], window_size=2)
    decoder = transformers.MBartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=37,
                                       decoder_ffn_dim=37, max_position_embeddings=64, is_decoder=True,
                                       add_cross_attention=True)
    config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id = tok.bos_token_id, tok.pad_token_id
    config.eos_token_id = tok.eos_token_id
    torch.manual_seed(0)
    model = transformers.VisionEncoderDecoderModel(config=config)
    generation = model.generation_config
    generation.decoder_start_token_id, generation.pad_token_id = tok.bos_token_id, tok.pad_token_id
    generation.eos_token_id, generation.max_length = tok.eos_token_id, 16
    model.save_pretrained(d)
    tok.save_pretrained(d)
    transformers.DonutImageProcessor(size={"height": 32, "width": 32}, do_align_long_axis=False).save_pretrained(d)
    return d


def tts_model(root: Path) -> Path:
    """``VitsModel`` (a 16 kHz waveform straight from characters) + ``VitsTokenizer`` (no phonemizer)."""
    d = root / "text-to-speech"
    d.mkdir(parents=True, exist_ok=True)
    (d / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate("_ abcdefghijklmnopqrstuvwxyz'.,!?")}))
    tok = transformers.VitsTokenizer(str(d / "vocab.json"), phonemize=False, add_blank=True, language=None)
    config = transformers.VitsConfig(
        vocab_size=len(tok.get_vocab()), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=24,
        flow_size=16, spectrogram_bins=33, upsample_initial_channel=16, upsample_rates=[4, 4],
        upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=1, duration_predictor_filter_channels=16, sampling_rate=16000, window_size=4)
    torch.manual_seed(0)
    transformers.VitsModel(config).save_pretrained(d)
    tok.save_pretrained(d)
    return d


# Served by local_models' ``tiny`` fixture: ``tiny("vqa")`` etc.
BUILDERS.update({"vqa": vqa_model, "layoutlm": layoutlm_model, "donut": donut_model, "tts": tts_model})
