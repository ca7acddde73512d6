"""Errors a user can cause travel as (path, message) pairs.

A `Problem` is both: it reads as the text "path: message" (what commands print and tests compare)
and carries `.path` and `.message` for the API's {"path", "message"} list and the admin, which puts
each message on the field its path names — nobody re-parses the text."""

import re


class Problem(str):
    """One problem with a document, a rule or an input row: where (`path`) and what (`message`)."""

    path: str
    message: str

    def __new__(cls, path: str, message: str):
        problem = super().__new__(cls, f"{path}: {message}")
        problem.path, problem.message = path, message
        return problem

    def __reduce__(self):  # copies and pickles keep both parts
        return (Problem, (self.path, self.message))

    def under(self, prefix: str) -> str:
        """The path relative to `prefix` ("scorecards[0]." → "measures[1].metric")."""
        return self.path.removeprefix(prefix)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_steps(path: str) -> list[str | int]:
    """A path as its steps: "scorecards[0].measures[1].metric" → ["scorecards", 0, "measures", 1, "metric"]."""
    return [int(index) if index else key for key, index in _STEP.findall(path)]
