"""together: chat, text completions, embeddings and transcriptions on its OpenAI-compatible API.

Routes (after ``{base_url}/together`` or https://api.together.xyz): ``/v1/chat/completions``,
``/v1/completions`` (``{"model", "prompt", "max_tokens"...}`` -> ``{"choices": [{"text"}]}``),
``/v1/embeddings`` (``{"model", "input"}`` -> ``{"data": [{"embedding"}]}``) and
``/v1/audio/transcriptions`` (multipart ``file`` + ``model`` -> ``{"text", "segments"}``).
"""

from __future__ import annotations

from .openai_style import helpers

BASE_URL = "https://api.together.xyz"
HELPERS = helpers(chat={"together": "/v1/chat/completions"}, completions={"together": "/v1/completions"},
                  embeddings={"together": "/v1/embeddings"},
                  transcriptions={"together": "/v1/audio/transcriptions"})["together"]
OTHER_TASKS = ("text-to-image", "image-to-image", "text-to-speech", "text-to-video", "image-to-video")
