"""More Dive-into-Deep-Learning programs (MXNet edition, ``mx.np`` form), written as the book
writes them: MLP from scratch, weight decay, dropout, softmax regression (concise), batch
normalization from scratch on LeNet, NiN/VGG blocks with a ResNet residual block, an RNN from
scratch on a tiny text, and a Transformer encoder block with multi-head attention. Each runs
unchanged under kiln and under MXNet 1.9.1 on the same local synthetic data and initial weights
(``_np_oracle``), and the results must agree. Random draws that the two libraries make
differently (dropout masks) only enter through checks that hold for any draw."""
import numpy as onp
from _np_oracle import compare, program

MLP_SCRATCH = program("d2l_mlp_scratch", """
    npx.set_np()
    rs = onp.random.RandomState(21)
    X_all = np.array(rs.normal(0, 1, (32, 1, 6, 6)).astype("float32"))
    y_all = np.array(rs.randint(0, 4, 32).astype("float32"))
    num_inputs, num_outputs, num_hiddens = 36, 4, 16
    W1 = np.array(rs.normal(0, 0.1, (num_inputs, num_hiddens)).astype("float32"))
    b1 = np.zeros(num_hiddens)
    W2 = np.array(rs.normal(0, 0.1, (num_hiddens, num_outputs)).astype("float32"))
    b2 = np.zeros(num_outputs)
    params = [W1, b1, W2, b2]
    for param in params:
        param.attach_grad()
    def relu(X):
        return np.maximum(X, 0)
    def net(X):
        X = X.reshape((-1, num_inputs))
        H = relu(np.dot(X, W1) + b1)
        return np.dot(H, W2) + b2
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    def sgd(params, lr, batch_size):
        for param in params:
            param[:] = param - lr * param.grad / batch_size
    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.astype(y.dtype) == y
        return float(cmp.astype(y.dtype).sum())
    for epoch in range(3):
        for i in range(0, 32, 8):
            X, y = X_all[i:i + 8], y_all[i:i + 8]
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            sgd(params, 0.5, X.shape[0])
        put(f"loss{epoch}", loss(net(X_all), y_all).mean())
        put(f"acc{epoch}", accuracy(net(X_all), y_all))
    put("W1", W1)
    put("grad_b2", b2.grad)
""")

WEIGHT_DECAY = program("d2l_weight_decay", """
    npx.set_np()
    rs = onp.random.RandomState(22)
    n_train, num_inputs, batch_size = 20, 50, 5
    true_w, true_b = np.ones((num_inputs, 1)) * 0.01, 0.05
    features = np.array(rs.normal(0, 1, (n_train, num_inputs)).astype("float32"))
    labels = np.dot(features, true_w) + true_b
    def load_array(data_arrays, batch_size, is_train=True):
        dataset = gluon.data.ArrayDataset(*data_arrays)
        return gluon.data.DataLoader(dataset, batch_size, shuffle=False)
    train_iter = load_array((features, labels), batch_size)
    def init_params():
        w = np.array(rs.normal(0, 1, (num_inputs, 1)).astype("float32"))
        b = np.zeros(1)
        w.attach_grad()
        b.attach_grad()
        return [w, b]
    def l2_penalty(w):
        return (w**2).sum() / 2
    def linreg(X, w, b):
        return np.dot(X, w) + b
    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
    def sgd(params, lr, batch_size):
        for param in params:
            param[:] = param - lr * param.grad / batch_size
    def train(lambd):
        w, b = init_params()
        net, loss = lambda X: linreg(X, w, b), squared_loss
        num_epochs, lr = 5, 0.003
        for epoch in range(num_epochs):
            for X, y in train_iter:
                with autograd.record():
                    l = loss(net(X), y) + lambd * l2_penalty(w)
                l.backward()
                sgd([w, b], lr, batch_size)
        return float(np.linalg.norm(w)), loss(net(features), labels).mean()
    put("scratch0", train(lambd=0))
    put("scratch3", train(lambd=3))
    def train_concise(wd):
        net = nn.Sequential()
        net.add(nn.Dense(1))
        net.initialize(mx.init.Normal(sigma=1))
        net(features[:1])
        set_params(net, rs, 1.0)
        loss = gluon.loss.L2Loss()
        num_epochs, lr = 5, 0.003
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "wd": wd})
        net.collect_params(".*bias").setattr("wd_mult", 0)
        for epoch in range(num_epochs):
            for X, y in train_iter:
                with autograd.record():
                    l = loss(net(X), y)
                l.backward()
                trainer.step(batch_size)
        return np.linalg.norm(net[0].weight.data()), net[0].bias.data()
    put("concise0", train_concise(0))
    put("concise3", train_concise(3))
""")

DROPOUT = program("d2l_dropout", """
    npx.set_np()
    rs = onp.random.RandomState(23)
    def dropout_layer(X, dropout):
        assert 0 <= dropout <= 1
        if dropout == 1:
            return np.zeros_like(X)
        if dropout == 0:
            return X
        mask = np.random.uniform(0, 1, X.shape) > dropout
        return mask.astype(np.float32) * X / (1.0 - dropout)
    X = np.arange(16).reshape(2, 8)
    put("p0", dropout_layer(X, 0))
    put("p1", dropout_layer(X, 1))
    half = dropout_layer(X, 0.5)
    put("p05_kept_scaled", ((half == 0) | (half == 2 * X)).all())
    num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 16, 3, 12, 8
    W1 = np.array(rs.normal(0, 0.1, (num_inputs, num_hiddens1)).astype("float32"))
    b1 = np.zeros(num_hiddens1)
    W2 = np.array(rs.normal(0, 0.1, (num_hiddens1, num_hiddens2)).astype("float32"))
    b2 = np.zeros(num_hiddens2)
    W3 = np.array(rs.normal(0, 0.1, (num_hiddens2, num_outputs)).astype("float32"))
    b3 = np.zeros(num_outputs)
    params = [W1, b1, W2, b2, W3, b3]
    for param in params:
        param.attach_grad()
    dropout1, dropout2 = 0.2, 0.5
    def net(X):
        X = X.reshape(-1, num_inputs)
        H1 = npx.relu(np.dot(X, W1) + b1)
        if autograd.is_training():
            H1 = dropout_layer(H1, dropout1)
        H2 = npx.relu(np.dot(H1, W2) + b2)
        if autograd.is_training():
            H2 = dropout_layer(H2, dropout2)
        return np.dot(H2, W3) + b3
    data = np.array(rs.normal(0, 1, (6, 16)).astype("float32"))
    put("scratch_predict", net(data))
    with autograd.record():
        train_out = net(data)
    put("scratch_train_shape", onp.array(train_out.shape))
    concise = nn.Sequential()
    concise.add(nn.Dense(12, activation="relu"), nn.Dropout(dropout1),
                nn.Dense(8, activation="relu"), nn.Dropout(dropout2), nn.Dense(3))
    concise.initialize(mx.init.Normal(sigma=0.01))
    concise(data)
    set_params(concise, rs, 0.1)
    put("concise_predict", concise(data))
    with autograd.record():
        l = gluon.loss.SoftmaxCrossEntropyLoss()(concise(data), np.array([0, 1, 2, 0, 1, 2]))
    l.backward()
    put("concise_grad_finite", np.isfinite(concise[0].weight.grad()).all())
""")

SOFTMAX_CONCISE = program("d2l_softmax_concise", """
    npx.set_np()
    rs = onp.random.RandomState(24)
    features = np.array(rs.normal(0, 1, (30, 1, 4, 4)).astype("float32"))
    labels = np.array(rs.randint(0, 5, 30).astype("int32"))
    train_iter = gluon.data.DataLoader(gluon.data.ArrayDataset(features, labels), 10)
    net = nn.Sequential()
    net.add(nn.Dense(5))
    net.initialize(mx.init.Normal(sigma=0.01))
    net(features[:1])
    set_params(net, rs, 0.01)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    for epoch in range(3):
        for X, y in train_iter:
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(X.shape[0])
        put(f"loss{epoch}", loss(net(features), labels).mean())
        put(f"acc{epoch}", (net(features).argmax(axis=1) == labels.astype("int64")).sum())
    put("label_is_int32", onp.array(y.dtype == onp.int32))
""")

BATCH_NORM = program("d2l_batch_norm_scratch", """
    npx.set_np()
    rs = onp.random.RandomState(25)
    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not autograd.is_training():
            X_hat = (X - moving_mean) / np.sqrt(moving_var + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                mean = X.mean(axis=0)
                var = ((X - mean) ** 2).mean(axis=0)
            else:
                mean = X.mean(axis=(0, 2, 3), keepdims=True)
                var = ((X - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
            X_hat = (X - mean) / np.sqrt(var + eps)
            moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
            moving_var = momentum * moving_var + (1.0 - momentum) * var
        Y = gamma * X_hat + beta
        return Y, moving_mean, moving_var
    class BatchNorm(nn.Block):
        def __init__(self, num_features, num_dims, **kwargs):
            super().__init__(**kwargs)
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            self.gamma = self.params.get("gamma", shape=shape, init=mx.init.One())
            self.beta = self.params.get("beta", shape=shape, init=mx.init.Zero())
            self.moving_mean = np.zeros(shape)
            self.moving_var = np.ones(shape)
        def forward(self, X):
            if self.moving_mean.ctx != X.ctx:
                self.moving_mean = self.moving_mean.copyto(X.ctx)
                self.moving_var = self.moving_var.copyto(X.ctx)
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma.data(), self.beta.data(), self.moving_mean,
                self.moving_var, eps=1e-12, momentum=0.9)
            return Y
    X = np.array(rs.normal(0, 1, (6, 1, 12, 12)).astype("float32"))
    y = np.array(rs.randint(0, 10, 6).astype("float32"))
    for concise in (False, True):
        net = nn.Sequential()
        def bn(n, d):
            return nn.BatchNorm() if concise else BatchNorm(n, num_dims=d)
        net.add(nn.Conv2D(6, kernel_size=5), bn(6, 4), nn.Activation("sigmoid"),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Conv2D(16, kernel_size=3), bn(16, 4), nn.Activation("sigmoid"),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Dense(24), bn(24, 2), nn.Activation("sigmoid"),
                nn.Dense(10))
        net.initialize()
        net(X)
        for name, p in sorted(net.collect_params().items()):
            if name.endswith("weight"):
                p.set_data(np.array(rs.normal(0, 0.3, p.shape).astype("float32")))
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
        for step in range(3):
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(X.shape[0])
            put(f"c{concise}_loss{step}", l.mean())
        put(f"c{concise}_predict", net(X))
        put(f"c{concise}_gamma", net[1].gamma.data().reshape(-1))
        moving = net[1].running_mean.data() if concise else net[1].moving_mean
        put(f"c{concise}_moving_mean", moving.reshape(-1))
""")

MODERN_CNN = program("d2l_nin_vgg_resnet", """
    npx.set_np()
    rs = onp.random.RandomState(26)
    def vgg_block(num_convs, num_channels):
        blk = nn.Sequential()
        for _ in range(num_convs):
            blk.add(nn.Conv2D(num_channels, kernel_size=3, padding=1, activation="relu"))
        blk.add(nn.MaxPool2D(pool_size=2, strides=2))
        return blk
    def nin_block(num_channels, kernel_size, strides, padding):
        blk = nn.Sequential()
        blk.add(nn.Conv2D(num_channels, kernel_size, strides, padding, activation="relu"),
                nn.Conv2D(num_channels, kernel_size=1, activation="relu"),
                nn.Conv2D(num_channels, kernel_size=1, activation="relu"))
        return blk
    class Residual(nn.Block):
        def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
            super().__init__(**kwargs)
            self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
            self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.BatchNorm()
            self.bn2 = nn.BatchNorm()
        def forward(self, X):
            Y = npx.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            return npx.relu(Y + X)
    blk = Residual(3)
    blk.initialize()
    X = np.array(rs.normal(0, 1, (4, 3, 6, 6)).astype("float32"))
    put("residual_shape", onp.array(blk(X).shape))
    blk = Residual(6, use_1x1conv=True, strides=2)
    blk.initialize()
    put("residual_1x1_shape", onp.array(blk(X).shape))
    net = nn.Sequential()
    net.add(nin_block(8, kernel_size=3, strides=1, padding=1),
            vgg_block(2, 8),
            Residual(8), Residual(12, use_1x1conv=True, strides=2),
            nn.GlobalAvgPool2D(), nn.Dense(5))
    data = np.array(rs.normal(0, 1, (4, 1, 12, 12)).astype("float32"))
    y = np.array(rs.randint(0, 5, 4).astype("float32"))
    net.initialize(mx.init.Xavier())
    net(data)
    for p in net.collect_params().values():
        if p.name.endswith("weight") and len(p.shape) > 1:
            p.set_data(np.array(rs.normal(0, 0.3, p.shape).astype("float32")))
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    for step in range(3):
        with autograd.record():
            l = loss(net(data), y)
        l.backward()
        trainer.step(data.shape[0])
        put(f"loss{step}", l.mean())
    put("predict", net(data))
""")

RNN_SCRATCH = program("d2l_rnn_scratch", """
    import math
    npx.set_np()
    rs = onp.random.RandomState(27)
    text = "the time machine by h g wells the time traveller for so it will be convenient " * 3
    idx_to_token = sorted(set(text))
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    corpus = [token_to_idx[c] for c in text]
    vocab_size, num_hiddens, num_steps, batch_size = len(idx_to_token), 16, 5, 2
    def seq_data_iter_sequential(corpus, batch_size, num_steps):
        offset = 3
        num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
        Xs = np.array(corpus[offset: offset + num_tokens])
        Ys = np.array(corpus[offset + 1: offset + 1 + num_tokens])
        Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
        num_batches = Xs.shape[1] // num_steps
        for i in range(0, num_steps * num_batches, num_steps):
            X = Xs[:, i: i + num_steps]
            Y = Ys[:, i: i + num_steps]
            yield X, Y
    def get_params(vocab_size, num_hiddens, device):
        num_inputs = num_outputs = vocab_size
        def normal(shape):
            return np.array(rs.normal(0, 0.1, shape).astype("float32"), ctx=device)
        W_xh = normal((num_inputs, num_hiddens))
        W_hh = normal((num_hiddens, num_hiddens))
        b_h = np.zeros(num_hiddens, ctx=device)
        W_hq = normal((num_hiddens, num_outputs))
        b_q = np.zeros(num_outputs, ctx=device)
        params = [W_xh, W_hh, b_h, W_hq, b_q]
        for param in params:
            param.attach_grad()
        return params
    def init_rnn_state(batch_size, num_hiddens, device):
        return (np.zeros((batch_size, num_hiddens), ctx=device), )
    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = np.tanh(np.dot(X, W_xh) + np.dot(H, W_hh) + b_h)
            Y = np.dot(H, W_hq) + b_q
            outputs.append(Y)
        return np.concatenate(outputs, axis=0), (H,)
    class RNNModelScratch:
        def __init__(self, vocab_size, num_hiddens, device, get_params, init_state,
                     forward_fn):
            self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
            self.params = get_params(vocab_size, num_hiddens, device)
            self.init_state, self.forward_fn = init_state, forward_fn
        def __call__(self, X, state):
            X = npx.one_hot(X.T, self.vocab_size)
            return self.forward_fn(X, state, self.params)
        def begin_state(self, batch_size, ctx):
            return self.init_state(batch_size, self.num_hiddens, ctx)
    device = npx.cpu()
    net = RNNModelScratch(vocab_size, num_hiddens, device, get_params, init_rnn_state, rnn)
    X = np.arange(10).reshape((2, 5))
    state = net.begin_state(X.shape[0], device)
    Y, new_state = net(X, state)
    put("shapes", onp.array(Y.shape + new_state[0].shape))
    def predict_ch8(prefix, num_preds, net, device):
        state = net.begin_state(batch_size=1, ctx=device)
        outputs = [token_to_idx[prefix[0]]]
        get_input = lambda: np.array([outputs[-1]], ctx=device).reshape((1, 1))
        for y in prefix[1:]:
            _, state = net(get_input(), state)
            outputs.append(token_to_idx[y])
        for _ in range(num_preds):
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(axis=1).reshape(1)))
        return "".join([idx_to_token[i] for i in outputs])
    def grad_clipping(net, theta):
        if isinstance(net, gluon.Block):
            params = [p.data() for p in net.collect_params().values()]
        else:
            params = net.params
        norm = math.sqrt(sum((p.grad ** 2).sum() for p in params))
        if norm > theta:
            for param in params:
                param.grad[:] *= theta / norm
        return norm
    def sgd(params, lr, batch_size):
        for param in params:
            param[:] = param - lr * param.grad / batch_size
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    for epoch in range(3):
        state, total, count, norms = None, 0.0, 0, []
        for X, Y in seq_data_iter_sequential(corpus, batch_size, num_steps):
            if state is None:
                state = net.begin_state(batch_size=X.shape[0], ctx=device)
            else:
                for s in state:
                    s.detach()
            y = Y.T.reshape(-1)
            X, y = X.as_in_ctx(device), y.as_in_ctx(device)
            with autograd.record():
                y_hat, state = net(X, state)
                l = loss(y_hat, y).mean()
            l.backward()
            norms.append(grad_clipping(net, 1))
            sgd(net.params, 1.0, batch_size=1)
            total, count = total + float(l) * y.size, count + y.size
        put(f"perplexity{epoch}", math.exp(total / count))
        put(f"norms{epoch}", onp.array(norms))
    put("W_hh", net.params[1])
    put("prediction", onp.array([ord(c) for c in predict_ch8("time ", 10, net, device)]))
""")

TRANSFORMER = program("d2l_transformer_encoder", """
    import math
    npx.set_np()
    rs = onp.random.RandomState(28)
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
    tokens = np.array(rs.randint(0, 7, (3, 5)).astype("float32"))
    valid_lens = np.array([3, 5, 2])
    for hybrid in (False, True):
        Block = nn.HybridBlock if hybrid else nn.Block
        class DotProductAttention(Block):
            def __init__(self, dropout, **kwargs):
                super().__init__(**kwargs)
                self.dropout = nn.Dropout(dropout)
            def forward(self, queries, keys, values, valid_lens=None):
                d = queries.shape[-1]
                scores = npx.batch_dot(queries, keys, transpose_b=True) / math.sqrt(d)
                self.attention_weights = masked_softmax(scores, valid_lens)
                return npx.batch_dot(self.dropout(self.attention_weights), values)
        def transpose_qkv(X, num_heads):
            X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
            X = X.transpose(0, 2, 1, 3)
            return X.reshape(-1, X.shape[2], X.shape[3])
        def transpose_output(X, num_heads):
            X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
            X = X.transpose(0, 2, 1, 3)
            return X.reshape(X.shape[0], X.shape[1], -1)
        class MultiHeadAttention(Block):
            def __init__(self, num_hiddens, num_heads, dropout, use_bias=False, **kwargs):
                super().__init__(**kwargs)
                self.num_heads = num_heads
                self.attention = DotProductAttention(dropout)
                self.W_q = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
                self.W_k = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
                self.W_v = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
                self.W_o = nn.Dense(num_hiddens, use_bias=use_bias, flatten=False)
            def forward(self, queries, keys, values, valid_lens):
                queries = transpose_qkv(self.W_q(queries), self.num_heads)
                keys = transpose_qkv(self.W_k(keys), self.num_heads)
                values = transpose_qkv(self.W_v(values), self.num_heads)
                if valid_lens is not None:
                    valid_lens = valid_lens.repeat(self.num_heads, axis=0)
                output = self.attention(queries, keys, values, valid_lens)
                output_concat = transpose_output(output, self.num_heads)
                return self.W_o(output_concat)
        class PositionWiseFFN(Block):
            def __init__(self, ffn_num_hiddens, ffn_num_outputs, **kwargs):
                super().__init__(**kwargs)
                self.dense1 = nn.Dense(ffn_num_hiddens, flatten=False, activation="relu")
                self.dense2 = nn.Dense(ffn_num_outputs, flatten=False)
            def forward(self, X):
                return self.dense2(self.dense1(X))
        class AddNorm(Block):
            def __init__(self, dropout, **kwargs):
                super().__init__(**kwargs)
                self.dropout = nn.Dropout(dropout)
                self.ln = nn.LayerNorm()
            def forward(self, X, Y):
                return self.ln(self.dropout(Y) + X)
        class PositionalEncoding(Block):
            def __init__(self, num_hiddens, dropout, max_len=1000):
                super().__init__()
                self.dropout = nn.Dropout(dropout)
                self.P = np.zeros((1, max_len, num_hiddens))
                X = np.arange(max_len).reshape(-1, 1) / np.power(
                    10000, np.arange(0, num_hiddens, 2) / num_hiddens)
                self.P[:, :, 0::2] = np.sin(X)
                self.P[:, :, 1::2] = np.cos(X)
            def forward(self, X):
                X = X + self.P[:, :X.shape[1], :].as_in_ctx(X.ctx)
                return self.dropout(X)
        class EncoderBlock(Block):
            def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout,
                         use_bias=False, **kwargs):
                super().__init__(**kwargs)
                self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
                self.addnorm1 = AddNorm(dropout)
                self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
                self.addnorm2 = AddNorm(dropout)
            def forward(self, X, valid_lens):
                Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
                return self.addnorm2(Y, self.ffn(Y))
        class Encoder(Block):
            def __init__(self, vocab_size, num_hiddens, **kwargs):
                super().__init__(**kwargs)
                self.num_hiddens = num_hiddens
                self.embedding = nn.Embedding(vocab_size, num_hiddens)
                self.pos_encoding = PositionalEncoding(num_hiddens, 0)
                self.blks = nn.HybridSequential() if hybrid else nn.Sequential()
                for _ in range(2):
                    self.blks.add(EncoderBlock(num_hiddens, 16, 2, 0.0))
                self.dense = nn.Dense(vocab_size, flatten=False)
            def forward(self, X, valid_lens):
                X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
                for blk in self.blks:
                    X = blk(X, valid_lens)
                return self.dense(X)
        net = Encoder(7, 8)
        net.initialize()
        net(tokens, valid_lens)
        rsp = onp.random.RandomState(29)
        for p in net.collect_params().values():
            p.set_data(np.array(rsp.normal(0, 0.3, p.shape).astype("float32")))
        if hybrid:
            net.hybridize()
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
        for step in range(3):
            with autograd.record():
                l = loss(net(tokens, valid_lens), tokens)
            l.backward()
            trainer.step(tokens.shape[0])
            put(f"h{hybrid}_loss{step}", l)
        put(f"h{hybrid}_out", net(tokens, valid_lens))
        put(f"h{hybrid}_emb_grad", net.embedding.weight.grad())
""")


def test_mlp_from_scratch_matches_mxnet():
    res = compare(MLP_SCRATCH)
    assert res["loss2"] < res["loss0"]


def test_weight_decay_matches_mxnet():
    res = compare(WEIGHT_DECAY)
    assert res["scratch3.0"] < res["scratch0.0"] and res["concise3.0"] < res["concise0.0"]


def test_dropout_matches_mxnet():
    res = compare(DROPOUT)
    assert res["p05_kept_scaled"] and res["concise_grad_finite"]


def test_softmax_regression_concise_matches_mxnet():
    compare(SOFTMAX_CONCISE)


def test_batch_norm_from_scratch_matches_mxnet():
    res = compare(BATCH_NORM, rtol=1e-3, atol=1e-4)
    assert res["cFalse_loss2"] < res["cFalse_loss0"]


def test_nin_vgg_resnet_blocks_match_mxnet():
    compare(MODERN_CNN, rtol=1e-3, atol=1e-4)


def test_rnn_from_scratch_matches_mxnet():
    res = compare(RNN_SCRATCH, rtol=1e-3, atol=1e-4)
    assert res["perplexity2"] < res["perplexity0"]


def test_transformer_encoder_matches_mxnet_eager_and_hybridized():
    res = compare(TRANSFORMER, rtol=1e-3, atol=1e-4)
    for key in [k for k in res if k.startswith("hFalse")]:
        onp.testing.assert_allclose(res[key], res["hTrue" + key[6:]], rtol=1e-4, atol=1e-5)
