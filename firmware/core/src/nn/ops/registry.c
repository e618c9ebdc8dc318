/*
 * registry.c - builtin operator -> prepare function, kernel id -> eval function.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include "ops.h"

static const tl_nn_op_reg_t k_ops[] = {
    {TL_OP_ADD, TL_BO_ADD, tl_nn_prep_add},
    {TL_OP_AVERAGE_POOL_2D, TL_BO_POOL2D, tl_nn_prep_avg_pool},
    {TL_OP_CONCATENATION, TL_BO_CONCATENATION, tl_nn_prep_concat},
    {TL_OP_CONV_2D, TL_BO_CONV2D, tl_nn_prep_conv},
    {TL_OP_DEPTHWISE_CONV_2D, TL_BO_DEPTHWISE_CONV2D, tl_nn_prep_depthwise},
    {TL_OP_DEQUANTIZE, TL_BO_DEQUANTIZE, tl_nn_prep_dequantize},
    {TL_OP_FULLY_CONNECTED, TL_BO_FULLY_CONNECTED, tl_nn_prep_fully_connected},
    {TL_OP_LOGISTIC, TL_BO_NONE, tl_nn_prep_logistic},
    {TL_OP_MAX_POOL_2D, TL_BO_POOL2D, tl_nn_prep_max_pool},
    {TL_OP_MUL, TL_BO_MUL, tl_nn_prep_mul},
    {TL_OP_RELU, TL_BO_NONE, tl_nn_prep_relu},
    {TL_OP_RELU6, TL_BO_NONE, tl_nn_prep_relu6},
    {TL_OP_RESHAPE, TL_BO_RESHAPE, tl_nn_prep_reshape},
    {TL_OP_SOFTMAX, TL_BO_SOFTMAX, tl_nn_prep_softmax},
    {TL_OP_TANH, TL_BO_NONE, tl_nn_prep_tanh},
    {TL_OP_PAD, TL_BO_PAD, tl_nn_prep_pad},
    {TL_OP_BATCH_TO_SPACE_ND, TL_BO_BATCH_TO_SPACE_ND, tl_nn_prep_batch_to_space},
    {TL_OP_SPACE_TO_BATCH_ND, TL_BO_SPACE_TO_BATCH_ND, tl_nn_prep_space_to_batch},
    {TL_OP_MEAN, TL_BO_REDUCER, tl_nn_prep_mean},
    {TL_OP_SQUEEZE, TL_BO_SQUEEZE, tl_nn_prep_squeeze},
    {TL_OP_STRIDED_SLICE, TL_BO_STRIDED_SLICE, tl_nn_prep_strided_slice},
    {TL_OP_PADV2, TL_BO_PADV2, tl_nn_prep_pad},
    {TL_OP_EXPAND_DIMS, TL_BO_EXPAND_DIMS, tl_nn_prep_expand_dims},
    {TL_OP_SHAPE, TL_BO_SHAPE, tl_nn_prep_shape},
    {TL_OP_PACK, TL_BO_PACK, tl_nn_prep_pack},
    {TL_OP_LEAKY_RELU, TL_BO_LEAKY_RELU, tl_nn_prep_leaky_relu},
    {TL_OP_QUANTIZE, TL_BO_QUANTIZE, tl_nn_prep_quantize},
};

const tl_nn_op_reg_t *tl_nn_find_op(int32_t builtin)
{
    for (size_t i = 0; i < sizeof k_ops / sizeof k_ops[0]; ++i) {
        if (k_ops[i].builtin == builtin) {
            return &k_ops[i];
        }
    }
    return NULL;
}

const tl_nn_eval_fn tl_nn_eval_table[TL_NN_K_COUNT] = {
    [TL_NN_K_CONV] = tl_nn_eval_conv,
    [TL_NN_K_DWCONV] = tl_nn_eval_depthwise,
    [TL_NN_K_FC] = tl_nn_eval_fully_connected,
    [TL_NN_K_MAXPOOL] = tl_nn_eval_max_pool,
    [TL_NN_K_AVGPOOL] = tl_nn_eval_avg_pool,
    [TL_NN_K_MEAN] = tl_nn_eval_mean,
    [TL_NN_K_SOFTMAX] = tl_nn_eval_softmax,
    [TL_NN_K_LOGISTIC] = tl_nn_eval_logistic,
    [TL_NN_K_TANH] = tl_nn_eval_tanh,
    [TL_NN_K_RELU] = tl_nn_eval_relu,
    [TL_NN_K_RELU6] = tl_nn_eval_relu6,
    [TL_NN_K_LEAKY_RELU] = tl_nn_eval_leaky_relu,
    [TL_NN_K_ADD] = tl_nn_eval_add,
    [TL_NN_K_MUL] = tl_nn_eval_mul,
    [TL_NN_K_CONCAT] = tl_nn_eval_concat,
    [TL_NN_K_SHAPE] = tl_nn_eval_shape,
    [TL_NN_K_STRIDED_SLICE] = tl_nn_eval_strided_slice,
    [TL_NN_K_PACK] = tl_nn_eval_pack,
    [TL_NN_K_PAD] = tl_nn_eval_pad,
    [TL_NN_K_SPACE_TO_BATCH] = tl_nn_eval_space_to_batch,
    [TL_NN_K_BATCH_TO_SPACE] = tl_nn_eval_batch_to_space,
    [TL_NN_K_QUANTIZE] = tl_nn_eval_quantize,
    [TL_NN_K_DEQUANTIZE] = tl_nn_eval_dequantize,
};
