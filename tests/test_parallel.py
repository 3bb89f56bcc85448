"""Parallel loops: convert-tensor-to-loop marks them, parallelize-loops outlines the big
ones, convert-loop-to-llvm runs them on irforge's thread pool (backends/llvm/thread_pool.py,
docs/parallelism.md).

Native results with 1, 2 and 3 threads are compared with each other (bit-identical: every
element is computed by the same code in the same order, whatever thread runs it) and with
NumPy or ONNX Runtime (rtol 1e-5 / atol 1e-5 for small ops; the light ResNet-50 as in
test_light_models: max |error| <= 1e-3 * max |logit|). Small shapes use `min-work=0`, which
makes a parallel region of every outermost parallel loop, so the chunking is exercised on
trip counts smaller than, equal to and not divisible by the thread count.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
import warnings

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.dialects.builtin import IntegerAttr

import irforge
from irforge.api import load_module
from irforge.backends.llvm import compile_module, emit_llvm_ir
from irforge.backends.target import host_target
from irforge.dialects.reference import run_reference
from irforge.passes.infra.registry import DEFAULT_PIPELINE

POOL_CALL = 'call ccc void @"irforge_parallel_for"'
FORCE = DEFAULT_PIPELINE.replace("parallelize-loops", "parallelize-loops{min-work=0}")


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def onnx_model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def ort_run(model, *xs):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, xs)))[0]


def elementwise(n):
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["a"]),
        helper.make_node("Add", ["a", "one"], ["b"]),
        helper.make_node("Relu", ["b"], ["c"]),
        helper.make_node("Mul", ["c", "x"], ["y"]),
    ]
    return onnx_model(nodes, [_vi("x", n)], [_vi("y", n)], [two, one])


def matmul(m, k, n):
    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    return onnx_model([node], [_vi("a", [m, k]), _vi("b", [k, n])], [_vi("c", [m, n])])


def conv():
    rng = np.random.default_rng(3)
    w = helper.make_tensor(
        "w", TensorProto.FLOAT, [5, 3, 3, 3], rng.standard_normal(135).astype(np.float32)
    )
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2])
    return onnx_model([node], [_vi("x", [2, 3, 9, 7])], [_vi("y", [2, 5, 5, 4])], [w])


def softmax():
    node = helper.make_node("Softmax", ["x"], ["y"], axis=-1)
    return onnx_model([node], [_vi("x", [7, 33])], [_vi("y", [7, 33])])


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


CASES = {
    "elementwise": (lambda: elementwise([3, 5, 7]), [(3, 5, 7)]),
    "matmul": (lambda: matmul(9, 13, 5), [(9, 13), (13, 5)]),
    "conv": (conv, [(2, 3, 9, 7)]),
    "softmax": (softmax, [(7, 33)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_threads_agree_with_each_other_and_onnxruntime(name):
    build, shapes = CASES[name]
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    expected = ort_run(build(), *xs)
    outs = {}
    for n in (1, 2, 3):
        compiled = irforge.compile(build(), num_threads=n, pipeline=FORCE)
        assert compiled.num_threads == n
        outs[n] = compiled(*xs)
        np.testing.assert_allclose(outs[n], expected, rtol=1e-5, atol=1e-5, err_msg=f"{n}")
    assert np.array_equal(outs[1], outs[2]) and np.array_equal(outs[1], outs[3])


def test_elementwise_default_threshold_bit_identical_and_numpy():
    n = 1 << 18
    x = rand(n)
    ref = np.maximum(x * np.float32(2) + np.float32(1), np.float32(0)) * x
    one = irforge.compile(elementwise([n]), num_threads=1)(x)
    two = irforge.compile(elementwise([n]), num_threads=2)(x)
    assert np.array_equal(one, two)
    np.testing.assert_allclose(two, ref, rtol=1e-6, atol=1e-6)


def _llvm_ir(model, num_threads, pipeline=DEFAULT_PIPELINE):
    module = load_module(model)
    host_target(num_threads=num_threads).attach(module)
    irforge.run_pipeline(module, pipeline)
    return emit_llvm_ir(module)


def test_region_only_above_threshold_and_with_threads():
    big, small = elementwise([1 << 18]), elementwise([1000])  # ~2.6M and ~10k ops
    assert POOL_CALL in _llvm_ir(big, 2)
    assert POOL_CALL not in _llvm_ir(small, 2)  # below min-work
    assert POOL_CALL not in _llvm_ir(big, 1)  # one thread: serial code
    assert "__omp" not in _llvm_ir(big, 1)


def test_digits_batch1_stays_serial():
    from irforge.examples.digits import model_path

    module = load_module(str(model_path()), {"input": [1, 64]})
    host_target(num_threads=2).attach(module)
    irforge.run_pipeline(module, DEFAULT_PIPELINE)
    assert POOL_CALL not in emit_llvm_ir(module)


def test_env_var_and_default(monkeypatch):
    model = matmul(128, 128, 128)
    monkeypatch.setenv("IRFORGE_NUM_THREADS", "2")
    compiled = irforge.compile(model)
    assert compiled.num_threads == 2
    monkeypatch.setenv("IRFORGE_NUM_THREADS", "1")
    assert irforge.compile(model).num_threads == 1
    assert irforge.compile(model, num_threads=2).num_threads == 2  # the argument wins
    monkeypatch.delenv("IRFORGE_NUM_THREADS")
    from irforge.backends.target import host_num_threads

    assert host_num_threads() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("bad", ["abc", "0", "-2", "1.5"])
def test_bad_env_var_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("IRFORGE_NUM_THREADS", bad)
    with pytest.raises(ValueError, match="IRFORGE_NUM_THREADS must be a positive integer"):
        irforge.compile(matmul(2, 2, 2))


@pytest.mark.parametrize("bad", [0, -1, "x", True])
def test_bad_argument_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="num_threads must be a positive integer"):
        irforge.compile(matmul(2, 2, 2), num_threads=bad)


def test_cli_num_threads(tmp_path, capsys):
    from irforge.cli import main

    path = tmp_path / "m.onnx"
    path.write_bytes(elementwise([1 << 18]).SerializeToString())
    out = tmp_path / "out.ll"
    assert main(["compile", str(path), "--num-threads", "2", "-O", "0", "-o", str(out)]) == 0
    assert POOL_CALL in out.read_text()
    assert main(["compile", str(path), "--num-threads", "1", "-O", "0", "-o", str(out)]) == 0
    assert POOL_CALL not in out.read_text()
    assert main(["compile", str(path), "--num-threads", "zero", "-o", str(out)]) != 0
    assert "num-threads" in capsys.readouterr().err


# -- loop level: marking, the interpreter, uneven chunks with a step ------------------------

STRIDED = """
"func.func"() <{sym_name = "main", function_type = (memref<10xf32>, memref<10xf32>) -> ()}> ({
^bb0(%x: memref<10xf32>, %y: memref<10xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c3 = "arith.constant"() <{value = 3 : index}> : () -> index
  %c10 = "arith.constant"() <{value = 10 : index}> : () -> index
  %two = "arith.constant"() <{value = 2.0 : f32}> : () -> f32
  "loop.for"(%c0, %c10, %c1) <{parallel}> ({
  ^bb0(%i: index):
    "loop.store"(%two, %y, %i) : (f32, memref<10xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.for"(%c1, %c10, %c3) <{parallel}> ({
  ^bb0(%i: index):
    %v = "loop.load"(%x, %i) : (memref<10xf32>, index) -> f32
    %w = "arith.mulf"(%v, %two) : (f32, f32) -> f32
    "loop.store"(%w, %y, %i) : (f32, memref<10xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
"""


@pytest.mark.parametrize("threads", [2, 3, 4, 7])
def test_strided_loop_chunks(threads):
    x = np.arange(10, dtype=np.float32) + 1
    expected = np.full(10, 2, np.float32)
    expected[1::3] = x[1::3] * 2
    module = irforge.parse(STRIDED)
    irforge.run_pipeline(module, f"parallelize-loops{{num-threads={threads} min-work=0}}")
    calls = [op for op in module.walk() if op.name == "func.call"]
    assert len(calls) == 2 and all("irforge.parallel" in c.attributes for c in calls)
    (got,) = run_reference(module, [x])  # the outlined form still interprets
    np.testing.assert_array_equal(got, expected)
    irforge.run_pipeline(module, "convert-loop-to-llvm")
    fn = compile_module(module, inputs=[("x", (10,), "float32")], outputs=[("y", (10,), "f4")])
    for _ in range(20):
        np.testing.assert_array_equal(fn(x), expected)


def test_marking_parallel_and_reduction_loops():
    module = load_module(matmul(4, 6, 5))
    irforge.run_pipeline(module, "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop")
    loops = [op for op in module.walk() if op.name == "loop.for"]
    marks = [op.parallel is not None for op in loops]
    # the fill of the accumulator (2 parallel loops), then i, j parallel and k a reduction
    assert marks[-3:] == [True, True, False]
    assert all(marks[:-3])
    a, b = rand(4, 6), rand(6, 5, seed=1)
    (got,) = run_reference(module, [a, b])
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)


def test_light_resnet50_one_and_two_threads_match_onnxruntime(light):
    """The session's ResNet-50 (tests/conftest.py: compiled once per thread count, shared
    with test_light_models) at 1 and 2 threads."""
    x = light.input("resnet50")
    expected = light.reference("resnet50")
    scale = float(np.max(np.abs(expected)))
    outs = {}
    for n in (1, 2):
        compiled = light.compiled("resnet50", num_threads=n)
        assert compiled.num_threads == n
        outs[n] = compiled(x)
        err = float(np.max(np.abs(outs[n] - expected)))
        assert err <= 1e-3 * scale, f"{n} threads: max abs error {err:.3g} vs scale {scale:.3g}"
    np.testing.assert_allclose(outs[2], outs[1], rtol=1e-5, atol=1e-6 * scale)


def test_without_pool_compile_is_serial_with_one_warning(monkeypatch):
    from irforge.backends.llvm import thread_pool

    monkeypatch.setattr(thread_pool, "_state", {"error": "no futex-based pool (test)"})
    a = rand(128, 128)
    with pytest.warns(RuntimeWarning, match="no thread pool"):
        compiled = irforge.compile(matmul(128, 128, 128), num_threads=2)
    assert compiled.num_threads == 1
    np.testing.assert_allclose(compiled(a, a), a @ a, rtol=1e-4, atol=1e-4)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per process, not again
        assert irforge.compile(matmul(128, 128, 128), num_threads=2).num_threads == 1
    module = irforge.parse(STRIDED)
    irforge.run_pipeline(module, "parallelize-loops{num-threads=2 min-work=0},convert-loop-to-llvm")
    with pytest.raises(RuntimeError, match="thread pool cannot run here"):
        compile_module(module, inputs=[("x", (10,), "float32")], outputs=[("y", (10,), "f4")])


PRIVATE = """
"func.func"() <{sym_name = "f", function_type = (memref<64xf32>, memref<64xf32>) -> (),
  sym_visibility = "private", arg_attrs = [ATTRS, ATTRS]}> ({
^bb0(%x: memref<64xf32>, %y: memref<64xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c64 = "arith.constant"() <{value = 64 : index}> : () -> index
  "loop.for"(%c0, %c64, %c1) <{parallel}> ({
  ^bb0(%i: index):
    %v = "loop.load"(%x, %i) : (memref<64xf32>, index) -> f32
    "loop.store"(%v, %y, %i) : (f32, memref<64xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
"""


@pytest.mark.parametrize("attrs, noalias", [("{}", False), ("{llvm.noalias}", True)])
def test_noalias_only_when_the_enclosing_function_proves_it(attrs, noalias):
    module = irforge.parse(PRIVATE.replace("ATTRS", attrs))
    irforge.run_pipeline(module, "parallelize-loops{num-threads=2 min-work=0}")
    par = next(op for op in module.ops if op.sym_name.data == "f__par0")
    got = ["llvm.noalias" in a.data for a in par.arg_attrs.data[:2]]
    assert got == [noalias, noalias]


def test_malformed_parallel_call_is_named():
    module = irforge.parse(STRIDED)
    irforge.run_pipeline(module, "parallelize-loops{num-threads=2 min-work=0}")
    call = next(op for op in module.walk() if op.name == "func.call")
    call.attributes["irforge.parallel"] = IntegerAttr(2, 64)
    with pytest.raises(Exception, match="main__par0.*irforge.parallel"):
        irforge.run_pipeline(module, "convert-loop-to-llvm")


TILED = """
"func.func"() <{sym_name = "kernel", function_type = (memref<512xf32>, index) -> (),
  sym_visibility = "private"}> ({
^bb0(%y: memref<512xf32>, %n: index):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %z = "arith.constant"() <{value = 0.0 : f32}> : () -> f32
  "loop.for"(%c0, %n, %c1) ({
  ^bb0(%k: index):
    "loop.store"(%z, %y, %k) : (f32, memref<512xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
"func.func"() <{sym_name = "main", function_type = (memref<512xf32>) -> ()}> ({
^bb0(%y: memref<512xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c3 = "arith.constant"() <{value = 3 : index}> : () -> index
  %c200 = "arith.constant"() <{value = 200 : index}> : () -> index
  %c512 = "arith.constant"() <{value = 512 : index}> : () -> index
  "loop.for"(%c0, %c3, %c1) <{parallel}> ({
  ^bb0(%i: index):
    %s = "arith.muli"(%i, %c200) : (index, index) -> index
    %r = "arith.subi"(%c512, %s) : (index, index) -> index
    %t = "arith.minsi"(%c200, %r) : (index, index) -> index
    "func.call"(%y, %t) <{callee = @kernel}> : (memref<512xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
"""


def test_work_estimate_follows_tile_bounds_and_calls():
    from irforge.passes.loop.parallelize_loops import estimate_work

    module = irforge.parse(TILED)
    main = next(op for op in module.ops if op.sym_name.data == "main")
    nest = next(op for op in main.walk() if op.name == "loop.for")
    # 3 iterations x (3 index ops + the call: 1 + the kernel's 3 constants, its loop of
    # min(200, 512 - 0) = 200 iterations x 1 store, its return)
    assert estimate_work(nest, module) == 3 * (3 + 1 + 3 + 200 + 1)
    assert estimate_work(nest) == 3 * (3 + 1)  # without the module, calls count 1


# -- the thread pool (backends/llvm/thread_pool.py) -------------------------------------------

CHUNK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)


def _pool_entry():
    from irforge.backends.llvm import thread_pool

    assert thread_pool.load_pool()
    thread_pool.ensure_workers(1)
    _backoff(thread_pool).value = 0  # no back-off left by an earlier call
    address = thread_pool._state["addrs"][thread_pool.ENTRY]
    return thread_pool, ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        address
    )


def _backoff(thread_pool):
    """The pool's count of calls left to run on the caller alone."""
    address = thread_pool._state["engine"].get_global_value_address("backoff")
    return ctypes.c_int64.from_address(address)


def test_pool_backs_off_after_a_worker_stalls_the_caller():
    pool, run = _pool_entry()
    caller, seen = threading.get_ident(), []

    def chunk(ctx, i, k):
        seen.append((k, threading.get_ident()))
        time.sleep(0.001 if threading.get_ident() == caller else 0.05)  # a preempted worker

    cb = ctypes.cast(CHUNK(chunk), ctypes.c_void_p)
    backoff = _backoff(pool)
    try:
        for _ in range(50):
            seen.clear()
            run(cb, None, 2)
            if any(t != caller for _, t in seen):
                break
        else:
            pytest.fail("no worker ran a chunk")
        assert backoff.value == pool.BACKOFF_CALLS  # waited 49 ms after working 7 ms
        seen.clear()
        run(cb, None, 2)
        assert seen == [(1, caller)]  # alone: one chunk, the caller's
        assert backoff.value == pool.BACKOFF_CALLS - 1
    finally:
        backoff.value = 0


def test_pool_runs_every_chunk_once_on_the_caller_and_a_worker():
    pool, run = _pool_entry()
    seen, lock = [], threading.Lock()

    def chunk(ctx, i, k):
        time.sleep(0.001)  # releases the GIL: the worker gets the time to claim chunks
        with lock:
            seen.append((i, k, threading.get_ident()))

    cb = CHUNK(chunk)
    chunks = 2 * pool.CHUNKS_PER_THREAD
    runners = set()
    for _ in range(20):
        seen.clear()
        _backoff(pool).value = 0  # GIL hand-offs in the callbacks can look like a stall
        run(ctypes.cast(cb, ctypes.c_void_p), None, 2)
        assert sorted(i for i, _, _ in seen) == list(range(chunks))  # each once, all done
        assert {k for _, k, _ in seen} == {chunks}
        runners |= {t for _, _, t in seen}
    assert threading.get_ident() in runners and len(runners) == 2
    seen.clear()
    run(ctypes.cast(cb, ctypes.c_void_p), None, 1)  # one thread: one chunk, the caller's
    assert [(i, k) for i, k, _ in seen] == [(0, 1)]


def test_compiling_a_parallel_model_starts_its_workers(monkeypatch):
    from irforge.backends.llvm import thread_pool

    asked = []
    monkeypatch.setattr(thread_pool, "ensure_workers", asked.append)
    irforge.compile(elementwise([1 << 18]), num_threads=2)
    assert asked == [1]


def test_pool_two_callers_at_once_get_exact_results():
    """A second caller while the pool is busy runs its chunks itself."""
    n = 1 << 18
    x = rand(n)
    model = irforge.compile(elementwise([n]), num_threads=2)
    expected = irforge.compile(elementwise([n]), num_threads=1)(x)
    failures = []

    def caller():
        for _ in range(30):
            if not np.array_equal(model(x), expected):
                failures.append(1)

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_runs_a_parallel_model():
    """The pool's workers do not exist in a forked child: the caller runs every chunk (a
    libgomp team may wait forever for them: GCC's documented limitation)."""
    n = 1 << 18
    x = rand(n)
    model = irforge.compile(elementwise([n]), num_threads=2)
    expected = model(x)  # the parent's workers are running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if all(np.array_equal(model(x), expected) for _ in range(5)) else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child did not finish its parallel calls")


def test_pool_threads_of_a_module_and_bad_spin_setting(monkeypatch):
    from irforge.backends.llvm import thread_pool

    text = 'call ccc void @"irforge_parallel_for"(void (ptr, i64, i64)* @"f", ptr %c, i64 3)\n'
    text += "call void @irforge_parallel_for(ptr nonnull @g, ptr nonnull %d, i64 2) #0\n"
    text += 'declare void @"irforge_parallel_for"(ptr %".1", ptr %".2", i64 %".3")'
    assert thread_pool.threads_called(text) == 3
    assert thread_pool.threads_called("call void @f()") == 0
    monkeypatch.setenv("IRFORGE_POOL_SPIN", "lots")
    with pytest.raises(ValueError, match="IRFORGE_POOL_SPIN='lots'"):
        thread_pool._spin_setting()


@pytest.mark.parametrize(("m", "k", "n"), [(128, 256, 512), (37, 600, 200)])
def test_columns_split_packs_a_once(m, k, n):
    """At 2 threads a matmul with a run-time A splits its columns; A is packed once, in a
    parallel loop of its own before the column loop (gemm_plan.prepack_a), instead of by
    every thread: two parallel regions, the same result as 1 thread and NumPy (K over
    several K blocks, M not a multiple of MR)."""
    text = _llvm_ir(matmul(m, k, n), 2)
    assert text.count(POOL_CALL) >= 2
    a, b = rand(m, k, seed=1), rand(k, n, seed=2)
    one = irforge.compile(matmul(m, k, n), num_threads=1)(a, b)
    two = irforge.compile(matmul(m, k, n), num_threads=2)(a, b)
    np.testing.assert_allclose(two, a @ b, rtol=1e-4, atol=1e-4 * float(np.abs(a @ b).max()))
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-5)
