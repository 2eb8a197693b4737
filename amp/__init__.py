"""Automatic mixed precision (MXNet 1.9's ``mxnet.contrib.amp``; also ``kiln.contrib.amp``).

Training::

    amp.init()                      # float16 where the op registry says so, before the model
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    amp.init_trainer(trainer)       # dynamic loss scaling
    with autograd.record():
        loss = loss_fn(net(x), y)
        with amp.scale_loss(loss, trainer) as scaled:
            autograd.backward(scaled)
    trainer.step(batch_size)        # skipped (scale halved) when a gradient overflowed

Inference: ``amp.convert_hybrid_block(net)`` / ``convert_model`` / ``convert_symbol``.
Which op runs in which precision is each op's ``amp`` facet in the registry.
"""
from .convert import convert_hybrid_block, convert_model, convert_symbol
from .lists import (list_conditional_fp32_ops, list_fp16_ops, list_fp32_ops, list_lp16_fp32_ops,
                    list_lp16_ops, list_lp16_use_fp32_params, list_loss_output_functions,
                    list_widest_type_cast)
from .loss_scaler import LossScaler
from .training import init, init_trainer, is_initialized, reset, scale_loss, unscale

__all__ = ["init", "init_trainer", "scale_loss", "unscale", "convert_model",
           "convert_hybrid_block", "convert_symbol", "list_lp16_ops", "list_fp16_ops",
           "list_fp32_ops", "list_lp16_fp32_ops", "list_conditional_fp32_ops",
           "list_widest_type_cast", "list_loss_output_functions", "list_lp16_use_fp32_params",
           "LossScaler", "reset", "is_initialized"]
