/*
 * ops.h - prepare (load-time validation + parameters) and eval (run) entry points of
 * every operator. One operator per op_<name>.c; the tables are in registry.c.
 */
#ifndef TL_NN_OPS_H
#define TL_NN_OPS_H

#include "../nn_internal.h"

#define TL_NN_DECLARE_OP(name)                                                           \
    TL_NN_COLD tl_nn_status_t tl_nn_prep_##name(tl_nn_prep_t *p);                        \
    void tl_nn_eval_##name(const tl_nn_ctx_t *c, const void *params)

TL_NN_DECLARE_OP(conv);
TL_NN_DECLARE_OP(depthwise);
TL_NN_DECLARE_OP(fully_connected);
TL_NN_DECLARE_OP(max_pool);
TL_NN_DECLARE_OP(avg_pool);
TL_NN_DECLARE_OP(mean);
TL_NN_DECLARE_OP(softmax);
TL_NN_DECLARE_OP(logistic);
TL_NN_DECLARE_OP(tanh);
TL_NN_DECLARE_OP(relu);
TL_NN_DECLARE_OP(relu6);
TL_NN_DECLARE_OP(leaky_relu);
TL_NN_DECLARE_OP(add);
TL_NN_DECLARE_OP(mul);
TL_NN_DECLARE_OP(concat);
TL_NN_DECLARE_OP(shape);
TL_NN_DECLARE_OP(strided_slice);
TL_NN_DECLARE_OP(pack);
TL_NN_DECLARE_OP(pad);
TL_NN_DECLARE_OP(space_to_batch);
TL_NN_DECLARE_OP(batch_to_space);
TL_NN_DECLARE_OP(quantize);
TL_NN_DECLARE_OP(dequantize);

/* RESHAPE, SQUEEZE, EXPAND_DIMS: validated at load, no run-time work (aliases). */
TL_NN_COLD tl_nn_status_t tl_nn_prep_reshape(tl_nn_prep_t *p);
TL_NN_COLD tl_nn_status_t tl_nn_prep_squeeze(tl_nn_prep_t *p);
TL_NN_COLD tl_nn_status_t tl_nn_prep_expand_dims(tl_nn_prep_t *p);

#endif /* TL_NN_OPS_H */
