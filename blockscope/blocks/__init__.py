"""Pure PyTorch building blocks of efficient CNNs (no web, no JSON)."""
