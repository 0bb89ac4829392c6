"""Webhooks (docs/change-feed.md): admins register URLs; record changes and review
decisions are POSTed to them, signed, retried with backoff and parked after repeated
failure. Events come from the change feed, so none is lost across restarts."""
