"""Ablation designs and the ablate command (thin: declares designs, calls the library)."""
