"""Coordinators' decisions (approve, send back, accept, escalate, close) and conflict
resolution, written by the server into the record's document so tablets pull them."""
