"""The daily drift check: the catalog Firestore serves, against the public datasets of the day.

Deployed as a second function from the same source upload (entry point `drift_check` in
main.py), invoked once a day by Cloud Scheduler. It downloads OpenRouter's models API, the
endpoints of every routed model, LiteLLM's price JSON and genai-prices' data file, audits the
served catalog with `catalog_audit` (acknowledged findings neither fail nor alert), and writes
one JSON log line per finding. It only reads the catalog.
"""
