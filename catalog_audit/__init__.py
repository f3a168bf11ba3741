"""The catalog next to public datasets: what each states, what differs, who confirmed what.

Used by the operator's `python -m catalog_seed audit` (data files against downloaded files)
and by the deployed daily drift check (`drift_check`: the catalog Firestore serves against
the datasets downloaded that day). It reads; it never writes the catalog.
"""
