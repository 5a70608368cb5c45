"""A checked policy as native code: `compile_for_sim` → a `sim_abi.SimPolicy`.

The module codegen.py builds goes through a short pass list (`_optimise`) and is compiled
in-process by MCJIT; each callback then is a C function called through ctypes. The machine is reached the
other way round: each host call is a ctypes callback into this object, which forwards it to
the `Host` of the current `call` with the current `SimTask`. An exception in such a callback
cannot unwind through native frames, so it is kept and raised when the native call returns.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Mapping
from typing import Any

from llvmlite import binding as llvm

from schedlang import ir
from schedlang.backends import overrides
from schedlang.backends import semantics as sem
from schedlang.backends.llvm.codegen import ModuleGen, callback_ops
from schedlang.backends.llvm.memory import WRITABLE, WRITABLE_OFFSET, Storage
from schedlang.backends.llvm.native import HOST_CALLS, KICK_IDLE, KICK_PREEMPT
from schedlang.backends.semantics import DEFAULT_TIMEOUT_MS
from schedlang.callbacks import CALLBACKS
from schedlang.sim_abi import Host, SimTask
from schedlang.types import Type

_CTYPE: dict[str, Any] = {
    "i64": ctypes.c_uint64,
    "i32": ctypes.c_int32,
    "ptr": ctypes.c_void_p,
    "void": None,
}
_ARG_CTYPE = {
    Type.TASK: ctypes.c_void_p,
    Type.CPU: ctypes.c_int32,
    Type.U64: ctypes.c_uint64,
    Type.BOOL: ctypes.c_int32,
}


@functools.cache
def _target() -> llvm.Target:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_default_triple()


def _target_machine() -> llvm.TargetMachine:
    """A new one per engine: an MCJIT engine takes ownership of its target machine and frees
    it with itself (a shared one crashed the second engine's disposal). Code generation at
    -O0 (fast instruction selection): the callbacks are short and their cost is the calls
    into the machine, while -O2 code generation took 3-5 times longer to compile."""
    return _target().create_target_machine(opt=0, jit=True)


def _optimise(module: llvm.ModuleRef, tm: llvm.TargetMachine) -> None:
    """A short pipeline instead of -O2's (which alone took 70-160 ms a policy): inline the
    guard helpers, locals from allocas into registers, fold, straighten branches."""
    builder = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=0))
    passes = llvm.create_new_module_pass_manager()
    passes.add_always_inliner_pass()
    passes.add_sroa_pass()
    passes.add_instruction_combine_pass()
    passes.add_simplify_cfg_pass()
    passes.run(module, builder)


# A task's comm as its record holds it; a machine has few distinct names, each seen often.
_comm_buffer = functools.lru_cache(maxsize=4096)(sem.comm_buffer)


class JitPolicy:
    """One compiled policy with its own memory (compile again for a fresh state)."""

    def __init__(
        self,
        checked: ir.CheckedProgram,
        params: dict[str, int],
        timeout_ms: int,
        host: Mapping[str, int] | None = None,
    ) -> None:
        program = checked.program
        self._program = program
        self._timeout_ms = timeout_ms
        self._storage = Storage(program, params)
        self._nr_cpus = self._storage.nr_cpus
        self._records: dict[int, tuple[ctypes.Structure, int]] = {}
        self._by_address: dict[int, SimTask] = {}
        self._host: Host | None = None
        self._error: BaseException | None = None
        # `host`: native functions to call instead of the Host (runtime/sim/native.py's
        # machine); the policy is then driven only through `function_address`.
        self.host_linked = host is not None
        self._trampolines = (
            {} if host is not None else {name: self._trampoline(name) for name in HOST_CALLS}
        )
        addresses = (
            dict(host)
            if host is not None
            else {
                name: ctypes.cast(t, ctypes.c_void_p).value or 0
                for name, t in self._trampolines.items()
            }
        )
        gen = ModuleGen(program, self._storage, addresses, timeout_ms)
        self.llvm_ir = str(gen.build())
        tm = _target_machine()
        module = llvm.parse_assembly(self.llvm_ir)
        module.verify()
        _optimise(module, tm)
        self._engine = llvm.create_mcjit_compiler(module, tm)
        self._engine.finalize_object()
        self._ops = callback_ops(program)
        # PYFUNCTYPE: the native code runs holding the GIL, so each host call it makes (a
        # ctypes callback) need not take the GIL back from another thread first.
        self._natives: dict[str, tuple[Callable[..., Any], bool]] = {}
        for op in self._ops:
            types = CALLBACKS[op].params
            restype = ctypes.c_int32 if op == "select_cpu" else None
            proto = ctypes.PYFUNCTYPE(restype, *(_ARG_CTYPE[t] for t in types))
            fn = proto(self._engine.get_function_address(f"on.{op}"))
            self._natives[op] = (fn, types[:1] == (Type.TASK,))

    # ------------------------------------------------------------------ SimPolicy
    @property
    def name(self) -> str:
        return self._program.name

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(self._ops)

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    def call(self, op: str, host: Host, *args: int | bool | SimTask) -> int | None:
        native = self._natives.get(op)
        if native is None:  # the machine asks `ops` first, as the kernel reads the ops table
            known = "an operation" if op in CALLBACKS else "not a sched_ext operation"
            raise ValueError(f"{self.name}: {op!r} is {known} this policy does not implement")
        if self.host_linked:
            raise ValueError(f"{self.name}: compiled for the native machine, not for a Host")
        fn, takes_task = native
        nr_cpus = host.nr_cpus
        self._nr_cpus.value = nr_cpus
        self._host = host
        if takes_task:  # a task comes first, whenever an operation has one
            task = args[0]
            assert isinstance(task, SimTask)
            rec, address = self._records.get(task.pid) or self._new_record(task.pid)
            self._by_address[address] = task
            Storage.sync_in(rec, task, nr_cpus, _comm_buffer(task.comm))
            result = fn(address, *args[1:])
            task.vtime, task.slice = WRITABLE.unpack_from(rec, WRITABLE_OFFSET)
        else:
            result = fn(*args)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return result if op == "select_cpu" else None

    def task_exit(self, task: SimTask) -> None:
        found = self._records.pop(task.pid, None)
        if found is not None:
            self._by_address.pop(found[1], None)

    def stats(self) -> dict[str, int | list[int]]:
        return self._storage.read_stats()

    def snapshot(self) -> dict[str, dict[str, object]]:
        """The policy's vars, arrays and maps now (`Storage.snapshot`)."""
        return self._storage.snapshot()

    # ------------------------------------------------------------------ a native machine's view
    def function_address(self, op: str) -> int:
        """The native `on.OP` (arguments as in `call`, a task as its record's address)."""
        return int(self._engine.get_function_address(f"on.{op}"))

    def task_record(self, task: SimTask, nr_cpus: int) -> int:
        """A fresh record for `task` (its task vars at their initial values), filled from it;
        its address. A native machine keeps the task's only copy there."""
        self._nr_cpus.value = nr_cpus
        rec, address = self._new_record(task.pid)
        Storage.sync_in(rec, task, nr_cpus, _comm_buffer(task.comm))
        return address

    def read_task(self, task: SimTask) -> None:
        """Copy `vtime` and `slice` back from the task's record."""
        rec = self._records[task.pid][0]
        task.vtime, task.slice = WRITABLE.unpack_from(rec, WRITABLE_OFFSET)

    # ------------------------------------------------------------------ the native side's view
    def _new_record(self, pid: int) -> tuple[ctypes.Structure, int]:
        """A record for a task seen for the first time (its task vars at their initial
        values), and its address."""
        rec = self._storage.new_record()
        found = self._records[pid] = (rec, ctypes.addressof(rec))
        return found

    def _trampoline(self, name: str) -> Any:
        """The ctypes callback for host call `name`. A call that takes a task hands the Host
        the SimTask with the policy's writes so far, and takes back whatever the Host changed
        in it (an insert sets the task's slice, and its vtime for a vtime insert), as the
        interpreter, which reads the SimTask itself, would see it."""
        ret, kinds = HOST_CALLS[name]
        proto = ctypes.CFUNCTYPE(_CTYPE[ret], *(_CTYPE[k] for k in kinds))
        impl = getattr(self, f"_host_{name}")
        takes_task = kinds[:1] == ("ptr",)
        zero = None if ret == "void" else 0

        def call(*args: Any) -> Any:
            try:
                return impl(*args)
            except BaseException as exc:  # raised again when the native call returns
                if self._error is None:
                    self._error = exc
                return zero

        def call_with_task(address: int, *args: Any) -> Any:
            try:
                task = self._by_address[address]
                rec = self._records[task.pid][0]
                task.vtime, task.slice = WRITABLE.unpack_from(rec, WRITABLE_OFFSET)
                result = impl(task, *args)
                Storage.sync_in(rec, task, self._nr_cpus.value, _comm_buffer(task.comm))
                return result
            except BaseException as exc:
                if self._error is None:
                    self._error = exc
                return zero

        return proto(call_with_task if takes_task else call)

    def _host_now(self) -> int:
        assert self._host is not None
        return self._host.now()

    def _host_default_cpu(self, task: SimTask, prev: int, flags: int, idle: int) -> int:
        assert self._host is not None
        cpu, was_idle = self._host.default_cpu(task, prev, flags)
        ctypes.c_uint8.from_address(idle).value = bool(was_idle)
        return cpu

    def _host_insert(
        self, task: SimTask, dsq: int, slice_ns: int, vtime: int, has_vtime: int, flags: int
    ) -> int:
        assert self._host is not None
        done = self._host.insert(task, dsq, slice_ns, vtime if has_vtime else None, flags)
        return int(bool(done))

    def _host_move_to_local(self, dsq: int, cpu: int) -> int:
        assert self._host is not None
        return int(bool(self._host.move_to_local(dsq, cpu)))

    def _host_queued(self, dsq: int) -> int:
        assert self._host is not None
        return max(0, self._host.queued(dsq))

    def _host_kick(self, cpu: int, flags: int) -> None:
        assert self._host is not None
        mode = "preempt" if flags & KICK_PREEMPT else "idle" if flags & KICK_IDLE else None
        self._host.kick(cpu, mode)

    def _host_cpu_allowed(self, task: SimTask, cpu: int) -> int:
        assert self._host is not None
        return int(bool(self._host.cpu_allowed(task, cpu)))

    def _host_create_dsq(self, dsq: int, vtime_ordered: int) -> None:
        assert self._host is not None
        self._host.create_dsq(dsq, bool(vtime_ordered))


def compile_for_sim(
    checked: ir.CheckedProgram,
    params: Mapping[str, int | str] | None = None,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    host: Mapping[str, int] | None = None,
) -> JitPolicy:
    """The policy as native code for the simulator. `params` override the tunables as
    `--param` does (SchedlangError, with the diagnostics, for a bad one); `timeout_ms` is the
    watchdog timeout the slices are clamped against; `host` maps each of `HOST_CALLS` to a
    native function's address to call instead of a `Host` (a policy compiled so runs only on
    the native machine, runtime/sim/native.py)."""
    if not 0 < timeout_ms <= 30000:
        raise ValueError(f"timeout_ms must be in 1..30000 (the kernel's limit), not {timeout_ms}")
    values = overrides.resolve_for_sim(checked.program, params)
    return JitPolicy(checked, values, timeout_ms, host)
