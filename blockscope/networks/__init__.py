"""Whole networks assembled from BlockScope's blocks, each as its paper's architecture table."""
