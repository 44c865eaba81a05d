"""Command groups of the `hotline` CLI, one module per subject."""
