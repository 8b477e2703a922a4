"""The platform's reference prediction service (docs/serving.md)."""
