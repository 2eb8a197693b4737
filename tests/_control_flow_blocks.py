"""The Gluon 1.x blocks behind the control-flow JSON fixtures, written once for both libraries:
``tests/data/mxnet191_foreach_gen.py`` builds them with MXNet 1.9.1's ``HybridBlock``/``nn`` to
write the fixtures, tests/test_mxnet_json_control_flow.py with kiln's to compare."""


def make_blocks(HybridBlock, nn):
    """``(Foreach, While, Cond)`` classes over the given library's ``HybridBlock`` and ``nn``."""

    class Foreach(HybridBlock):
        """foreach with a parameter read in the body and two states."""

        def __init__(self, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.dense = nn.Dense(3, in_units=2, flatten=False)

        def hybrid_forward(self, F, x, h):
            def body(d, s):
                o = F.tanh(self.dense(d) + s[0])
                return o, [o * 2, s[1] + 1]
            outs, st = F.contrib.foreach(body, x, [h, F.zeros_like(h)])
            return outs, st[0], st[1]

    class While(HybridBlock):
        """while_loop whose condition reads an outer input and whose body reads a parameter."""

        def __init__(self, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.dense = nn.Dense(3, in_units=3)

        def hybrid_forward(self, F, x, n):
            def cond(i, s):
                return i < n

            def func(i, s):
                s2 = F.tanh(self.dense(s))
                return s2 * 2, [i + 1, s2]
            outs, (i, s) = F.contrib.while_loop(cond, func, [F.zeros_like(n), x],
                                                max_iterations=5)
            return outs, i, s

    class Cond(HybridBlock):
        """cond on a value of the data: the branch is chosen at run time."""

        def __init__(self, **kw):
            super().__init__(**kw)
            with self.name_scope():
                self.dense = nn.Dense(3, in_units=3)

        def hybrid_forward(self, F, x):
            p = F.sum(x) > 0
            return F.contrib.cond(p, lambda: self.dense(x) * 2, lambda: x - 1)

    return Foreach, While, Cond
