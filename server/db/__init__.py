"""SQL storage: engines (`engine`), the schema (`tables`), migrations (`migrate`) and the
update log over SQL (`update_store`)."""
