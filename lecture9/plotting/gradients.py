"""Figure helpers for the gradients chapters (filled in by the chapter that introduces them)."""

__all__: list[str] = []
