"""What every HTTP handler shares: problem documents, the OpenAPI document, parameters,
the services and the caller handlers receive, health."""
