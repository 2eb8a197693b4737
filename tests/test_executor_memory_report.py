"""Executor.debug_str reports the graph's intermediate memory as MXNet's does
("Total N MB allocated"): a plan without gradients frees each array after its last reader,
a plan with gradients keeps the forward and adds gradient buffers, and stop_gradient cuts it."""
import re

import kiln as mx


def _chain(n=10):
    data = mx.sym.Variable("data")
    for _ in range(n):
        data = data * data
    return data


def _total_mb(exe):
    return int(re.search(r"Total (\d+) MB allocated", exe.debug_str()).group(1))


SHAPE = (10, 3, 256, 256)      # 7.5 MB per float32 array


def test_inference_plan_reuses_memory():
    exe = _chain().simple_bind(ctx=mx.cpu(), data=SHAPE, grad_req="null")
    assert _total_mb(exe) == 15        # two arrays alive at once, as MXNet 1.9.1 reports


def test_gradients_cost_memory_and_stop_gradient_cuts_them():
    with_grad = _total_mb(_chain().simple_bind(ctx=mx.cpu(), data=SHAPE))
    no_grad = _total_mb(_chain().simple_bind(ctx=mx.cpu(), data=SHAPE, grad_req="null"))
    stopped = _total_mb(mx.sym.stop_gradient(_chain()).simple_bind(ctx=mx.cpu(), data=SHAPE))
    assert with_grad > stopped
    assert no_grad == stopped
    assert with_grad == 150            # ten saved outputs and ten gradient buffers


def test_tiny_graph_reports_zero_mb():
    x = mx.sym.Variable("x")
    exe = (x + 1).bind(mx.cpu(), {"x": mx.nd.ones((2, 2))})
    assert "Total 0 MB allocated" in exe.debug_str()
