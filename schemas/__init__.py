"""msgspec types: the sync wire format (and, later, the record schemas)."""
