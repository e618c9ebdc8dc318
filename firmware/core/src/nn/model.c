/*
 * model.c - the .tflite loader: validates the flatbuffer, the graph and every operator,
 * prepares operator parameters in the arena and hands the tensors to the planner.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include <string.h>

#include "nn_internal.h"

/* Element size of each schema TensorType; 0 = unsupported storage (strings, int4, ...). */
static uint32_t type_size(uint8_t type)
{
    switch (type) {
    case TL_TT_FLOAT32:
    case TL_TT_INT32:
    case 15: /* UINT32 */
        return 4;
    case TL_TT_FLOAT16:
    case TL_TT_INT16:
    case 16: /* UINT16 */
    case 18: /* BFLOAT16 */
        return 2;
    case TL_TT_UINT8:
    case TL_TT_BOOL:
    case TL_TT_INT8:
        return 1;
    case TL_TT_INT64:
    case TL_TT_COMPLEX64:
    case TL_TT_FLOAT64:
    case 12: /* UINT64 */
        return 8;
    case 11: /* COMPLEX128 */
        return 16;
    default:
        return 0;
    }
}

tl_nn_status_t tl_nn_tensor_desc(const tl_nn_loader_t *ld, uint32_t index, tl_nn_tdesc_t *d)
{
    const tl_fb_t *fb = &ld->fb;
    tl_fb_table_t t;
    memset(d, 0, sizeof *d);
    d->index = index;
    if (index >= ld->n_tensors) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    TL_NN_TRY_FB(tl_fb_vec_table(fb, &ld->tensors, index, &t));

    tl_fb_vec_t shape;
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &t, 0, 4, &shape, NULL));
    if (shape.n > TL_NN_MAX_DIMS) {
        return TL_NN_ERR_LIMIT;
    }
    TL_NN_TRY_FB(tl_fb_u8(fb, &t, 1, TL_TT_FLOAT32, &d->type));
    uint32_t esize = type_size(d->type);
    if (esize == 0) {
        return TL_NN_ERR_UNSUPPORTED_TYPE;
    }
    d->ndim = (uint8_t)shape.n;
    uint64_t elems = 1;
    for (uint32_t i = 0; i < shape.n; ++i) {
        int32_t dim = tl_fb_vec_i32(fb, &shape, i);
        if (dim < 1) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        d->dims[i] = dim;
        elems *= (uint64_t)dim;
        if (elems * esize > TL_NN_MAX_TENSOR_BYTES) {
            return TL_NN_ERR_TENSOR_TOO_LARGE;
        }
    }
    /* a shape computed at load (validated by tl_nn_prep_set_shape) replaces the file's */
    for (uint32_t k = 0; k < ld->n_shapes; ++k) {
        tl_nn_shape_rec_t r;
        memcpy(&r, ld->arena + ld->top + k * (uint32_t)sizeof r, sizeof r);
        if (r.tensor == index) {
            elems = 1;
            for (uint32_t i = 0; i < r.ndim; ++i) {
                d->dims[i] = r.dims[i];
                elems *= (uint64_t)r.dims[i];
            }
            break;
        }
    }
    d->elems = (uint32_t)elems;
    d->bytes = (uint32_t)(elems * esize);

    uint8_t is_variable;
    TL_NN_TRY_FB(tl_fb_u8(fb, &t, 5, 0, &is_variable));
    uint32_t sparsity_pos, external_buffer;
    TL_NN_TRY_FB(tl_fb_field(fb, &t, 6, 4, &sparsity_pos));
    TL_NN_TRY_FB(tl_fb_u32(fb, &t, 10, 0, &external_buffer));
    if (is_variable != 0 || sparsity_pos != 0 || external_buffer != 0) {
        return TL_NN_ERR_UNSUPPORTED_MODEL;
    }

    /* constant data */
    uint32_t buf_index;
    TL_NN_TRY_FB(tl_fb_u32(fb, &t, 2, 0, &buf_index));
    if (buf_index >= ld->buffers.n) {
        if (!(buf_index == 0 && ld->buffers.n == 0)) {
            return TL_NN_ERR_BAD_BUFFER;
        }
    } else {
        tl_fb_table_t b;
        TL_NN_TRY_FB(tl_fb_vec_table(fb, &ld->buffers, buf_index, &b));
        tl_fb_vec_t bdata;
        TL_NN_TRY_FB(tl_fb_vec_field(fb, &b, 0, 1, &bdata, NULL));
        uint64_t boff, bsize;
        TL_NN_TRY_FB(tl_fb_u64(fb, &b, 1, 0, &boff));
        TL_NN_TRY_FB(tl_fb_u64(fb, &b, 2, 0, &bsize));
        const uint8_t *ptr = NULL;
        uint64_t dlen = 0;
        if (boff > 1) {
            /* data stored outside the flatbuffer tables, at an absolute file offset */
            if (bdata.n != 0 || boff > fb->len || bsize > fb->len - boff) {
                return TL_NN_ERR_BAD_BUFFER;
            }
            ptr = fb->buf + boff;
            dlen = bsize;
        } else if (bdata.n != 0) {
            ptr = fb->buf + bdata.pos;
            dlen = bdata.n;
        }
        if (dlen != 0) {
            if (dlen != d->bytes) {
                return TL_NN_ERR_BAD_BUFFER;
            }
            d->data = ptr;
        }
    }

    tl_fb_vec_t name;
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &t, 3, 1, &name, NULL));
    d->name_pos = name.pos;
    d->name_len = name.n;

    tl_fb_table_t q;
    bool has_q;
    TL_NN_TRY_FB(tl_fb_table_field(fb, &t, 4, &q, &has_q));
    if (has_q) {
        tl_fb_vec_t sv, zv;
        TL_NN_TRY_FB(tl_fb_vec_field(fb, &q, 2, 4, &sv, NULL));
        TL_NN_TRY_FB(tl_fb_vec_field(fb, &q, 3, 8, &zv, NULL));
        uint8_t details_type;
        TL_NN_TRY_FB(tl_fb_u8(fb, &q, 4, 0, &details_type));
        TL_NN_TRY_FB(tl_fb_i32(fb, &q, 6, 0, &d->qdim));
        if (details_type != 0) {
            return TL_NN_ERR_BAD_QUANTIZATION;
        }
        if (sv.n != 0) {
            if (zv.n != sv.n) {
                return TL_NN_ERR_BAD_QUANTIZATION;
            }
            d->n_scale = sv.n;
            d->scale_pos = sv.pos;
            d->n_zp = zv.n;
            d->zp_pos = zv.pos;
            d->scale = tl_fb_rd_f32(fb->buf + sv.pos);
            int64_t zp = (int64_t)tl_fb_rd_u64(fb->buf + zv.pos);
            if (zp < INT32_MIN || zp > INT32_MAX) {
                return TL_NN_ERR_BAD_QUANTIZATION;
            }
            d->zero_point = (int32_t)zp;
            if (sv.n > 1) {
                if (d->qdim < 0 || d->qdim >= (int32_t)d->ndim ||
                    (uint32_t)d->dims[d->qdim] != sv.n) {
                    return TL_NN_ERR_BAD_QUANTIZATION;
                }
            }
        }
    }
    return TL_NN_OK;
}

float tl_nn_tdesc_scale(const tl_nn_loader_t *ld, const tl_nn_tdesc_t *d, uint32_t i)
{
    return tl_fb_rd_f32(ld->fb.buf + d->scale_pos + 4u * i);
}

tl_nn_status_t tl_nn_op_info(const tl_nn_loader_t *ld, uint32_t i, int32_t *builtin,
                             tl_fb_vec_t *inputs, tl_fb_vec_t *outputs, tl_fb_table_t *op)
{
    const tl_fb_t *fb = &ld->fb;
    TL_NN_TRY_FB(tl_fb_vec_table(fb, &ld->ops, i, op));
    uint32_t opcode_index;
    TL_NN_TRY_FB(tl_fb_u32(fb, op, 0, 0, &opcode_index));
    if (opcode_index >= ld->opcodes.n) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    tl_fb_table_t oc;
    TL_NN_TRY_FB(tl_fb_vec_table(fb, &ld->opcodes, opcode_index, &oc));
    int8_t deprecated;
    int32_t code;
    TL_NN_TRY_FB(tl_fb_i8(fb, &oc, 0, 0, &deprecated));
    TL_NN_TRY_FB(tl_fb_i32(fb, &oc, 3, 0, &code));
    /* schema rule: the larger of the two fields is the operator */
    *builtin = code > (int32_t)deprecated ? code : (int32_t)deprecated;
    TL_NN_TRY_FB(tl_fb_vec_field(fb, op, 1, 4, inputs, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, op, 2, 4, outputs, NULL));
    return TL_NN_OK;
}

bool tl_nn_is_alias_op(int32_t builtin)
{
    return builtin == TL_OP_RESHAPE || builtin == TL_OP_SQUEEZE || builtin == TL_OP_EXPAND_DIMS;
}

bool tl_nn_is_data_input(int32_t builtin, uint32_t i)
{
    if (builtin == TL_OP_RESHAPE || builtin == TL_OP_EXPAND_DIMS) {
        return i == 0; /* the shape / axis operand is not read at run time */
    }
    if (builtin == TL_OP_SHAPE) {
        return false; /* reads only the static shape */
    }
    return true;
}

/* ---- operator preparation helpers ------------------------------------------------------ */

uint32_t tl_nn_prep_n_in(const tl_nn_prep_t *p)
{
    return p->inputs.n;
}

tl_nn_status_t tl_nn_prep_in(const tl_nn_prep_t *p, uint32_t i, tl_nn_tdesc_t *d, bool *present)
{
    if (i >= p->inputs.n) {
        if (present != NULL) {
            *present = false;
            return TL_NN_OK;
        }
        return TL_NN_ERR_BAD_GRAPH;
    }
    int32_t t = tl_fb_vec_i32(&p->ld->fb, &p->inputs, i);
    if (t < 0) {
        if (present != NULL) {
            *present = false;
            return TL_NN_OK;
        }
        return TL_NN_ERR_BAD_GRAPH;
    }
    if (present != NULL) {
        *present = true;
    }
    return tl_nn_tensor_desc(p->ld, (uint32_t)t, d);
}

tl_nn_status_t tl_nn_prep_out(const tl_nn_prep_t *p, uint32_t i, tl_nn_tdesc_t *d)
{
    if (i >= p->outputs.n) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    int32_t t = tl_fb_vec_i32(&p->ld->fb, &p->outputs, i);
    if (t < 0) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    return tl_nn_tensor_desc(p->ld, (uint32_t)t, d);
}

tl_nn_status_t tl_nn_prep_counts(const tl_nn_prep_t *p, uint32_t min_in, uint32_t max_in,
                                 uint32_t n_out)
{
    if (p->inputs.n < min_in || p->inputs.n > max_in || p->outputs.n != n_out) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    return TL_NN_OK;
}

static uint32_t align4(uint32_t v)
{
    return (v + 3u) & ~3u;
}

static void note_peak(tl_nn_loader_t *ld)
{
    const uint32_t total = ld->used + tl_nn_shape_table_bytes(ld);
    if (total > ld->peak) {
        ld->peak = total;
    }
}

void *tl_nn_prep_alloc(tl_nn_prep_t *p, uint32_t size, uint32_t *off)
{
    tl_nn_loader_t *ld = p->ld;
    uint32_t start = align4(ld->used);
    uint32_t sz = align4(size);
    if (start > ld->top || sz > ld->top - start) {
        ld->overflow = true;
        return NULL;
    }
    ld->used = start + sz;
    note_peak(ld);
    *off = start;
    memset(ld->arena + start, 0, sz);
    return ld->arena + start;
}

tl_nn_status_t tl_nn_prep_set_shape(tl_nn_prep_t *p, tl_nn_tdesc_t *d, const int32_t *dims)
{
    tl_nn_loader_t *ld = p->ld;
    const uint64_t esize = d->elems != 0 ? d->bytes / d->elems : 0;
    uint64_t elems = 1;
    bool same = true;
    for (uint32_t i = 0; i < d->ndim; ++i) {
        if (dims[i] < 1) {
            return TL_NN_ERR_BAD_SHAPE;
        }
        elems *= (uint64_t)dims[i];
        if (elems * esize > TL_NN_MAX_TENSOR_BYTES) {
            return TL_NN_ERR_TENSOR_TOO_LARGE;
        }
        same = same && dims[i] == d->dims[i];
    }
    if (same) {
        return TL_NN_OK;
    }
    if ((ld->refs[d->index] & TL_NN_TF_OUTPUT) != 0 || ld->n_shapes == UINT16_MAX) {
        return TL_NN_ERR_BAD_SHAPE; /* a model output's shape is part of its contract */
    }
    tl_nn_shape_rec_t r;
    memset(&r, 0, sizeof r);
    r.tensor = (uint16_t)d->index;
    r.ndim = d->ndim;
    for (uint32_t i = 0; i < d->ndim; ++i) {
        r.dims[i] = dims[i];
        d->dims[i] = dims[i];
    }
    d->elems = (uint32_t)elems;
    d->bytes = (uint32_t)(elems * esize);
    /* the table grows down from the end of the arena, away from the persistent tables */
    const uint32_t used = align4(ld->used);
    if (used > ld->top || ld->top - used < (uint32_t)sizeof r) {
        ld->overflow = true;
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    ld->top -= (uint32_t)sizeof r;
    memcpy(ld->arena + ld->top, &r, sizeof r);
    ld->n_shapes += 1u;
    note_peak(ld);
    return TL_NN_OK;
}

static void *loader_alloc(tl_nn_loader_t *ld, uint32_t size)
{
    tl_nn_prep_t p;
    uint32_t off;
    memset(&p, 0, sizeof p);
    p.ld = ld;
    return tl_nn_prep_alloc(&p, size, &off);
}

/* ---- load ------------------------------------------------------------------------------ */

static bool op_live(const tl_nn_loader_t *ld, const tl_fb_vec_t *outputs)
{
    for (uint32_t k = 0; k < outputs->n; ++k) {
        int32_t t = tl_fb_vec_i32(&ld->fb, outputs, k);
        if ((ld->refs[t] & TL_NN_TF_NEEDED) != 0) {
            return true;
        }
    }
    return false;
}

/* Record the first operator that reads tensor t (writes it, for `write`) as the one that
 * failed, so an error about a model input or output names where it is used. */
static void blame_tensor(tl_nn_model_t *m, const tl_nn_loader_t *ld, int32_t t, bool write)
{
    for (uint32_t i = 0; i < ld->n_ops; ++i) {
        int32_t builtin;
        tl_fb_vec_t ins, outs;
        tl_fb_table_t op;
        if (tl_nn_op_info(ld, i, &builtin, &ins, &outs, &op) != TL_NN_OK) {
            return;
        }
        const tl_fb_vec_t *v = write ? &outs : &ins;
        for (uint32_t k = 0; k < v->n; ++k) {
            if (tl_fb_vec_i32(&ld->fb, v, k) == t) {
                m->err_op = (int32_t)i;
                m->err_opcode = builtin;
                return;
            }
        }
    }
}

static tl_nn_status_t load_impl(tl_nn_model_t *m, tl_nn_loader_t *ld)
{
    const tl_fb_t *fb = &ld->fb;
    tl_fb_table_t root;
    TL_NN_TRY_FB(tl_fb_root(fb, "TFL3", &root));

    uint32_t version;
    TL_NN_TRY_FB(tl_fb_u32(fb, &root, 0, 0, &version));
    if (version != 3) {
        return TL_NN_ERR_BAD_VERSION;
    }
    tl_fb_vec_t subgraphs;
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &root, 1, 4, &ld->opcodes, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &root, 2, 4, &subgraphs, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &root, 4, 4, &ld->buffers, NULL));
    if (subgraphs.n != 1) {
        return TL_NN_ERR_UNSUPPORTED_MODEL;
    }
    tl_fb_table_t sg;
    TL_NN_TRY_FB(tl_fb_vec_table(fb, &subgraphs, 0, &sg));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &sg, 0, 4, &ld->tensors, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &sg, 1, 4, &ld->inputs, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &sg, 2, 4, &ld->outputs, NULL));
    TL_NN_TRY_FB(tl_fb_vec_field(fb, &sg, 3, 4, &ld->ops, NULL));
    if (ld->tensors.n > TL_NN_MAX_TENSORS || ld->ops.n > TL_NN_MAX_OPS ||
        ld->inputs.n > 0xFFFFu || ld->outputs.n > 0xFFFFu || ld->opcodes.n > 0xFFFFu) {
        return TL_NN_ERR_LIMIT;
    }
    if (ld->outputs.n == 0) {
        return TL_NN_ERR_BAD_GRAPH;
    }
    ld->n_tensors = (uint16_t)ld->tensors.n;
    ld->n_ops = (uint16_t)ld->ops.n;
    m->tensors_vec = ld->tensors.pos;
    m->inputs_vec = ld->inputs.pos;
    m->outputs_vec = ld->outputs.pos;
    m->ops_vec = ld->ops.pos;
    m->opcodes_vec = ld->opcodes.pos;
    m->n_tensors = ld->n_tensors;
    m->n_ops = ld->n_ops;
    m->n_inputs = (uint16_t)ld->inputs.n;
    m->n_outputs = (uint16_t)ld->outputs.n;
    m->n_opcodes = (uint16_t)ld->opcodes.n;

    /* per-tensor reference table; scratch flags until the planner fills it */
    ld->refs = loader_alloc(ld, 4u * ld->n_tensors);
    if (ld->refs == NULL && ld->n_tensors != 0) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    m->refs_off = (uint32_t)((uint8_t *)ld->refs - ld->arena);
    for (uint32_t t = 0; t < ld->n_tensors; ++t) {
        tl_nn_tdesc_t d;
        TL_TRY(tl_nn_tensor_desc(ld, t, &d));
        ld->refs[t] = d.data != NULL ? TL_NN_TF_CONST : 0;
    }
    /* model inputs and outputs must have a type the API can hand out */
    for (uint32_t k = 0; k < ld->inputs.n + ld->outputs.n; ++k) {
        const tl_fb_vec_t *v = k < ld->inputs.n ? &ld->inputs : &ld->outputs;
        int32_t t = tl_fb_vec_i32(fb, v, k < ld->inputs.n ? k : k - ld->inputs.n);
        tl_nn_tdesc_t d;
        if (t < 0 || (uint32_t)t >= ld->n_tensors) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        TL_TRY(tl_nn_tensor_desc(ld, (uint32_t)t, &d));
        if (d.type != TL_TT_INT8 && d.type != TL_TT_INT32 && d.type != TL_TT_FLOAT32) {
            blame_tensor(m, ld, t, k >= ld->inputs.n);
            return TL_NN_ERR_UNSUPPORTED_TYPE;
        }
    }
    for (uint32_t k = 0; k < ld->inputs.n; ++k) {
        int32_t t = tl_fb_vec_i32(fb, &ld->inputs, k);
        if (t < 0 || (uint32_t)t >= ld->n_tensors || (ld->refs[t] & TL_NN_TF_CONST) != 0) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        ld->refs[t] |= TL_NN_TF_INPUT | TL_NN_TF_NEEDED;
    }
    for (uint32_t k = 0; k < ld->outputs.n; ++k) {
        int32_t t = tl_fb_vec_i32(fb, &ld->outputs, k);
        if (t < 0 || (uint32_t)t >= ld->n_tensors) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        ld->refs[t] |= TL_NN_TF_OUTPUT | TL_NN_TF_NEEDED;
    }

    /* graph: operators supported, tensors defined before use and written once */
    for (uint32_t i = 0; i < ld->n_ops; ++i) {
        int32_t builtin;
        tl_fb_vec_t ins, outs;
        tl_fb_table_t op;
        m->err_op = (int32_t)i;
        TL_TRY(tl_nn_op_info(ld, i, &builtin, &ins, &outs, &op));
        m->err_opcode = builtin;
        if (tl_nn_find_op(builtin) == NULL) {
            return TL_NN_ERR_UNSUPPORTED_OP;
        }
        if (ins.n > TL_NN_MAX_OP_INPUTS || outs.n > TL_NN_MAX_OP_OUTPUTS) {
            return TL_NN_ERR_LIMIT;
        }
        if (outs.n == 0) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        for (uint32_t k = 0; k < ins.n; ++k) {
            int32_t t = tl_fb_vec_i32(fb, &ins, k);
            if (t == -1) {
                continue;
            }
            if (t < 0 || (uint32_t)t >= ld->n_tensors) {
                return TL_NN_ERR_BAD_GRAPH;
            }
            uint32_t f = ld->refs[t];
            if ((f & (TL_NN_TF_CONST | TL_NN_TF_INPUT | TL_NN_TF_PRODUCER_MASK)) == 0) {
                return TL_NN_ERR_BAD_GRAPH; /* read before it is written (or a cycle) */
            }
        }
        for (uint32_t k = 0; k < outs.n; ++k) {
            int32_t t = tl_fb_vec_i32(fb, &outs, k);
            if (t < 0 || (uint32_t)t >= ld->n_tensors) {
                return TL_NN_ERR_BAD_GRAPH;
            }
            uint32_t f = ld->refs[t];
            if ((f & (TL_NN_TF_CONST | TL_NN_TF_INPUT | TL_NN_TF_PRODUCER_MASK)) != 0) {
                return TL_NN_ERR_BAD_GRAPH; /* constant, model input or written twice */
            }
            ld->refs[t] = f | (i + 1u) | (tl_nn_is_alias_op(builtin) ? TL_NN_TF_ALIAS : 0);
        }
    }
    m->err_op = -1;
    m->err_opcode = -1;
    for (uint32_t k = 0; k < ld->outputs.n; ++k) {
        int32_t t = tl_fb_vec_i32(fb, &ld->outputs, k);
        uint32_t f = ld->refs[t];
        if ((f & (TL_NN_TF_CONST | TL_NN_TF_INPUT | TL_NN_TF_PRODUCER_MASK)) == 0) {
            return TL_NN_ERR_BAD_GRAPH; /* model output nobody writes */
        }
    }

    /* liveness: only operators that contribute to a model output run */
    uint32_t n_exec = 0;
    for (uint32_t i = ld->n_ops; i-- > 0;) {
        int32_t builtin;
        tl_fb_vec_t ins, outs;
        tl_fb_table_t op;
        TL_TRY(tl_nn_op_info(ld, i, &builtin, &ins, &outs, &op));
        if (!op_live(ld, &outs)) {
            continue;
        }
        if (!tl_nn_is_alias_op(builtin)) {
            ++n_exec;
        }
        for (uint32_t k = 0; k < ins.n; ++k) {
            int32_t t = tl_fb_vec_i32(fb, &ins, k);
            if (t >= 0 && tl_nn_is_data_input(builtin, k)) {
                ld->refs[t] |= TL_NN_TF_NEEDED;
            }
        }
    }

    tl_nn_exec_t *exec = loader_alloc(ld, (uint32_t)sizeof(tl_nn_exec_t) * n_exec);
    if (exec == NULL && n_exec != 0) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    m->exec_off = (uint32_t)((uint8_t *)exec - ld->arena);

    /* prepare every operator (dead ones too, for validation; their storage is released) */
    uint32_t k_exec = 0;
    for (uint32_t i = 0; i < ld->n_ops; ++i) {
        tl_nn_prep_t p;
        tl_fb_table_t op;
        memset(&p, 0, sizeof p);
        p.ld = ld;
        p.op_index = i;
        m->err_op = (int32_t)i;
        TL_TRY(tl_nn_op_info(ld, i, &p.builtin, &p.inputs, &p.outputs, &op));
        m->err_opcode = p.builtin;
        const tl_nn_op_reg_t *reg = tl_nn_find_op(p.builtin);
        uint8_t opt_type;
        TL_NN_TRY_FB(tl_fb_u8(fb, &op, 3, 0, &opt_type));
        if (opt_type != TL_BO_NONE) {
            if (opt_type != reg->options_type) {
                return TL_NN_ERR_MALFORMED;
            }
            TL_NN_TRY_FB(tl_fb_table_field(fb, &op, 4, &p.options, &p.has_options));
        }
        const bool live = op_live(ld, &p.outputs);
        const uint32_t saved = ld->used;
        tl_nn_status_t st = reg->prep(&p);
        if (st != TL_NN_OK) {
            return ld->overflow ? TL_NN_ERR_ARENA_TOO_SMALL : st;
        }
        if (!live) {
            ld->used = saved;
            continue;
        }
        m->macs += p.macs;
        if (p.kernel != TL_NN_K_ALIAS) {
            exec[k_exec].kernel = p.kernel;
            exec[k_exec].reserved = 0;
            exec[k_exec].op_index = (uint16_t)i;
            exec[k_exec].params_off = p.params_off;
            ++k_exec;
        }
    }
    m->err_op = -1;
    m->err_opcode = -1;
    m->n_exec = (uint16_t)k_exec;

    /* memory plan */
    const uint32_t act_base = align4(ld->used);
    uint32_t act_bytes = 0, temp_bytes = 0;
    tl_nn_status_t st = tl_nn_plan(ld, act_base, &act_bytes, &temp_bytes);
    if (st != TL_NN_OK) {
        return st;
    }
    /* the planner's scratch coexists with the shape table; the activations need neither */
    temp_bytes += tl_nn_shape_table_bytes(ld);
    uint32_t need = act_base + (act_bytes > temp_bytes ? act_bytes : temp_bytes);
    if (ld->peak > need) {
        need = ld->peak;
    }
    m->arena_required = need;
    if (need > ld->arena_len) {
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_load(tl_nn_model_t *m, const uint8_t *data, size_t len, uint8_t *arena,
                          size_t arena_len)
{
    if (m == NULL) {
        return TL_NN_ERR_ARG;
    }
    memset(m, 0, sizeof *m);
    m->err_op = -1;
    m->err_opcode = -1;
    if (data == NULL || (arena == NULL && arena_len != 0)) {
        return TL_NN_ERR_ARG;
    }
    if (((uintptr_t)arena & 3u) != 0) {
        return TL_NN_ERR_ARENA_ALIGN;
    }
    if (len >= (UINT32_C(1) << 30)) {
        return TL_NN_ERR_LIMIT;
    }
    tl_nn_loader_t ld;
    memset(&ld, 0, sizeof ld);
    ld.fb.buf = data;
    ld.fb.len = (uint32_t)len;
    ld.arena = arena;
    ld.arena_len = arena_len > 0x7FFFFFF0u ? 0x7FFFFFF0u : (uint32_t)arena_len;
    ld.top = ld.arena_len;
    m->model = data;
    m->model_len = (uint32_t)len;
    m->arena = arena;
    m->arena_len = ld.arena_len;

    tl_nn_status_t st = load_impl(m, &ld);
    if (st != TL_NN_OK) {
        m->loaded = false;
        if (st != TL_NN_ERR_ARENA_TOO_SMALL) {
            m->arena_required = 0;
        }
        return st;
    }
    m->loaded = true;
    return TL_NN_OK;
}

tl_nn_status_t tl_nn_arena_required(const uint8_t *data, size_t len, uint8_t *work,
                                    size_t work_len, size_t *bytes)
{
    if (bytes == NULL) {
        return TL_NN_ERR_ARG;
    }
    *bytes = 0;
    tl_nn_model_t m;
    tl_nn_status_t st = tl_nn_load(&m, data, len, work, work_len);
    if (st == TL_NN_OK || (st == TL_NN_ERR_ARENA_TOO_SMALL && m.arena_required != 0)) {
        *bytes = m.arena_required;
        return TL_NN_OK;
    }
    return st;
}
