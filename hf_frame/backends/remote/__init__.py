"""The remote backend: HTTP to the router, Inference Providers (:mod:`.providers`), dedicated Inference
Endpoints and self-hosted servers (:mod:`.endpoints`)."""
