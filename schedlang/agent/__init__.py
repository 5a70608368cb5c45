"""The agent: turns a goal into a better scheduler (observe, plan, tune, generate, verify,
measure, keep, remember; docs/agent.md). It sits on top of the public API (`schedlang`) and
never reaches into a stage's internals, so every stage it drives is the one users run.

One stage per module, each with a typed input and output: `profile` (what a workload does),
`goal` (what is wanted), `retrieve` (which policies to start from), `tune` (their params in
the simulator), `generate` (a model's policies, checked; with `prompts`, `conversation`
and `cost`), `naive` (the prompt-only C baseline), `verify` (checker and compiler), `keep` (the significance verdict on a
measured candidate), `history` (the local store of what was tried and what won), `loop`
(the stages wired under a budget).
"""
