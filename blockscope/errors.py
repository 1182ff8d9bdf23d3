"""What a request can be refused with, in every layer; `blockscope.api.errors` turns each into an
HTTP answer."""

class InvalidParameter(ValueError):
    """A request parameter (or combination) that the service refuses; `param` names it."""

    def __init__(self, param: str, message: str, value=None):
        super().__init__(f"{param}: {message}")
        self.param, self.message, self.value = param, message, value


class NotFound(LookupError):
    """An unknown block kind, guideline or network (a 404); the message names what exists."""


class Busy(RuntimeError):
    """The measurement queue is full; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class MeasurementFailed(RuntimeError):
    """A job failed inside the measuring process (a fault of the server, not of the request): a 500."""


class MeasurerUnavailable(RuntimeError):
    """The measuring process is not answering (it crashed and is being restarted): a 503."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Cancelled(Exception):
    """Raised inside a job when nobody is waiting for its result any more."""
