"""Where answers come from: remote services (the Hugging Face router, Inference Providers,
self-hosted servers) and, later, the in-process models."""
