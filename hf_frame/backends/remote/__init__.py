"""The remote backend: HTTP to the router, Inference Endpoints and self-hosted servers."""
