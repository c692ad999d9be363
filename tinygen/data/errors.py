"""DataError: the one exception type of the data floor.

Place in the tower: data/ (above optim, below vae/gan). Imports nothing.
Every loader raises DataError -- a ValueError -- whose message names the file or dataset and
says what was wrong with it, so the CLI can catch one type and print the message as it is.
"""


class DataError(ValueError):
    """A dataset, file or array that cannot be used as given (the message says why)."""
