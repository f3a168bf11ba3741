"""What the operator tools (`python -m catalog_seed`, `python -m key_admin`) share about being
command-line programs: output that survives a closed pipe, and relative times."""
