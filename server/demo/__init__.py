"""`doorstep demo`: a street's worth of realistic field work, synced by real tablets.

`org` holds the organisation tree, `people` and `households` make residents, `visits`
and `cases` (with `case_fields`) what grid members and mediators record, `field_day`
works it all on `tablet.Tablet`s, `build` runs it against the app over HTTP, `summary`
prints where to look.
"""
