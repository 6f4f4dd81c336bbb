"""The one small exception hierarchy of `lib`.

Errors the user must see as part of normal operation (a feed that failed) are values, such as
`FetchResult.error`; these exceptions are for input the program cannot go on with.
"""

from __future__ import annotations


class NewsError(Exception):
    """Base of every error raised by `lib`."""


class ConfigError(NewsError):
    """The topics file or an environment variable is invalid.

    The message names the file, the line when known, and the problem.
    """

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {problem}")


class FeedError(NewsError):
    """A feed could not be read; carries the feed's URL (or path)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"{url}: {problem}")


class FetchError(FeedError):
    """The feed could not be downloaded."""


class ParseError(FeedError):
    """The downloaded bytes are not a feed."""


class QuerySyntaxError(NewsError):
    """A topic query or keyword search is not valid syntax."""

    def __init__(self, query: str, problem: str, position: int | None = None) -> None:
        self.query = query
        self.problem = problem
        self.position = position
        super().__init__(problem)


class StoreError(NewsError):
    """The headline store cannot be opened, read or written: names the file, the problem and
    the next step, in one line for the page and the command line."""

    def __init__(self, path: str, problem: str, step: str) -> None:
        self.path = path
        self.problem = problem
        self.step = step
        super().__init__(f"The headline store {path} {problem}: {step}.")

    def __reduce__(self) -> tuple[type[StoreError], tuple[str, str, str]]:
        # Kept in Streamlit's cache (pickled) like a refresh report; see ui/data.py.
        return (StoreError, (self.path, self.problem, self.step))
