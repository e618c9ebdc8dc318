/*
 * nn_internal.h - shared definitions of the inference engine (loader, planner, kernels).
 *
 * Arena layout after tl_nn_load():
 *
 *   [ tensor refs (4 B x tensors) | exec list (8 B x executed ops) | op params ... |
 *     activations (planned, 4-byte aligned) ]
 *
 * Every structure stored in the arena uses fixed-width fields only and no pointers, so
 * the arena size computed on the host is exactly the one the device needs.
 */
#ifndef TL_NN_INTERNAL_H
#define TL_NN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flatbuf.h"
#include "theraloop/nn/engine.h"

/* ---- schema constants (tensorflow/lite/schema/schema.fbs, version 3) ----------------- */

enum {
    TL_TT_FLOAT32 = 0,
    TL_TT_FLOAT16 = 1,
    TL_TT_INT32 = 2,
    TL_TT_UINT8 = 3,
    TL_TT_INT64 = 4,
    TL_TT_STRING = 5,
    TL_TT_BOOL = 6,
    TL_TT_INT16 = 7,
    TL_TT_COMPLEX64 = 8,
    TL_TT_INT8 = 9,
    TL_TT_FLOAT64 = 10,
};

enum {
    TL_OP_ADD = 0,
    TL_OP_AVERAGE_POOL_2D = 1,
    TL_OP_CONCATENATION = 2,
    TL_OP_CONV_2D = 3,
    TL_OP_DEPTHWISE_CONV_2D = 4,
    TL_OP_DEQUANTIZE = 6,
    TL_OP_FULLY_CONNECTED = 9,
    TL_OP_LOGISTIC = 14,
    TL_OP_MAX_POOL_2D = 17,
    TL_OP_MUL = 18,
    TL_OP_RELU = 19,
    TL_OP_RELU6 = 21,
    TL_OP_RESHAPE = 22,
    TL_OP_SOFTMAX = 25,
    TL_OP_TANH = 28,
    TL_OP_CUSTOM = 32,
    TL_OP_PAD = 34,
    TL_OP_BATCH_TO_SPACE_ND = 37,
    TL_OP_SPACE_TO_BATCH_ND = 38,
    TL_OP_MEAN = 40,
    TL_OP_SQUEEZE = 43,
    TL_OP_STRIDED_SLICE = 45,
    TL_OP_PADV2 = 60,
    TL_OP_EXPAND_DIMS = 70,
    TL_OP_SHAPE = 77,
    TL_OP_PACK = 83,
    TL_OP_LEAKY_RELU = 98,
    TL_OP_QUANTIZE = 114,
};

enum {
    TL_BO_NONE = 0,
    TL_BO_CONV2D = 1,
    TL_BO_DEPTHWISE_CONV2D = 2,
    TL_BO_POOL2D = 5,
    TL_BO_FULLY_CONNECTED = 8,
    TL_BO_SOFTMAX = 9,
    TL_BO_CONCATENATION = 10,
    TL_BO_ADD = 11,
    TL_BO_RESHAPE = 17,
    TL_BO_MUL = 21,
    TL_BO_PAD = 22,
    TL_BO_BATCH_TO_SPACE_ND = 24,
    TL_BO_SPACE_TO_BATCH_ND = 25,
    TL_BO_REDUCER = 27,
    TL_BO_SQUEEZE = 30,
    TL_BO_STRIDED_SLICE = 32,
    TL_BO_DEQUANTIZE = 38,
    TL_BO_PADV2 = 43,
    TL_BO_EXPAND_DIMS = 52,
    TL_BO_SHAPE = 55,
    TL_BO_PACK = 59,
    TL_BO_LEAKY_RELU = 75,
    TL_BO_QUANTIZE = 89,
};

/* Padding and fused activations. */
enum { TL_PAD_SAME = 0, TL_PAD_VALID = 1 };
enum { TL_ACT_NONE = 0, TL_ACT_RELU = 1, TL_ACT_RELU_N1_TO_1 = 2, TL_ACT_RELU6 = 3 };

/*
 * Load-time code (parsing, validation, operator preparation, planning) runs once per
 * model: `cold` makes GCC optimize it for size and keep it out of the hot text, so the
 * flash goes to the kernels. Cold-file pragmas do the same for whole files (GCC only).
 */
#if defined(__GNUC__) && !defined(__clang__)
#define TL_NN_COLD __attribute__((cold, optimize("Os")))
#elif defined(__GNUC__)
#define TL_NN_COLD __attribute__((cold))
#else
#define TL_NN_COLD
#endif

/* Propagate a non-OK status. */
#define TL_TRY(expr)                                                                     \
    do {                                                                                 \
        tl_nn_status_t tl_try_st_ = (expr);                                              \
        if (tl_try_st_ != TL_NN_OK) {                                                    \
            return tl_try_st_;                                                           \
        }                                                                                \
    } while (0)
#define TL_NN_TRY_FB(expr) TL_TRY(expr)

/* ---- engine limits --------------------------------------------------------------- */

#define TL_NN_MAX_TENSORS 0xFFF0u
#define TL_NN_MAX_OPS 0xFFF0u
#define TL_NN_MAX_OP_INPUTS 255u
#define TL_NN_MAX_OP_OUTPUTS 8u
#define TL_NN_MAX_TENSOR_BYTES (UINT32_C(1) << 28)
/* Longest dot product: keeps |sum of int8 x int16 products| below 2^31. */
#define TL_NN_MAX_ACCUM_DEPTH 65536u

/* ---- tensor references -------------------------------------------------------------- */

/* refs[t]: arena offset of the tensor data, or model offset with TL_NN_REF_MODEL set. */
#define TL_NN_REF_MODEL UINT32_C(0x80000000)
#define TL_NN_REF_NONE UINT32_C(0xFFFFFFFF)

/* Execution context handed to kernels. */
typedef struct {
    uint8_t *arena;
    const uint8_t *model;
    const uint32_t *refs;
} tl_nn_ctx_t;

static inline void *tl_nn_ptr(const tl_nn_ctx_t *c, uint16_t tensor)
{
    uint32_t r = c->refs[tensor];
    if ((r & TL_NN_REF_MODEL) != 0) {
        /* constants are only ever read; the cast drops const for a uniform accessor */
        return (void *)(uintptr_t)(c->model + (r & ~TL_NN_REF_MODEL));
    }
    return c->arena + r;
}

/* Arena-relative pointer to op parameter storage. */
static inline void *tl_nn_arena_at(const tl_nn_ctx_t *c, uint32_t off)
{
    return c->arena + off;
}

/* ---- kernels ---------------------------------------------------------------------- */

typedef enum {
    TL_NN_K_CONV = 0,
    TL_NN_K_DWCONV,
    TL_NN_K_FC,
    TL_NN_K_MAXPOOL,
    TL_NN_K_AVGPOOL,
    TL_NN_K_MEAN,
    TL_NN_K_SOFTMAX,
    TL_NN_K_LOGISTIC,
    TL_NN_K_TANH,
    TL_NN_K_RELU,
    TL_NN_K_RELU6,
    TL_NN_K_LEAKY_RELU,
    TL_NN_K_ADD,
    TL_NN_K_MUL,
    TL_NN_K_CONCAT,
    TL_NN_K_SHAPE,
    TL_NN_K_STRIDED_SLICE,
    TL_NN_K_PACK,
    TL_NN_K_PAD,
    TL_NN_K_SPACE_TO_BATCH,
    TL_NN_K_BATCH_TO_SPACE,
    TL_NN_K_QUANTIZE,
    TL_NN_K_DEQUANTIZE,
    TL_NN_K_COUNT,
    TL_NN_K_ALIAS = 0xFE, /* RESHAPE/SQUEEZE/EXPAND_DIMS: output shares the input memory */
} tl_nn_kernel_t;

typedef void (*tl_nn_eval_fn)(const tl_nn_ctx_t *c, const void *params);

/* One executed operator. */
typedef struct {
    uint8_t kernel;
    uint8_t reserved;
    uint16_t op_index;
    uint32_t params_off;
} tl_nn_exec_t;

/* ---- load-time view of a tensor ------------------------------------------------------- */

typedef struct {
    uint32_t index;
    uint8_t type;        /* schema TensorType */
    uint8_t ndim;
    int32_t dims[TL_NN_MAX_DIMS];
    uint32_t elems;
    uint32_t bytes;
    const uint8_t *data; /* constant data inside the model, or NULL */
    uint32_t n_scale;
    uint32_t scale_pos;  /* flatbuffer position of scale[0] (float32) */
    uint32_t n_zp;
    uint32_t zp_pos;     /* flatbuffer position of zero_point[0] (int64) */
    int32_t qdim;
    float scale;         /* scale[0], 0 when absent */
    int32_t zero_point;  /* zero_point[0], 0 when absent */
    uint32_t name_pos;
    uint32_t name_len;
} tl_nn_tdesc_t;

/*
 * A tensor shape computed at load time that differs from the shape in the file (see
 * tl_nn_prep_set_shape). Kept in the load-time shape table only: kernels get their
 * dimensions from their own parameters, the planner sizes tensors while loading.
 */
typedef struct {
    uint16_t tensor;
    uint8_t ndim;
    uint8_t reserved;
    int32_t dims[TL_NN_MAX_DIMS];
} tl_nn_shape_rec_t;

/*
 * Loader state (stack of tl_nn_load). The arena holds, while loading, the persistent
 * tables growing up from 0 (`used`) and the shape table growing down from arena_len
 * (`top`); `peak` is the most both ever needed together.
 */
typedef struct {
    tl_fb_t fb;
    tl_fb_vec_t opcodes, buffers, tensors, ops, inputs, outputs;
    uint8_t *arena;
    uint32_t arena_len;
    uint32_t used;     /* bump allocator position */
    uint32_t top;      /* start of the shape table (records up to arena_len) */
    uint32_t peak;     /* highest used + shape table bytes reached */
    uint16_t n_shapes; /* records in the shape table */
    bool overflow;     /* an allocation did not fit */
    uint32_t *refs;    /* arena: per-tensor scratch flags, finally tensor refs */
    uint16_t n_tensors;
    uint16_t n_ops;
} tl_nn_loader_t;

/* Operator being prepared. */
typedef struct {
    tl_nn_loader_t *ld;
    uint32_t op_index;
    int32_t builtin;
    tl_fb_vec_t inputs;  /* int32 tensor indices (-1: omitted optional input) */
    tl_fb_vec_t outputs;
    bool has_options;
    tl_fb_table_t options;
    /* results */
    uint8_t kernel;
    uint32_t params_off;
    uint64_t macs;
} tl_nn_prep_t;

typedef tl_nn_status_t (*tl_nn_prep_fn)(tl_nn_prep_t *p);

/* Read and validate tensor `index` of the subgraph. */
tl_nn_status_t tl_nn_tensor_desc(const tl_nn_loader_t *ld, uint32_t index, tl_nn_tdesc_t *d);

/* Scale i of a tensor (i < n_scale). */
float tl_nn_tdesc_scale(const tl_nn_loader_t *ld, const tl_nn_tdesc_t *d, uint32_t i);

/* Operator inputs/outputs. Input `i` may be absent (optional): *present = false. */
uint32_t tl_nn_prep_n_in(const tl_nn_prep_t *p);
tl_nn_status_t tl_nn_prep_in(const tl_nn_prep_t *p, uint32_t i, tl_nn_tdesc_t *d,
                             bool *present);
tl_nn_status_t tl_nn_prep_out(const tl_nn_prep_t *p, uint32_t i, tl_nn_tdesc_t *d);
/* Require exactly n_out outputs and between min_in and max_in inputs. */
tl_nn_status_t tl_nn_prep_counts(const tl_nn_prep_t *p, uint32_t min_in, uint32_t max_in,
                                 uint32_t n_out);

/* Allocate persistent op storage in the arena (4-byte aligned, zeroed). Returns NULL
 * (and marks the load as out of arena) when it does not fit. */
void *tl_nn_prep_alloc(tl_nn_prep_t *p, uint32_t size, uint32_t *off);

/*
 * Give an output tensor `d` of the operator being prepared the shape `dims` (d->ndim
 * entries) computed from the operator's inputs, as TensorFlow Lite does at Prepare. The
 * converter writes placeholder dimensions (1) for dynamic ones, e.g. the batch of the
 * SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND chain of a dilated convolution. A
 * shape that differs from the file is recorded in the load-time shape table, and every
 * later tl_nn_tensor_desc() of the tensor (its readers, the planner) sees it; `d` is
 * updated. Model outputs keep the file's shape (BAD_SHAPE if the computation differs).
 */
tl_nn_status_t tl_nn_prep_set_shape(tl_nn_prep_t *p, tl_nn_tdesc_t *d, const int32_t *dims);

/* Bytes of the load-time shape table (it coexists with the planner's scratch). */
static inline uint32_t tl_nn_shape_table_bytes(const tl_nn_loader_t *ld)
{
    return ld->arena_len - ld->top;
}

/* ---- planner --------------------------------------------------------------------- */

/* Plan activations; see planner.c. `exec_ops` flags live non-alias ops. */
tl_nn_status_t tl_nn_plan(tl_nn_loader_t *ld, uint32_t act_base, uint32_t *act_bytes,
                          uint32_t *temp_bytes);

/* refs[] scratch flags used between graph analysis and planning. */
#define TL_NN_TF_PRODUCER_MASK UINT32_C(0x0000FFFF) /* producing op + 1, 0 = none */
#define TL_NN_TF_CONST UINT32_C(0x00010000)
#define TL_NN_TF_INPUT UINT32_C(0x00020000)
#define TL_NN_TF_OUTPUT UINT32_C(0x00040000)
#define TL_NN_TF_NEEDED UINT32_C(0x00080000)
#define TL_NN_TF_ALIAS UINT32_C(0x00100000)  /* produced by a RESHAPE-like op */

/* Builtin code of op `i` (validated), and its input/output vectors. */
tl_nn_status_t tl_nn_op_info(const tl_nn_loader_t *ld, uint32_t i, int32_t *builtin,
                             tl_fb_vec_t *inputs, tl_fb_vec_t *outputs, tl_fb_table_t *op);

/* Whether input `i` of an op with this builtin carries data (RESHAPE's shape does not). */
bool tl_nn_is_data_input(int32_t builtin, uint32_t i);
bool tl_nn_is_alias_op(int32_t builtin);

/* ---- registry ------------------------------------------------------------------------ */

typedef struct {
    int32_t builtin;
    uint8_t options_type;
    tl_nn_prep_fn prep;
} tl_nn_op_reg_t;

const tl_nn_op_reg_t *tl_nn_find_op(int32_t builtin);
extern const tl_nn_eval_fn tl_nn_eval_table[TL_NN_K_COUNT];

#endif /* TL_NN_INTERNAL_H */
