"""An interface file whose import fails (a missing model, a typo...)."""

raise RuntimeError("weights for the probe are missing")


@expose
def never() -> str:
    return "unreachable"
