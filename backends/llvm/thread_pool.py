"""irforge's thread pool: the runtime that parallel loops call (`irforge_parallel_for`).

Code made by parallelize-loops calls `irforge_parallel_for(fn, ctx, n)`
(passes/loop_to_llvm/parallel.py): run `fn(ctx, i, k)` once for every chunk i of [0, k),
on the calling thread and the pool's workers, and return when all have run. The pool is a
few lines of LLVM IR, JIT-compiled once per process; its entry points are registered with
`llvmlite.binding.add_symbol` so that every JIT-compiled model resolves them.

Why not libgomp (docs/parallelism.md, "The thread pool"): `GOMP_parallel` ends with a barrier
that waits for every thread of the team, so a call can finish no sooner than the last
worker is *scheduled*. On a machine whose cores are busy with other processes a woken (or
spinning) worker may wait milliseconds for a time slice: GELU on [128, 2048] took 19 ms at
2 threads against 0.5 ms at 1. Here the chunks are *claimed*: the caller claims chunks
too, and waits only for chunks a worker has started; a worker that wakes late finds no
chunk left and goes back to sleep. A late worker costs at most the serial time.

The protocol (all state is process-wide, one job at a time):

- `claim` (i64) = epoch << 32 | next chunk. The caller stores fn, ctx, k, sets `done` = 0,
  then publishes `claim` = (epoch + 1) << 32 and the futex word `epoch32`, and wakes
  sleeping workers (futex) if any are asleep (`sleepers`).
- Everyone claims chunk i by a compare-and-swap of `claim` from (epoch, i) to
  (epoch, i + 1), reading fn/ctx/k before it: a successful swap proves the job it read was
  still current (the epoch changes only after every chunk is claimed and done), so a
  worker never runs a stale job. After running a chunk it adds 1 to `done`.
- The caller returns when `done` == k (release/acquire: it sees every chunk's writes).
- A worker spins `SPIN` times checking `epoch32`, then sleeps on it (FUTEX_WAIT).
- Back-off: when the caller waited for the workers' chunks longer than it worked itself
  (plus `STALL_SLACK_CYCLES`), a worker was taken off its core mid-chunk by another
  process; the next `BACKOFF_CALLS` calls run on the caller alone, then the workers are
  tried again. (BERT 4 x 512 with the second core busy: 2 threads 45-51 ms without it,
  the same code run serially 35-42 ms.)
- A second caller (another Python thread) while a job runs, or a process without workers
  (before the first parallel model, in a forked child), runs the chunks itself in order.

Chunks: k = `CHUNKS_PER_THREAD` x the thread count the model was compiled for, so a
worker that starts late still takes a share. Every chunk runs the same instructions
whatever thread runs it, so results do not depend on who ran what.

Workers are daemon Python threads that call the native worker loop through ctypes (which
releases the GIL): no thread creation from generated code. Linux only (futex); elsewhere
`pool_available()` is False and models compile serially. `IRFORGE_POOL_SPIN` overrides the
spin count (iterations of a pause loop; 0: sleep at once).

Source: the claim-by-CAS work sharing of ONNX Runtime's / Eigen's thread pool (callers
run unclaimed work themselves); futex(2) for sleeping; LLVM LangRef atomic orderings.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import sys
import threading
import time
import warnings

ENTRY = "irforge_parallel_for"
# Pause-loop iterations an idle worker spins before it sleeps: ~0.25 ms where measured (12 ns
# a pause; its latency differs between CPUs). It covers the gaps between the parallel loops
# of a model call and between calls made back to back; a worker woken from its futex on a
# busy machine came too late to help a 0.35 ms call (GELU [128, 2048] at 2 threads: spin 0
# or 2000 0.36 ms, 20000 0.18 ms, 200000 0.18 ms; docs/parallelism.md).
DEFAULT_SPIN = 20000
CHUNKS_PER_THREAD = 4
# A call whose caller waited for a worker's chunks longer than it worked itself, plus this
# many cycles (~20 us), saw a worker preempted mid-chunk (the core is taken by another
# process): the next BACKOFF_CALLS calls run on the caller alone, then workers are tried
# again. Short: a worker slow to wake from its futex on a quiet machine trips it too, and
# 1024 calls serialized ~10 BERT inferences after every such stall (docs/parallelism.md).
STALL_SLACK_CYCLES = 60_000
BACKOFF_CALLS = 16
SPIN_ENV = "IRFORGE_POOL_SPIN"

# futex(2) syscall numbers by machine (x86-64; the generic table of aarch64 / riscv64).
_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98, "riscv64": 98}

_state: dict[str, object] = {}  # "engine", "addrs", "error", "workers", "threads"
_lock = threading.Lock()

_IR = """
@fn = internal global ptr null, align 64
@ctx = internal global ptr null, align 8
@nchunks = internal global i64 0, align 8
@claim = internal global i64 0, align 64
@done = internal global i64 0, align 64
@epoch32 = internal global i32 0, align 64
@sleepers = internal global i32 0, align 64
@busy = internal global i32 0, align 64
@workers = global i32 0, align 64
@backoff = global i64 0, align 64
@spin = global i64 SPIN, align 64

declare i64 @syscall(i64, ...)
declare i32 @sched_yield()
declare i64 @llvm.readcyclecounter()
PAUSE_DECL

define internal void @cpu_relax() {
  PAUSE_CALL
  ret void
}

; Claim and run chunks of the current job until none is left.
define internal void @work() {
entry:
  br label %loop
loop:
  %c = load atomic i64, ptr @claim acquire, align 8
  %f = load atomic ptr, ptr @fn monotonic, align 8
  %x = load atomic ptr, ptr @ctx monotonic, align 8
  %k = load atomic i64, ptr @nchunks monotonic, align 8
  %i = and i64 %c, 4294967295
  %more = icmp ult i64 %i, %k
  br i1 %more, label %try, label %out
try:
  %c1 = add i64 %c, 1
  %r = cmpxchg ptr @claim, i64 %c, i64 %c1 acq_rel monotonic
  %ok = extractvalue { i64, i1 } %r, 1
  br i1 %ok, label %run, label %loop
run:
  call void %f(ptr %x, i64 %i, i64 %k)
  %d = atomicrmw add ptr @done, i64 1 release
  br label %loop
out:
  ret void
}

define void @irforge_parallel_for(ptr %f, ptr %x, i64 %threads) {
entry:
  %k = mul i64 %threads, CHUNKS
  %w = load atomic i32, ptr @workers monotonic, align 4
  %none = icmp eq i32 %w, 0
  %one = icmp ule i64 %threads, 1
  %serial0 = or i1 %none, %one
  br i1 %serial0, label %serial, label %backing
backing:
  %bo = load atomic i64, ptr @backoff monotonic, align 8
  %off = icmp ne i64 %bo, 0
  br i1 %off, label %skip, label %lock
skip:
  %bo1 = sub i64 %bo, 1
  store atomic i64 %bo1, ptr @backoff monotonic, align 8
  br label %serial
lock:
  %b = cmpxchg ptr @busy, i32 0, i32 1 acquire monotonic
  %got = extractvalue { i32, i1 } %b, 1
  br i1 %got, label %publish, label %serial
serial:
  call void %f(ptr %x, i64 0, i64 1)
  ret void
publish:
  %t0 = call i64 @llvm.readcyclecounter()
  store atomic ptr %f, ptr @fn monotonic, align 8
  store atomic ptr %x, ptr @ctx monotonic, align 8
  store atomic i64 %k, ptr @nchunks monotonic, align 8
  store atomic i64 0, ptr @done monotonic, align 8
  %c = load atomic i64, ptr @claim monotonic, align 8
  %e = lshr i64 %c, 32
  %e1 = add i64 %e, 1
  %c1 = shl i64 %e1, 32
  store atomic i64 %c1, ptr @claim seq_cst, align 8
  %e32 = trunc i64 %e1 to i32
  store atomic i32 %e32, ptr @epoch32 seq_cst, align 4
  %s = load atomic i32, ptr @sleepers seq_cst, align 4
  %asleep = icmp ne i32 %s, 0
  br i1 %asleep, label %wake, label %mine
wake:
  %t32 = trunc i64 %threads to i32
  %nwake = sub i32 %t32, 1
  %wr = call i64 (i64, ...) @syscall(i64 SYS_FUTEX, ptr @epoch32, i32 129, i32 %nwake)
  br label %mine
mine:
  call void @work()
  %t1 = call i64 @llvm.readcyclecounter()
  br label %wait
wait:
  %n = phi i64 [ 0, %mine ], [ %n1, %yield ], [ %n1, %relax ]
  %dn = load atomic i64, ptr @done acquire, align 8
  %all = icmp uge i64 %dn, %k
  br i1 %all, label %finish, label %again
again:
  %n1 = add i64 %n, 1
  %long = icmp ugt i64 %n, 100000
  br i1 %long, label %yield, label %relax
yield:
  %y = call i32 @sched_yield()
  br label %wait
relax:
  call void @cpu_relax()
  br label %wait
finish:
  store atomic i32 0, ptr @busy release, align 4
  ; A worker that kept the caller waiting longer than the caller worked (plus a slack) was
  ; taken off its core mid-chunk: run the next BACKOFF calls on the caller alone.
  %t2 = call i64 @llvm.readcyclecounter()
  %own = sub i64 %t1, %t0
  %waited = sub i64 %t2, %t1
  %bound = add i64 %own, SLACK
  %stalled = icmp ugt i64 %waited, %bound
  br i1 %stalled, label %back_off, label %done_
back_off:
  store atomic i64 BACKOFF, ptr @backoff monotonic, align 8
  br label %done_
done_:
  ret void
}

; A worker: spin, then sleep on the futex word, until a new job is published; help with it.
define void @irforge_pool_worker() {
entry:
  %w = atomicrmw add ptr @workers, i32 1 seq_cst
  %e0 = load atomic i32, ptr @epoch32 acquire, align 4
  br label %idle
idle:
  %seen = phi i32 [ %e0, %entry ], [ %seen, %slept ], [ %now, %job ]
  %limit = load atomic i64, ptr @spin monotonic, align 8
  br label %spin
spin:
  %j = phi i64 [ 0, %idle ], [ %j1, %spin_next ]
  %now = load atomic i32, ptr @epoch32 acquire, align 4
  %new = icmp ne i32 %now, %seen
  br i1 %new, label %job, label %spin_more
spin_more:
  %j1 = add i64 %j, 1
  %tired = icmp uge i64 %j, %limit
  br i1 %tired, label %sleep, label %spin_next
spin_next:
  call void @cpu_relax()
  br label %spin
sleep:
  %s = atomicrmw add ptr @sleepers, i32 1 seq_cst
  %again = load atomic i32, ptr @epoch32 seq_cst, align 4
  %still = icmp eq i32 %again, %seen
  br i1 %still, label %wait, label %slept
wait:
  %r = call i64 (i64, ...) @syscall(i64 SYS_FUTEX, ptr @epoch32, i32 128, i32 %seen, ptr null)
  br label %slept
slept:
  %s1 = atomicrmw sub ptr @sleepers, i32 1 seq_cst
  br label %idle
job:
  call void @work()
  br label %idle
}
"""


def _ir_text(machine: str) -> str:
    x86 = machine in ("x86_64", "amd64", "i386", "i686")
    text = _IR.replace("SYS_FUTEX", str(_SYS_FUTEX[machine]))
    text = text.replace("CHUNKS", str(CHUNKS_PER_THREAD))
    text = text.replace("SLACK", str(STALL_SLACK_CYCLES)).replace("BACKOFF", str(BACKOFF_CALLS))
    text = text.replace("SPIN", str(_spin_setting()))
    if x86:  # the spin-wait hint: frees the core's resources for the other hyperthread
        text = text.replace("PAUSE_DECL", "declare void @llvm.x86.sse2.pause()")
        text = text.replace("PAUSE_CALL", "call void @llvm.x86.sse2.pause()")
    else:
        text = text.replace("PAUSE_DECL", "").replace("PAUSE_CALL", "")
    return text


def _spin_setting() -> int:
    raw = os.environ.get(SPIN_ENV)
    if raw is None:
        return DEFAULT_SPIN
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{SPIN_ENV}={raw!r}: expected a spin count, an integer >= 0")
    return value


def load_pool() -> bool:
    """Compile the pool's runtime (once) and register `irforge_parallel_for` for the JIT.
    False when it cannot run here (not Linux, or an unknown machine)."""
    with _lock:
        if "addrs" in _state or "error" in _state:
            return "addrs" in _state
        machine = platform.machine().lower()
        if not sys.platform.startswith("linux") or machine not in _SYS_FUTEX:
            _state["error"] = f"no futex-based pool for {sys.platform}/{machine}"
            return False
        import llvmlite.binding as llb

        llb.initialize_native_target()
        llb.initialize_native_asmprinter()
        mod = llb.parse_assembly(_ir_text(machine))
        mod.verify()
        tm = llb.Target.from_default_triple().create_target_machine(opt=2, jit=True)
        engine = llb.create_mcjit_compiler(mod, tm)
        engine.finalize_object()
        addrs = {name: engine.get_function_address(name) for name in (ENTRY, "irforge_pool_worker")}
        llb.add_symbol(ENTRY, addrs[ENTRY])
        workers_addr = engine.get_global_value_address("workers")
        _state.update(engine=engine, addrs=addrs, threads=[], workers_addr=workers_addr)
        os.register_at_fork(after_in_child=_after_fork)
        return True


def _after_fork() -> None:
    # The workers do not exist in a child: its models run their chunks on the calling
    # thread (the pool's worker count stays > 0, but nobody else claims); new models
    # start new workers.
    _state["threads"] = []


def ensure_workers(count: int) -> None:
    """Have at least `count` workers running (parallel code for count + 1 threads)."""
    if not load_pool():
        return
    worker = ctypes.CFUNCTYPE(None)(_state["addrs"]["irforge_pool_worker"])  # type: ignore[index]
    with _lock:
        threads: list = _state["threads"]  # type: ignore[assignment]
        started = len(threads)
        while len(threads) < count:
            t = threading.Thread(target=worker, name=f"irforge-pool-{len(threads)}", daemon=True)
            t.start()
            threads.append(t)
        if len(threads) > started:  # until they run, calls would not publish their chunks
            running = ctypes.c_int32.from_address(_state["workers_addr"])  # type: ignore[arg-type]
            deadline = time.monotonic() + 1.0
            while running.value < len(threads) and time.monotonic() < deadline:
                time.sleep(0.0005)


# `call void @"irforge_parallel_for"(void (ptr, i64, i64)* @"f__par0__omp", ptr %c, i64 2)`:
# the thread count is the last argument (the function type has parentheses of its own).
_THREADS_OF_CALL = re.compile(r"call [^\n]*@\"?" + ENTRY + r"\"?\([^\n]*, i64 (\d+)\)")


def threads_called(llvm_ir: str) -> int:
    """The largest thread count `llvm_ir` passes to `irforge_parallel_for` (0: no call)."""
    return max((int(m) for m in _THREADS_OF_CALL.findall(llvm_ir)), default=0)


def pool_available() -> bool:
    """Whether parallel code can run here (compiles the pool's runtime on first use)."""
    return load_pool()


def serial_fallback_warning() -> None:
    """Warn (once per process) that parallel loops are off because the pool cannot run."""
    if _state.get("warned"):
        return
    _state["warned"] = True
    warnings.warn(
        f"irforge: no thread pool here ({_state.get('error', '')}), so models are compiled "
        "serially (num_threads=1).",
        RuntimeWarning,
        stacklevel=3,
    )


def require_pool(llvm_ir: str) -> None:
    """Make the pool ready for `llvm_ir`, which calls `irforge_parallel_for`: register the
    entry point and start the workers its thread count needs (at most one fewer than the
    cores this process may use, at least one: more would only take turns on the cores,
    the chunks are shared out whoever runs them). RuntimeError if the pool cannot run
    here."""
    if not load_pool():
        raise RuntimeError(
            f"this module calls {ENTRY} (parallel loops) but irforge's thread pool cannot "
            f"run here ({_state.get('error', '')}); compile with num_threads=1"
        )
    ensure_workers(min(threads_called(llvm_ir) - 1, max(1, _cores() - 1)))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
