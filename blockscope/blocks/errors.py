class BlockConfigError(ValueError):
    """A block cannot be built from these arguments; `param` names the argument at fault."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def require(condition: bool, param: str, message: str) -> None:
    if not condition:
        raise BlockConfigError(param, message)


def require_divides(groups: int, channels: int, groups_name: str, channels_name: str) -> None:
    require(
        channels % groups == 0,
        groups_name,
        f"{groups_name}={groups} must divide {channels_name}={channels}",
    )
