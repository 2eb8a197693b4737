"""Dive-into-Deep-Learning-style programs in ``mx.np`` form (``from mxnet import np, npx;
npx.set_np()``), run unchanged by kiln and by real MXNet 1.9.1 on the same data and initial
weights: losses, parameters and predictions must agree."""
from _np_oracle import compare, program

LINREG_SCRATCH = program("d2l_linreg_scratch", """
    npx.set_np()
    rs = onp.random.RandomState(0)
    true_w, true_b = np.array([2, -3.4]), 4.2
    features = np.array(rs.normal(0, 1, (100, 2)).astype("float32"))
    labels = np.dot(features, true_w) + true_b
    labels += np.array(rs.normal(0, 0.01, labels.shape).astype("float32"))
    labels = labels.reshape((-1, 1))
    order = [int(i) for i in rs.permutation(100)]
    def data_iter(batch_size, features, labels):
        for i in range(0, len(features), batch_size):
            batch_indices = np.array(order[i: min(i + batch_size, len(features))])
            yield features[batch_indices], labels[batch_indices]
    w = np.array(rs.normal(0, 0.01, (2, 1)).astype("float32"))
    b = np.zeros(1)
    w.attach_grad()
    b.attach_grad()
    def linreg(X, w, b):
        return np.dot(X, w) + b
    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
    def sgd(params, lr, batch_size):
        for param in params:
            param[:] = param - lr * param.grad / batch_size
    for epoch in range(3):
        for X, y in data_iter(10, features, labels):
            with autograd.record():
                l = squared_loss(linreg(X, w, b), y)
            l.backward()
            sgd([w, b], 0.03, 10)
        train_l = squared_loss(linreg(features, w, b), labels)
        put(f"loss{epoch}", train_l.mean())
    put("w", w)
    put("b", b)
    put("err_w", true_w - w.reshape(true_w.shape))
    put("grad_w", w.grad)
""")

LINREG_GLUON = program("d2l_linreg_gluon", """
    npx.set_np()
    rs = onp.random.RandomState(1)
    features = np.array(rs.normal(0, 1, (60, 2)).astype("float32"))
    labels = np.dot(features, np.array([2, -3.4])) + 4.2
    labels = labels.reshape(-1, 1)
    data_iter = gluon.data.DataLoader(gluon.data.ArrayDataset(features, labels), 10)
    for hybrid in (False, True):
        net = nn.HybridSequential() if hybrid else nn.Sequential()
        net.add(nn.Dense(1))
        net.initialize(mx.init.Normal(sigma=0.01))
        net(features[:1])
        set_params(net, rs, 0.01)
        if hybrid:
            net.hybridize()
        loss = gluon.loss.L2Loss()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.03})
        for epoch in range(3):
            for X, y in data_iter:
                with autograd.record():
                    l = loss(net(X), y)
                l.backward()
                trainer.step(10)
            l = loss(net(features), labels)
            put(f"h{hybrid}_loss{epoch}", l)
        put(f"h{hybrid}_w", net[0].weight.data())
        put(f"h{hybrid}_type", type(net[0].weight.data()).__name__ + type(l).__name__ +
            type(X).__name__)
""")

SOFTMAX_SCRATCH = program("d2l_softmax_scratch", """
    npx.set_np()
    rs = onp.random.RandomState(6)
    features = np.array(rs.normal(0, 1, (40, 2, 4)).astype("float32"))
    labels = np.array(rs.randint(0, 3, 40).astype("float32"))
    num_inputs, num_outputs = 8, 3
    W = np.array(rs.normal(0, 0.01, (num_inputs, num_outputs)).astype("float32"))
    b = np.zeros(num_outputs)
    W.attach_grad()
    b.attach_grad()
    def softmax(X):
        X_exp = np.exp(X)
        partition = X_exp.sum(1, keepdims=True)
        return X_exp / partition
    def net(X):
        return softmax(np.dot(X.reshape((-1, W.shape[0])), W) + b)
    def cross_entropy(y_hat, y):
        return - np.log(y_hat[range(len(y_hat)), y])
    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.astype(y.dtype) == y
        return float(cmp.astype(y.dtype).sum())
    for epoch in range(3):
        for i in range(0, 40, 8):
            X, y = features[i:i + 8], labels[i:i + 8]
            with autograd.record():
                l = cross_entropy(net(X), y)
            l.backward()
            for param in (W, b):
                param[:] = param - 0.5 * param.grad / 8
        put(f"acc{epoch}", accuracy(net(features), labels))
        put(f"loss{epoch}", cross_entropy(net(features), labels).mean())
    put("W", W)
    put("probs", net(features[:3]))
""")

MLP = program("d2l_mlp", """
    npx.set_np()
    rs = onp.random.RandomState(2)
    X_all = np.array(rs.normal(0, 1, (48, 20)).astype("float32"))
    y_all = np.array(rs.randint(0, 5, 48).astype("float32"))
    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.astype(y.dtype) == y
        return float(cmp.astype(y.dtype).sum())
    for hybrid in (False, True):
        net = nn.HybridSequential()
        net.add(nn.Dense(32, activation="relu"), nn.Dense(5))
        net.initialize(mx.init.Normal(0.01))
        net(X_all[:1])
        set_params(net, rs)
        if hybrid:
            net.hybridize()
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        for epoch in range(4):
            for i in range(0, 48, 16):
                X, y = X_all[i:i + 16], y_all[i:i + 16]
                with autograd.record():
                    l = loss(net(X), y)
                l.backward()
                trainer.step(16)
            put(f"h{hybrid}_acc{epoch}", accuracy(net(X_all), y_all))
            put(f"h{hybrid}_loss{epoch}", loss(net(X_all), y_all).mean())
        put(f"h{hybrid}_probs", npx.softmax(net(X_all[:4])))
""")

CNN = program("d2l_cnn", """
    npx.set_np()
    rs = onp.random.RandomState(3)
    X = np.array(rs.normal(0, 1, (8, 1, 10, 10)).astype("float32"))
    y = np.array(rs.randint(0, 10, 8).astype("float32"))
    net = nn.HybridSequential()
    net.add(nn.Conv2D(channels=4, kernel_size=3, padding=1, activation="sigmoid"),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=6, kernel_size=3, activation="relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(16, activation="sigmoid"), nn.Dense(10))
    net.initialize()
    net(X)
    set_params(net, rs, 0.2)
    net.hybridize()
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.9})
    for step in range(3):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(X.shape[0])
        put(f"loss{step}", l.mean())
    put("conv_grad", net[0].weight.grad())
    put("out", net(X))
""")

ATTENTION = program("d2l_attention", """
    import math
    npx.set_np()
    rs = onp.random.RandomState(4)
    def masked_softmax(X, valid_lens):
        if valid_lens is None:
            return npx.softmax(X)
        shape = X.shape
        if valid_lens.ndim == 1:
            valid_lens = valid_lens.repeat(shape[1])
        else:
            valid_lens = valid_lens.reshape(-1)
        X = npx.sequence_mask(X.reshape(-1, shape[-1]), valid_lens, True, value=-1e6, axis=1)
        return npx.softmax(X).reshape(shape)
    class AdditiveAttention(nn.Block):
        def __init__(self, num_hiddens, dropout, **kwargs):
            super().__init__(**kwargs)
            self.W_k = nn.Dense(num_hiddens, use_bias=False, flatten=False)
            self.W_q = nn.Dense(num_hiddens, use_bias=False, flatten=False)
            self.w_v = nn.Dense(1, use_bias=False, flatten=False)
            self.dropout = nn.Dropout(dropout)
        def forward(self, queries, keys, values, valid_lens):
            queries, keys = self.W_q(queries), self.W_k(keys)
            features = np.expand_dims(queries, axis=2) + np.expand_dims(keys, axis=1)
            features = np.tanh(features)
            scores = np.squeeze(self.w_v(features), axis=-1)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return npx.batch_dot(self.dropout(self.attention_weights), values)
    class DotProductAttention(nn.Block):
        def __init__(self, dropout, **kwargs):
            super().__init__(**kwargs)
            self.dropout = nn.Dropout(dropout)
        def forward(self, queries, keys, values, valid_lens=None):
            d = queries.shape[-1]
            scores = npx.batch_dot(queries, keys, transpose_b=True) / math.sqrt(d)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return npx.batch_dot(self.dropout(self.attention_weights), values)
    put("masked2", masked_softmax(np.array(rs.rand(2, 2, 4).astype("float32")), np.array([2, 3])))
    put("masked3", masked_softmax(np.array(rs.rand(2, 2, 4).astype("float32")),
                                  np.array([[1, 3], [2, 4]])))
    queries = np.array(rs.normal(0, 1, (2, 1, 20)).astype("float32"))
    keys = np.ones((2, 10, 2))
    values = np.arange(40).reshape(1, 10, 4).repeat(2, axis=0)
    valid_lens = np.array([2, 6])
    attention = AdditiveAttention(num_hiddens=8, dropout=0.1)
    attention.initialize()
    attention(queries, keys, values, valid_lens)
    set_params(attention, rs)
    put("additive", attention(queries, keys, values, valid_lens))
    put("additive_weights", attention.attention_weights)
    with autograd.record():
        out = attention(queries, keys, values, valid_lens)
        loss = (out ** 2).mean()
    loss.backward()
    put("additive_grad_wq", attention.W_q.weight.grad())
    dot = DotProductAttention(dropout=0.5)
    dot.initialize()
    q2 = np.array(rs.normal(0, 1, (2, 1, 2)).astype("float32"))
    put("dot", dot(q2, keys, values, valid_lens))
    put("dot_weights", dot.attention_weights)
""")


def test_linear_regression_from_scratch_matches_mxnet():
    res = compare(LINREG_SCRATCH)
    assert res["loss2"] < res["loss0"]


def test_linear_regression_with_gluon_matches_mxnet():
    res = compare(LINREG_GLUON)
    assert str(res["hTrue_type"]) == "ndarray" * 3
    assert res["hTrue_loss2"].mean() < res["hTrue_loss0"].mean()


def test_softmax_regression_from_scratch_matches_mxnet():
    compare(SOFTMAX_SCRATCH)


def test_mlp_classification_matches_mxnet():
    compare(MLP, rtol=1e-4, atol=1e-5)


def test_small_cnn_matches_mxnet():
    compare(CNN, rtol=1e-4, atol=1e-5)


def test_attention_scoring_matches_mxnet():
    compare(ATTENTION)
