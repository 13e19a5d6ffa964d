"""Figure helpers for the vae chapters (filled in by the chapter that introduces them)."""

__all__: list[str] = []
