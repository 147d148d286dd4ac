"""together: chat, text completions, embeddings and transcriptions on its OpenAI-compatible API.

Routes (after ``{base_url}/together`` or https://api.together.xyz): ``/v1/chat/completions``,
``/v1/completions`` (``{"model", "prompt", "max_tokens"...}`` -> ``{"choices": [{"text"}]}``),
``/v1/embeddings`` (``{"model", "input"}`` -> ``{"data": [{"embedding"}]}``) and
``/v1/audio/transcriptions`` (multipart ``file`` + ``model`` -> ``{"text", "segments"}``) and
``/v1/images/generations`` (text-to-image, and image-to-image with ``image_url`` or
``reference_images``: ``{"prompt", "response_format": "base64", "model"}`` -> ``{"data": [{"b64_json"}]}``).
"""

from __future__ import annotations

from .openai_style import helpers

BASE_URL = "https://api.together.xyz"
HELPERS = helpers(chat={"together": "/v1/chat/completions"}, completions={"together": "/v1/completions"},
                  embeddings={"together": "/v1/embeddings"},
                  transcriptions={"together": "/v1/audio/transcriptions"},
                  images={"together": "/v1/images/generations"},
                  image_edits={"together": "/v1/images/generations"})["together"]
OTHER_TASKS = ("text-to-speech", "text-to-video", "image-to-video")
