"""The kfunc table: renames, flavours, versions, and lookups the gate and the backend share."""

from __future__ import annotations

from schedlang import kernel_api


def test_renames_of_613() -> None:
    pairs = {
        "scx_bpf_dispatch": "scx_bpf_dsq_insert",
        "scx_bpf_dispatch_vtime": "scx_bpf_dsq_insert_vtime",
        "scx_bpf_consume": "scx_bpf_dsq_move_to_local",
        "scx_bpf_dispatch_from_dsq": "scx_bpf_dsq_move",
    }
    for old, new in pairs.items():
        k = kernel_api.resolve_kfunc(old)
        assert k is not None and k.name == new
        assert kernel_api.name_at(k, (6, 12)) == old
        assert kernel_api.name_at(k, (6, 13)) == new
        assert kernel_api.name_at(k, (7, 2)) == new


def test_versions() -> None:
    now = kernel_api.kfunc("scx_bpf_now")
    assert now is not None and now.since == (6, 14)
    assert (
        kernel_api.name_at(now, (6, 13)) is None
        and kernel_api.name_at(now, (6, 14)) == "scx_bpf_now"
    )
    v2 = kernel_api.kfunc("scx_bpf_dsq_move_to_local___v2")
    assert v2 is not None and v2.since == (7, 1) and "enq_flags" in v2.prototype
    insert_v2 = kernel_api.kfunc("scx_bpf_dsq_insert___v2")
    assert insert_v2 is not None and insert_v2.prototype.startswith("bool ")
    assert kernel_api.kfunc("scx_bpf_dsq_insert").prototype.startswith("void ")  # type: ignore[union-attr]
    assert len(kernel_api.available((6, 12))) < len(kernel_api.available((7, 2)))


def test_flavour_suffixes_follow_libbpf() -> None:
    assert kernel_api.kernel_name("scx_bpf_dsq_insert___v2___compat") == "scx_bpf_dsq_insert___v2"
    assert kernel_api.kernel_name("scx_bpf_consume___old") == "scx_bpf_consume"
    assert kernel_api.kernel_name("__scx_bpf_dsq_insert_vtime") == "__scx_bpf_dsq_insert_vtime"
    assert (
        kernel_api.resolve_kfunc("scx_bpf_dsq_move_to_local___v1").name
        == "scx_bpf_dsq_move_to_local"
    )  # type: ignore[union-attr]
    v2 = kernel_api.kfunc("scx_bpf_dsq_insert___v2")
    assert v2 is not None and kernel_api.local_name(v2) == "scx_bpf_dsq_insert___v2___compat"
    plain = kernel_api.kfunc("scx_bpf_kick_cpu")
    assert plain is not None and kernel_api.local_name(plain) == "scx_bpf_kick_cpu"


def test_kinds_and_declarations() -> None:
    assert kernel_api.kind_of("scx_bpf_select_cpu_dfl") is kernel_api.Kind.KFUNC
    assert kernel_api.kind_of("bpf_task_storage_get") is kernel_api.Kind.HELPER
    assert kernel_api.kind_of("bpf_cpumask_test_cpu") is kernel_api.Kind.KFUNC
    assert kernel_api.kind_of("__sync_fetch_and_add") is kernel_api.Kind.BUILTIN
    assert kernel_api.kind_of("bpf_probe_read") is None  # legacy, not allowed
    assert kernel_api.kind_of("bpf_loop") is None  # a loop the gate cannot bound
    decl = kernel_api.kfunc("scx_bpf_create_dsq").declaration()  # type: ignore[union-attr]
    assert decl == (
        'extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __attribute__((section(".ksyms"))) '
        "__attribute__((weak));"
    )


def test_table_is_consistent() -> None:
    names = [k.name for k in kernel_api.KFUNCS]
    assert len(names) == len(set(names))
    old = [r.old_name for k in kernel_api.KFUNCS for r in k.renames]
    assert not set(old) & set(names)
    ids = [h.helper_id for h in kernel_api.HELPERS]
    assert len(ids) == len(set(ids))
    assert kernel_api.helper("bpf_task_storage_get").helper_id == 156  # type: ignore[union-attr]
    for k in kernel_api.KFUNCS:
        assert "{name}(" in k.prototype and k.since >= (6, 12)
        assert all(r.renamed_in > (6, 12) or r.renamed_in == k.since for r in k.renames)


def test_declarations_compile_with_clang(tmp_path) -> None:
    """Every prototype in the table is valid C when declared the way generated C does."""
    import shutil
    import subprocess

    import pytest

    clang = shutil.which("clang-19") or shutil.which("clang")
    if not clang:
        pytest.skip("clang-19 is not installed (apt-get install clang-19)")
    lines = [
        "typedef unsigned int u32; typedef int s32; typedef unsigned long long u64;",
        "typedef long long s64; typedef _Bool bool; typedef unsigned long size_t;",
    ]
    lines += [k.declaration(kernel_api.local_name(k)) for k in kernel_api.KFUNCS]
    lines += [
        f"static {h.prototype.replace('{name}', '(*' + h.name + ')')} = (void *){h.helper_id};"
        for h in kernel_api.HELPERS
    ]
    src = tmp_path / "decls.c"
    src.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [clang, "-target", "bpf", "-O2", "-c", str(src), "-o", str(tmp_path / "d.o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
