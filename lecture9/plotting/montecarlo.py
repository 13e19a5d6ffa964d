"""Figure helpers for the montecarlo chapters (filled in by the chapter that introduces them)."""

__all__: list[str] = []
