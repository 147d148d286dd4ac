"""Remote backends: the HTTP layer (for now in :mod:`hf_frame.transport`) and the Inference
Providers registry (:mod:`.providers`)."""
