"""Random well-typed programs: every safety rule runs to completion, never raises.

Random text rarely gets past the parser, so this builds programs from a small vocabulary
that typechecks (locals, guards, loops, inserts, returns, fn calls, early returns) and runs
the whole checker. What it asserts: no exception, every diagnostic has a known code and a
line inside the file, and a program without errors comes back sealed with its facts.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlang import codes
from schedlang.checker import check_source
from schedlang.source import SourceFile

HEADER = """scheduler fuzz "generated" {
    param s: duration = 5ms in 0ns..10ms
    param k: u64 = 2 in 0..8
    const N: u32 = 8
    queue f: fifo
    queue v: vtime
    var g: u64 = 0
    array a: [u64; 8]
    array b: [duration; cpus]
    task var r: duration = 0ns
"""


class _Gen:
    """Draws statements; keeps names unique so every program typechecks."""

    def __init__(self, draw: st.DrawFn, callback: str, safe: bool) -> None:
        self.draw = draw
        self.safe = safe  # only constructs the rules accept, so some programs come out clean
        self.callback = callback
        self.count = 0
        self.u64: list[str] = ["g", "k"]

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def choices(self, safe: list[str], risky: list[str]) -> list[str]:
        return safe if self.safe else safe + risky

    def pick(self, safe: list[str], risky: list[str]) -> str:
        return self.draw(st.sampled_from(self.choices(safe, risky)))

    def expr(self, depth: int = 0) -> str:
        atoms = [*self.u64, "1", "0", "a[3]", "N as u64"]
        if depth > 2:
            return self.draw(st.sampled_from(atoms))
        kind = self.draw(st.integers(0, 8))
        if kind == 0:
            i = self.pick(["g % 8", "7"], [*self.u64, "9"])
            return f"a[{i}]"
        if kind == 1:
            op = self.pick(["+", "-", "*"], ["/", "%"])
            left = self.draw(st.sampled_from(self.u64))  # two literals would fold (or not, by 0)
            return f"{left} {op} {self.expr(depth + 1)}"
        if kind == 2:
            return f"{self.draw(st.sampled_from(['min', 'max']))}({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        if kind == 3 and self.callback != "h":
            return f"h({self.expr(depth + 1)})"
        return self.draw(st.sampled_from(atoms))

    def cond(self) -> str:
        op = self.draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        base = f"{self.expr(1)} {op} {self.expr(1)}"
        join = self.draw(st.sampled_from(["", " and ", " or "]))
        return f"{base}{join}{self.cond()}" if join and self.draw(st.booleans()) else base

    def block(self, depth: int) -> list[str]:
        scope = list(self.u64)  # a block's `let`s end with it
        out = self._stmts(depth)
        self.u64 = scope
        return out

    def _stmts(self, depth: int) -> list[str]:
        out: list[str] = []
        for _ in range(self.draw(st.integers(0, 3 if depth < 3 else 1))):
            out += self.stmt(depth)
        if self.draw(st.integers(0, 5)) == 0:
            out.append(self.ret())
        return out

    def ret(self) -> str:
        return {"select_cpu": "return prev", "h": "return x"}.get(self.callback, "return")

    def stmt(self, depth: int) -> list[str]:
        kind = self.draw(st.integers(0, 9))
        if kind == 0:
            n = self.name("l")
            line = f"let {n} = {self.expr()}"
            self.u64.append(n)
            return [line]
        if kind == 1 and depth < 3:
            then = self.block(depth + 1)
            if self.draw(st.booleans()):
                return [f"if {self.cond()} {{", *then, "} else {", *self.block(depth + 1), "}"]
            return [f"if {self.cond()} {{", *then, "}"]
        if kind == 2 and depth < 3:
            var = self.name("i")
            loop = self.draw(
                st.sampled_from(
                    self.choices([f"for {var} in 0..N", "for c in cpus"], [f"for {var} in 0..k"])
                )
            )
            return [f"{loop} {{", *self.block(depth + 1), "}"]
        if kind == 3 and self.callback in ("enqueue", "select_cpu"):
            q = self.pick(["f", "global"], ["v", "local"])
            extra = self.draw(
                st.sampled_from(
                    ["", " slice s", " slice 1ms", " vtime t.vtime", " slice s vtime t.r"]
                )
            )
            return [f"insert t into {q}{extra}"]
        if kind == 4 and self.callback == "dispatch":
            return [f"move_to_local({self.draw(st.sampled_from(['f', 'v']))})"]
        if kind == 5 and self.callback != "h":
            divisor = f"max({self.expr(1)}, 1)" if self.safe else self.expr(1)
            return [f"t.r = t.r / ({divisor})"] if self.callback != "dispatch" else ["g = g + 1"]
        if kind == 6:
            return [f"a[{self.pick(['g % 8', '3'], ['g'])}] = {self.expr()}"]
        if kind == 7 and self.callback in ("enqueue", "stopping", "select_cpu"):
            n = self.name("c")
            value = self.pick(
                ["t.cpu", f"(({self.expr(1)}) % 64) as cpu"], [f"({self.expr(1)}) as cpu"]
            )
            return [f"let {n}: cpu = {value}", f"b[{n}] += 1ms"]
        return [f"g = {self.expr()}"]


@st.composite
def programs(draw: st.DrawFn) -> str:
    lines = [HEADER]
    safe = draw(st.booleans())
    fn = _Gen(draw, "h", safe)
    fn.u64.append("x")
    fn_body = fn.block(1)
    if not fn_body or not fn_body[-1].startswith("return"):
        fn_body.append("return x")
    lines += ["    fn h(x: u64) -> u64 {", *fn_body, "}"]
    for sig in (
        "on enqueue(t, flags)",
        "on select_cpu(t, prev, flags) -> cpu",
        "on dispatch(c)",
        "on stopping(t, runnable)",
    ):
        op = sig.split()[1].split("(")[0]
        gen = _Gen(draw, op, safe)
        body = gen.block(0)
        ends = bool(body) and body[-1].startswith("return")
        if op == "select_cpu" and not ends:
            body.append("return prev")
        if op == "enqueue" and not ends and draw(st.booleans()):
            body.append("insert t into global")
        if op == "dispatch" and draw(st.booleans()):
            body.insert(0, "if not move_to_local(f) {\nmove_to_local(v)\n}")
        lines += [f"    {sig} {{", *body, "}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(programs())
def test_rules_never_raise_on_typed_programs(text: str) -> None:
    source = SourceFile("fuzz.sched", text)
    program, diags = check_source(source)
    type_codes = {d.code for d in diags} & {
        codes.SYNTAX,
        codes.TYPE_MISMATCH,
        codes.BAD_OPERAND,
        codes.UNKNOWN_NAME,
        codes.NEEDS_UNIT,
    }
    assert not type_codes, "\n".join(f"{d.line}: {d.code} {d.message}" for d in diags) + "\n" + text
    n_lines = text.count("\n") + 1
    for d in diags:
        assert d.code in codes.SUMMARY
        assert 1 <= d.line <= n_lines
    if not diags.has_errors:
        assert program is not None
        instructions = program.facts["instructions"]
        assert isinstance(instructions, dict) and set(instructions) >= {"enqueue", "dispatch"}


def test_long_else_if_chains_do_not_overflow_the_stack() -> None:
    """An `else if` chain nests in the IR without nesting braces; the parser does not count
    a link as depth, so every rule must walk any length of chain without recursing on it."""

    def program(links: int) -> str:
        chain = " else ".join(
            f"if t.pid == {i} {{\n insert t into global\n }}" for i in range(links)
        )
        return f'scheduler p "d" {{\n on enqueue(t, flags) {{\n{chain} else {{\n insert t into global\n }}\n }}\n}}\n'

    checked, diags = check_source(SourceFile("chain.sched", program(70)))
    assert [d.code for d in diags] == [] and checked is not None
    assert checked.facts["paths"] == {"enqueue": 71}
    checked, diags = check_source(SourceFile("chain.sched", program(450)))
    assert [d.code for d in diags] == [] and checked is not None
    assert checked.facts["paths"] == {"enqueue": 451}
