"""The simulated sched_ext machine: a checked policy against a workload in milliseconds.

`machine.Machine` runs an rt-app `Workload` (`rtapp.py`; the models of the VM's workloads
are in `workloads/`) on N simulated CPUs under any `sim_abi.SimPolicy` (the interpreter's
or the JIT's), `metrics.summarize` turns a run into figures, and `compare.compare` sets a
policy against `baseline.DefaultPolicy`, the model of the kernel's default scheduler, as the
VM compares against the real one.
"""
