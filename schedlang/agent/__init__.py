"""The agent: turns a goal into a better scheduler (observe, plan, tune, generate, verify,
measure, keep, remember; docs/agent.md). It sits on top of the public API (`schedlang`) and
never reaches into a stage's internals, so every stage it drives is the one users run."""
