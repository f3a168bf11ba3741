"""The model catalog as reviewable data files, and the script that seeds Firestore from them.

Run `python -m catalog_seed --help`.
"""
