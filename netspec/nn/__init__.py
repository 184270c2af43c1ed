"""Torch modules that netspec layers build and PyTorch does not ship. Importing this imports torch."""
