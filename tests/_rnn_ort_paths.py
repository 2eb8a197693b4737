"""The fused RNN op run twice, its step loop through onnxruntime and then through numpy, for
the tests that compare the two paths (LSTM and GRU cells in ``ndarray/_ort_kernels.py``)."""
import numpy as np
from kiln import autograd, nd


def assert_ort_path_equals_numpy(monkeypatch, mode, steps, arrays, heads, H, L,
                                 bidirectional, dtype):
    """Outputs, states and gradients of ``nd.RNN(mode)`` equal with the onnxruntime step loops
    (``steps``: (module, function name, calls) triples, each of which must run and report True
    ``calls`` times on the first pass) and without them (none reports True)."""
    import onnxruntime
    from kiln.ndarray import _ort_kernels
    calls = {}

    def counting(module, name):
        real = getattr(module, name)

        def counted(*a):
            done = real(*a)
            calls.setdefault(name, []).append(done is not False)   # None: ran, nothing to say
            return done
        monkeypatch.setattr(module, name, counted)
    for module, name, _ in steps:
        counting(module, name)
    results = []
    for ort in (onnxruntime, None):
        monkeypatch.setattr(_ort_kernels, "_STATE", [ort])
        xs = [nd.array(a, dtype=dtype) for a in arrays]
        for x in xs:
            x.attach_grad()
        with autograd.record():
            outs = nd.RNN(*xs, mode=mode, state_size=H, num_layers=L,
                          bidirectional=bidirectional, state_outputs=True)
        autograd.backward(list(outs), [nd.array(h, dtype=dtype) for h in heads])
        results.append([o.asnumpy() for o in outs] + [x.grad.asnumpy() for x in xs])
    for _, name, n in steps:   # the first pass ran onnxruntime, the second did not
        seen = calls.get(name, [])
        assert seen[:n] == [True] * n and not any(seen[n:]), (name, seen)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(*results):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
