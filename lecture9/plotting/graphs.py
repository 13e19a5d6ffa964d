"""Figure helpers for the graphs chapters (filled in by the chapter that introduces them)."""

__all__: list[str] = []
