"""Record documents as coordinators and jobs see them: the SQL projection, the read API,
search and exports."""
