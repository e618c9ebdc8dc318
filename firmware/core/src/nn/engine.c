/*
 * engine.c - public API of the inference engine: run, tensor views, names, messages.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include <string.h>

#include "dot.h"
#include "nn_internal.h"

tl_nn_status_t tl_nn_invoke(tl_nn_model_t *m)
{
    if (m == NULL) {
        return TL_NN_ERR_ARG;
    }
    if (!m->loaded) {
        return TL_NN_ERR_NOT_LOADED;
    }
    tl_nn_ctx_t c;
    c.arena = m->arena;
    c.model = m->model;
    c.refs = (const uint32_t *)(const void *)(m->arena + m->refs_off);
    const tl_nn_exec_t *exec = (const tl_nn_exec_t *)(const void *)(m->arena + m->exec_off);
    for (uint32_t i = 0; i < m->n_exec; ++i) {
        tl_nn_eval_table[exec[i].kernel](&c, m->arena + exec[i].params_off);
    }
    return TL_NN_OK;
}

size_t tl_nn_input_count(const tl_nn_model_t *m)
{
    return (m != NULL && m->loaded) ? m->n_inputs : 0;
}

size_t tl_nn_output_count(const tl_nn_model_t *m)
{
    return (m != NULL && m->loaded) ? m->n_outputs : 0;
}

static tl_nn_status_t view(const tl_nn_model_t *m, uint32_t vec_pos, size_t count, size_t index,
                           tl_nn_tensor_t *out)
{
    if (out == NULL) {
        return TL_NN_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (!m->loaded) {
        return TL_NN_ERR_NOT_LOADED;
    }
    if (index >= count) {
        return TL_NN_ERR_ARG;
    }
    /* the model was fully validated at load: these reads cannot fail on an unchanged model */
    const tl_fb_t fb = {m->model, m->model_len};
    const tl_fb_vec_t tensors = {m->tensors_vec, m->n_tensors};
    const uint32_t t = tl_fb_rd_u32(m->model + vec_pos + 4u * index);
    tl_fb_table_t tt;
    tl_fb_vec_t shape, name;
    uint8_t type = TL_TT_FLOAT32;
    if (t >= m->n_tensors || tl_fb_vec_table(&fb, &tensors, t, &tt) != TL_NN_OK ||
        tl_fb_vec_field(&fb, &tt, 0, 4, &shape, NULL) != TL_NN_OK ||
        tl_fb_u8(&fb, &tt, 1, TL_TT_FLOAT32, &type) != TL_NN_OK ||
        tl_fb_vec_field(&fb, &tt, 3, 1, &name, NULL) != TL_NN_OK || shape.n > TL_NN_MAX_DIMS) {
        return TL_NN_ERR_NOT_LOADED;
    }
    out->ndim = (uint8_t)shape.n;
    size_t elems = 1;
    for (uint32_t i = 0; i < shape.n; ++i) {
        out->dims[i] = tl_fb_vec_i32(&fb, &shape, i);
        elems *= (size_t)out->dims[i];
    }
    size_t esize = 4;
    if (type == TL_TT_INT8) {
        out->type = TL_NN_TYPE_INT8;
        esize = 1;
    } else if (type == TL_TT_INT32) {
        out->type = TL_NN_TYPE_INT32;
    } else {
        out->type = TL_NN_TYPE_FLOAT32;
    }
    out->bytes = elems * esize;
    out->name = (const char *)(m->model + name.pos);
    out->name_len = name.n;
    out->tensor_index = t;
    tl_fb_table_t q;
    bool has_q = false;
    if (tl_fb_table_field(&fb, &tt, 4, &q, &has_q) == TL_NN_OK && has_q) {
        tl_fb_vec_t sv, zv;
        if (tl_fb_vec_field(&fb, &q, 2, 4, &sv, NULL) == TL_NN_OK && sv.n > 0 &&
            tl_fb_vec_field(&fb, &q, 3, 8, &zv, NULL) == TL_NN_OK && zv.n > 0) {
            out->scale = tl_fb_rd_f32(m->model + sv.pos);
            out->zero_point = (int32_t)tl_fb_rd_u64(m->model + zv.pos);
        }
    }
    const uint32_t *refs = (const uint32_t *)(const void *)(m->arena + m->refs_off);
    const uint32_t r = refs[t];
    if (r == TL_NN_REF_NONE) {
        out->data = NULL;
    } else if ((r & TL_NN_REF_MODEL) != 0) {
        out->data = (void *)(uintptr_t)(m->model + (r & ~TL_NN_REF_MODEL));
    } else {
        out->data = m->arena + r;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_input(const tl_nn_model_t *m, size_t index, tl_nn_tensor_t *out)
{
    if (m == NULL) {
        return TL_NN_ERR_ARG;
    }
    return view(m, m->inputs_vec, m->n_inputs, index, out);
}

tl_nn_status_t tl_nn_output(const tl_nn_model_t *m, size_t index, tl_nn_tensor_t *out)
{
    if (m == NULL) {
        return TL_NN_ERR_ARG;
    }
    return view(m, m->outputs_vec, m->n_outputs, index, out);
}

tl_nn_status_t tl_nn_expect(const tl_nn_model_t *m, bool output, size_t index,
                            tl_nn_type_t type, const int32_t *dims, size_t ndim)
{
    tl_nn_tensor_t t;
    tl_nn_status_t st = output ? tl_nn_output(m, index, &t) : tl_nn_input(m, index, &t);
    if (st == TL_NN_ERR_ARG && m != NULL && m->loaded) {
        return TL_NN_ERR_CONTRACT_MISMATCH; /* no such input/output */
    }
    if (st != TL_NN_OK) {
        return st;
    }
    if (t.type != type) {
        return TL_NN_ERR_CONTRACT_MISMATCH;
    }
    if (ndim == 0) {
        return TL_NN_OK;
    }
    if (dims == NULL || ndim != t.ndim) {
        return TL_NN_ERR_CONTRACT_MISMATCH;
    }
    for (size_t i = 0; i < ndim; ++i) {
        if (dims[i] != t.dims[i]) {
            return TL_NN_ERR_CONTRACT_MISMATCH;
        }
    }
    return TL_NN_OK;
}

size_t tl_nn_op_count(const tl_nn_model_t *m)
{
    return (m != NULL && m->loaded) ? m->n_ops : 0;
}

int32_t tl_nn_op_code(const tl_nn_model_t *m, size_t index)
{
    if (m == NULL || !m->loaded || index >= m->n_ops) {
        return -1;
    }
    tl_nn_loader_t ld;
    memset(&ld, 0, sizeof ld);
    ld.fb.buf = m->model;
    ld.fb.len = m->model_len;
    ld.ops.pos = m->ops_vec;
    ld.ops.n = m->n_ops;
    ld.opcodes.pos = m->opcodes_vec;
    ld.opcodes.n = m->n_opcodes;
    int32_t builtin;
    tl_fb_vec_t ins, outs;
    tl_fb_table_t op;
    if (tl_nn_op_info(&ld, (uint32_t)index, &builtin, &ins, &outs, &op) != TL_NN_OK) {
        return -1;
    }
    return builtin;
}

/* Names of the builtin operators the engine knows, as one string (saves the pointer
 * table a switch would need). */
static const struct {
    uint8_t code;
    uint8_t len;
    uint16_t off;
} k_op_names[] = {
#define OPN(code, off, len) {code, len, off}
    OPN(TL_OP_ADD, 0, 3),
    OPN(TL_OP_AVERAGE_POOL_2D, 4, 15),
    OPN(TL_OP_CONCATENATION, 20, 13),
    OPN(TL_OP_CONV_2D, 34, 7),
    OPN(TL_OP_DEPTHWISE_CONV_2D, 42, 17),
    OPN(TL_OP_DEQUANTIZE, 60, 10),
    OPN(TL_OP_FULLY_CONNECTED, 71, 15),
    OPN(TL_OP_LOGISTIC, 87, 8),
    OPN(TL_OP_MAX_POOL_2D, 96, 11),
    OPN(TL_OP_MUL, 108, 3),
    OPN(TL_OP_RELU, 112, 4),
    OPN(TL_OP_RELU6, 117, 5),
    OPN(TL_OP_RESHAPE, 123, 7),
    OPN(TL_OP_SOFTMAX, 131, 7),
    OPN(TL_OP_TANH, 139, 4),
    OPN(TL_OP_CUSTOM, 144, 6),
    OPN(TL_OP_PAD, 151, 3),
    OPN(TL_OP_BATCH_TO_SPACE_ND, 155, 17),
    OPN(TL_OP_SPACE_TO_BATCH_ND, 173, 17),
    OPN(TL_OP_MEAN, 191, 4),
    OPN(TL_OP_SQUEEZE, 196, 7),
    OPN(TL_OP_STRIDED_SLICE, 204, 13),
    OPN(TL_OP_PADV2, 218, 5),
    OPN(TL_OP_EXPAND_DIMS, 224, 11),
    OPN(TL_OP_SHAPE, 236, 5),
    OPN(TL_OP_PACK, 242, 4),
    OPN(TL_OP_LEAKY_RELU, 247, 10),
    OPN(TL_OP_QUANTIZE, 258, 8),
#undef OPN
};
static const char k_op_text[] = "ADD\0AVERAGE_POOL_2D\0CONCATENATION\0CONV_2D\0DEPTHWISE_CONV_2D\0"
                                "DEQUANTIZE\0FULLY_CONNECTED\0LOGISTIC\0MAX_POOL_2D\0MUL\0RELU\0"
                                "RELU6\0RESHAPE\0SOFTMAX\0TANH\0CUSTOM\0PAD\0BATCH_TO_SPACE_ND\0"
                                "SPACE_TO_BATCH_ND\0MEAN\0SQUEEZE\0STRIDED_SLICE\0PADV2\0"
                                "EXPAND_DIMS\0SHAPE\0PACK\0LEAKY_RELU\0QUANTIZE";

const char *tl_nn_op_name_of(int32_t builtin_code)
{
    for (size_t i = 0; i < sizeof k_op_names / sizeof k_op_names[0]; ++i) {
        if (k_op_names[i].code == builtin_code) {
            return k_op_text + k_op_names[i].off;
        }
    }
    return "UNKNOWN";
}

static const char *const k_status_names[TL_NN_STATUS_COUNT] = {
    "OK",
    "ARG",
    "TRUNCATED",
    "BAD_IDENTIFIER",
    "MALFORMED",
    "BAD_VERSION",
    "UNSUPPORTED_MODEL",
    "UNSUPPORTED_OP",
    "UNSUPPORTED_TYPE",
    "UNSUPPORTED_PARAM",
    "BAD_SHAPE",
    "TENSOR_TOO_LARGE",
    "LIMIT",
    "BAD_BUFFER",
    "BAD_QUANTIZATION",
    "BAD_GRAPH",
    "ARENA_TOO_SMALL",
    "ARENA_ALIGN",
    "CONTRACT_MISMATCH",
    "NOT_LOADED",
};

static const char *const k_status_text[TL_NN_STATUS_COUNT] = {
    "ok",
    "invalid argument",
    "file truncated",
    "not a TFLite model (identifier is not TFL3)",
    "malformed flatbuffer",
    "unsupported schema version",
    "unsupported model structure (subgraphs, variable or sparse tensors)",
    "unsupported operator",
    "unsupported tensor type (float/hybrid/int16/uint8/int4)",
    "unsupported operator option",
    "inconsistent tensor shapes",
    "tensor or accumulation too large",
    "engine limit exceeded",
    "bad constant data (missing, wrong size or out of range)",
    "missing or invalid quantization",
    "invalid graph (tensor index, double write, read before write)",
    "arena too small",
    "arena not 4-byte aligned",
    "inputs/outputs differ from what the application expects",
    "no model loaded",
};

const char *tl_nn_status_name(tl_nn_status_t status)
{
    if ((unsigned)status >= TL_NN_STATUS_COUNT) {
        return "UNKNOWN";
    }
    return k_status_names[status];
}

const char *tl_nn_strerror(tl_nn_status_t status)
{
    if ((unsigned)status >= TL_NN_STATUS_COUNT) {
        return "unknown status";
    }
    return k_status_text[status];
}

bool tl_nn_uses_dsp(void)
{
    return tl_nn_dot_uses_dsp();
}

void tl_nn_abi_sizes(size_t *model_size, size_t *tensor_size)
{
    if (model_size != NULL) {
        *model_size = sizeof(tl_nn_model_t);
    }
    if (tensor_size != NULL) {
        *tensor_size = sizeof(tl_nn_tensor_t);
    }
}
