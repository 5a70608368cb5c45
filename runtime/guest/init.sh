#!/bin/sh
# PID 1 of the schedlang guest (runtime/sandbox.py boots it with init=<this file>).
#
# The guest's root is the host's root, shared read-only over virtiofs, so this script, the job
# and every host binary are simply there. It mounts what a sched_ext job needs, runs the job
# script named by the kernel command line (schedlang_job=PATH; the kernel hands unknown
# key=value words to init as environment variables) with its output on the second serial port
# (ttyS1; the kernel log stays on ttyS0), frames that output with markers carrying the exit
# code, and powers the machine off. It must never exit: PID 1 exiting panics the kernel.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t devpts devpts /dev/pts
# /tmp stays the host's (read-only), so host paths of artifacts work unchanged; scratch space
# is a tmpfs at /run (the job script points TMPDIR and HOME there).
mount -t tmpfs tmpfs /run
mkdir -p /run/tmp /run/home
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# /mnt on the read-only root cannot take a new directory, so a tmpfs goes under the share.
mount -t tmpfs tmpfs /mnt
mkdir -p /mnt/out
mount -t virtiofs out /mnt/out

# Test hook (sandbox.CRASH_HOOK): crash the kernel the way a boot-time oops does, before the
# job's start marker, so the sandbox's reboot-on-early-death path can be tested for real.
if [ "$schedlang_test_crash" = before-job ]; then echo c >/proc/sysrq-trigger; fi

exec 3>/dev/ttyS1
read -r up _ </proc/uptime
read -r release </proc/sys/kernel/osrelease
echo "@@SCHEDLANG-BEGIN uptime=$up release=$release" >&3
sh "$schedlang_job" </dev/null >&3 2>&3
rc=$?
echo "@@SCHEDLANG-END rc=$rc" >&3
# The console runs `quiet` (printing every kernel message on an emulated UART slows boot and
# perturbs workloads); the whole kernel log goes to the host through the results share.
dmesg >/mnt/out/.schedlang-kernel.log 2>/dev/null
sync
busybox poweroff -f
echo o >/proc/sysrq-trigger  # no busybox: ask the kernel directly
while :; do sleep 60; done   # PID 1 must not exit while the power goes off
