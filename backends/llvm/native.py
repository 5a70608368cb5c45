"""The native side's vocabulary: LLVM types of the DSL's values, conversions between them,
and `Module`, the module being built with the addresses it is compiled against.

Every value is held at its type's width (`bool` i1, `u32`/`i32`/`cpu` i32, the rest i64);
`cpu` is the kernel's `s32`, so it widens with its sign. State is reached through the
`Storage` buffers' addresses and the machine through `HOST_CALLS`, function pointers to
ctypes callbacks; both are compiled in as constants.
"""

from __future__ import annotations

from llvmlite import ir as ll

from schedlang import ir
from schedlang.backends import semantics as sem
from schedlang.backends.llvm.memory import Storage
from schedlang.types import SIGNED, Type

I1, I8, I32, I64 = ll.IntType(1), ll.IntType(8), ll.IntType(32), ll.IntType(64)
PTR = ll.PointerType()
PICK = ll.LiteralStructType([I32, I1])
VOID = ll.VoidType()

# The calls into the machine: name -> (result, arguments), in the kinds "i64", "i32",
# "ptr" and "void" (policy.py maps the same kinds to ctypes). Bools cross as i32.
HOST_CALLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "now": ("i64", ()),
    "default_cpu": ("i32", ("ptr", "i32", "i64", "ptr")),  # task, prev, flags, &idle
    "insert": ("i32", ("ptr", "i64", "i64", "i64", "i32", "i64")),  # ..., vtime, has_vtime, flags
    "move_to_local": ("i32", ("i64", "i32")),  # dsq, the dispatching cpu
    "queued": ("i64", ("i64",)),
    "kick": ("void", ("i32", "i64")),  # cpu, SCX_KICK_* flags
    "cpu_allowed": ("i32", ("ptr", "i32")),
    "create_dsq": ("void", ("i64", "i32")),  # dsq, vtime-ordered
}
KIND = {"i64": I64, "i32": I32, "ptr": PTR, "void": VOID}

KICK_IDLE, KICK_PREEMPT = 1, 2  # the kernel's SCX_KICK_* flags
KICK_FLAGS = {None: 0, "idle": KICK_IDLE, "preempt": KICK_PREEMPT}
SIGNED_LIKE = SIGNED | {Type.CPU, Type.INT}


def lltype(t: Type) -> ll.Type:
    if t is Type.BOOL:
        return I1
    if t in (Type.U32, Type.I32, Type.CPU):
        return I32
    if t is Type.PICK:
        return PICK
    if t is Type.TASK:
        return PTR
    return I64  # u64, i64, duration, time, integer literals


def bits(t: Type) -> int:
    return lltype(t).width


def native_arg(t: Type) -> ll.Type:
    """A callback argument as the machine passes it (bools as i32)."""
    return I32 if t is Type.BOOL else lltype(t)


def convert(b: ll.IRBuilder, v: ll.Value, have: Type, want: Type) -> ll.Value:
    """A machine conversion (`as`, and the implicit widenings): narrowing keeps the low
    bits, widening extends by the source's signedness, a bool becomes 0 or 1."""
    src, dst = lltype(have), lltype(want)
    if src == dst or want in (Type.PICK, Type.TASK):
        return v
    if dst is I1:  # a bool read back from its slot (`as` never makes a bool)
        return b.icmp_unsigned("!=", v, ll.Constant(src, 0))
    if src.width > dst.width:
        return b.trunc(v, dst)
    return b.sext(v, dst) if have in SIGNED_LIKE else b.zext(v, dst)


def to_slot(b: ll.IRBuilder, v: ll.Value, t: Type) -> ll.Value:
    """A value widened to its 8-byte slot (signed types sign-extend)."""
    return convert(b, v, t, Type.I64) if v.type != I64 else v


def from_slot(b: ll.IRBuilder, v: ll.Value, t: Type) -> ll.Value:
    return convert(b, v, Type.U64, t)


def signed(t: Type) -> bool:
    return t in SIGNED_LIKE


class Module:
    """One policy's LLVM module, with the memory and host calls its code is built against."""

    def __init__(
        self, program: ir.Program, storage: Storage, host: dict[str, int], timeout_ms: int
    ) -> None:
        self.program = program
        self.storage = storage
        self.module = ll.Module(name=program.name)
        self.host_addr = host
        self.slice_max_ns = sem.slice_max_ns(timeout_ms)
        self.helpers: dict[str, ll.Function] = {}  # built on first use (guards.py)

    def internal(self, name: str, ret: ll.Type, args: list[ll.Type]) -> ll.Function:
        """A function only the module calls: LLVM inlines it into each caller."""
        fn = ll.Function(self.module, ll.FunctionType(ret, args), name)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        return fn

    @staticmethod
    def const_ptr(b: ll.IRBuilder, address: int) -> ll.Value:
        return b.inttoptr(ll.Constant(I64, address), PTR)

    def slot_ptr(self, b: ll.IRBuilder, buffer: object, index: ll.Value | int) -> ll.Value:
        base = self.const_ptr(b, Storage.address(buffer))  # type: ignore[arg-type]
        idx = index if isinstance(index, ll.Value) else ll.Constant(I64, index)
        return b.gep(base, [idx], source_etype=I64)

    def stat_add(self, b: ll.IRBuilder, name: str, amount: ll.Value | int = 1, at: int = 0) -> None:
        ptr = self.slot_ptr(b, self.storage.stats, self.storage.stat_slot[name] + at)
        if not isinstance(amount, ll.Value):
            amount = ll.Constant(I64, amount)
        b.store(b.add(b.load(ptr, typ=I64), amount), ptr)

    def host(self, b: ll.IRBuilder, name: str, *args: ll.Value) -> ll.Value:
        ret, kinds = HOST_CALLS[name]
        fty = ll.FunctionType(KIND[ret], [KIND[k] for k in kinds])
        fp = b.inttoptr(ll.Constant(I64, self.host_addr[name]), fty.as_pointer())
        return b.call(fp, list(args))

    def nr_cpus(self, b: ll.IRBuilder) -> ll.Value:
        return b.trunc(
            b.load(self.const_ptr(b, Storage.address(self.storage.nr_cpus)), typ=I64), I32
        )
