"""The model catalog: the model schema, the in-instance cache and its shrink guard."""
