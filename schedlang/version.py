"""The version of schedlang, written here and nowhere else.

The build reads it (pyproject's `dynamic = ["version"]`, setuptools' `attr:`, which reads the
literal without importing the package); the package re-exports it as `schedlang.__version__`;
the backend stamps it into the generated C's header and the manifest's `toolchain`. It lives in
its own module, not in `schedlang/__init__.py`, so the backend can read it without importing
the public API that sits above it (docs/internals.md, "Layers").
"""

__version__ = "0.1.0"
