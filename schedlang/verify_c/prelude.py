"""Definitions the preprocessor sees before the file, so pycparser can read the result.

Why: BPF C leans on compiler extensions and on macros from libbpf/scx headers. The gate
does not need their exact expansion, only a plain-C expansion with the same calls and
loops. A file's own `#define` of the same name wins (it comes later), so these only fill in
for macros the file uses without defining. Attributes, `asm` and `typeof` are not handled
here but after preprocessing (preprocess.py), where section names can still be read.
"""

from __future__ import annotations

PRELUDE = r"""
#define __extension__
#define __restrict
#define __restrict__
#define __inline inline
#define __inline__ inline
#define __volatile__ volatile
#define __signed__ signed
#define __const const
#define __always_inline inline
#define __noinline
#define __hidden
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))
#define __weak __attribute__((weak))
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) val *name
#define __array(name, val) val *name[]
#define __builtin_offsetof(type, member) offsetof(type, member)
#define bpf_ksym_exists(sym) (!!(sym))
#define bpf_printk(fmt, ...) bpf_trace_printk(fmt, sizeof(fmt), ##__VA_ARGS__)
#define bpf_for(i, start, end) for ((i) = (start); (i) < (end); (i)++)
#define bpf_repeat(n) for (int ___gate_repeat = 0; ___gate_repeat < (n); ___gate_repeat++)
#define scx_bpf_error(fmt, ...) ((void)(0, ##__VA_ARGS__), scx_bpf_error_bstr(fmt, 0, 0))
#define scx_bpf_exit(code, fmt, ...) ((void)(0, ##__VA_ARGS__), scx_bpf_exit_bstr(code, fmt, 0, 0))
#define scx_bpf_dump(fmt, ...) ((void)(0, ##__VA_ARGS__), scx_bpf_dump_bstr(fmt, 0, 0))
#define BPF_STRUCT_OPS(name, ...) __attribute__((section("struct_ops/" #name))) name(__VA_ARGS__)
#define BPF_STRUCT_OPS_SLEEPABLE(name, ...) __attribute__((section("struct_ops.s/" #name))) name(__VA_ARGS__)
"""
