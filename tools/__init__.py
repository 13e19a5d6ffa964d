"""Scripts of the book's build (``python tools/build_pdf.py``); a package so the tests can import them."""
