"""The bottom layer: helpers every app may use (bulk COPY, paginators, CLI options, API errors).

It imports no app of the project."""
