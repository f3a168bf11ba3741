"""What the operator tools (`python -m catalog_seed`, `python -m key_admin`) share about being
command-line programs: output that survives a closed pipe, relative times, and a first
Firestore read that fails in seconds when nothing is there."""
