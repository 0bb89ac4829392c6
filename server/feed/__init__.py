"""The change feed (docs/change-feed.md): documents changed after a cursor, in `head_seq`
order, never skipping one. `server/feed/api.py` serves it; webhooks follow it too."""
