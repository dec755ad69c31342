"""vlearn: learn LLM inference by reading and rebuilding vLLM 0.33.0."""
