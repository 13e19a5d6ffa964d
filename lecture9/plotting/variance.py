"""Figure helpers for the variance chapters (filled in by the chapter that introduces them)."""

__all__: list[str] = []
