"""A host C program over the generated C's own helpers, for tests that run lowered expressions.

The helpers (`sl_sdiv`, `sl_sat_sub`, ...) live in schedlang.bpf.h, so the program includes
the header exactly as a policy's file does; the rest of the header (kernel types, kfunc
declarations, maps) compiles for the host and goes unused.
"""

from __future__ import annotations

from pathlib import Path

from schedlang.backends.bpf import render
from schedlang.version import __version__


def host_program(directory: Path, main_lines: list[str]) -> str:
    """C text of `int main(void)` running `main_lines`, with schedlang.bpf.h written into
    `directory` (where the program must be compiled) and included."""
    (directory / render.HEADER).write_text(render.header(__version__))
    return (
        "#include <stdio.h>\n"
        "#define SL_KERNEL_API 0\n#define MAX_CPUS 64\n#define SL_TIMEOUT_MS 5000\n"
        f'#define SL_NR_QUEUES 0\n#include "{render.HEADER}"\n'
        "\nint main(void)\n{\n" + "\n".join(main_lines) + "\n\treturn 0;\n}\n"
    )
