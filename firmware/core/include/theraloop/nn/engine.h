/*
 * theraloop/nn/engine.h - on-device int8 inference engine for .tflite models.
 *
 * Loads a TensorFlow Lite flatbuffer in place (the weights are never copied), validates
 * every byte of it, plans all tensors into one caller-provided arena and runs the model
 * with integer kernels that are bit-exact with TensorFlow Lite Micro's reference kernels.
 * No heap: the handle below is small and fixed-size, everything model-dependent lives in
 * the arena, so `tl_nn_model_t::arena_required` is the honest total.
 *
 *   static alignas(4) uint8_t arena[8192];
 *   tl_nn_model_t m;
 *   tl_nn_status_t st = tl_nn_load(&m, model, model_len, arena, sizeof arena);
 *   if (st != TL_NN_OK) { log(tl_nn_strerror(st), m.err_op, tl_nn_op_name_of(m.err_opcode)); }
 *   tl_nn_tensor_t in, out;
 *   tl_nn_input(&m, 0, &in);   memcpy(in.data, samples, in.bytes);
 *   tl_nn_invoke(&m);
 *   tl_nn_output(&m, 0, &out); // out.data, out.dims, out.scale, out.zero_point
 *
 * The model bytes and the arena must stay valid (and the model unchanged) for as long as
 * the handle is used. The arena must be 4-byte aligned. Input tensors may be overwritten
 * during tl_nn_invoke() (their memory is reused once they are consumed): write the inputs
 * before every invoke.
 */
#ifndef THERALOOP_NN_ENGINE_H
#define THERALOOP_NN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Highest tensor rank the engine accepts. */
#define TL_NN_MAX_DIMS 6

/* Result of every engine call. Stable numbers: they cross the SMP protocol and ctypes. */
typedef enum {
    TL_NN_OK = 0,
    TL_NN_ERR_ARG = 1,                /* NULL pointer or out-of-range argument */
    TL_NN_ERR_TRUNCATED = 2,          /* an offset or length points past the end of the file */
    TL_NN_ERR_BAD_IDENTIFIER = 3,     /* not a TFLite flatbuffer ("TFL3") */
    TL_NN_ERR_MALFORMED = 4,          /* broken flatbuffer structure (alignment, vtable, ...) */
    TL_NN_ERR_BAD_VERSION = 5,        /* schema version other than 3 */
    TL_NN_ERR_UNSUPPORTED_MODEL = 6,  /* not exactly one subgraph, variable/sparse tensors */
    TL_NN_ERR_UNSUPPORTED_OP = 7,     /* operator not implemented (or a custom op) */
    TL_NN_ERR_UNSUPPORTED_TYPE = 8,   /* float or hybrid model, int16/uint8/int4 tensors */
    TL_NN_ERR_UNSUPPORTED_PARAM = 9,  /* supported op with an unsupported option */
    TL_NN_ERR_BAD_SHAPE = 10,         /* inconsistent shapes, or output shape mismatch */
    TL_NN_ERR_TENSOR_TOO_LARGE = 11,  /* a tensor or an accumulation exceeds the engine limits */
    TL_NN_ERR_LIMIT = 12,             /* too many tensors, operators, inputs or dimensions */
    TL_NN_ERR_BAD_BUFFER = 13,        /* constant data missing, wrong size or out of range */
    TL_NN_ERR_BAD_QUANTIZATION = 14,  /* missing/invalid scale or zero point for an op */
    TL_NN_ERR_BAD_GRAPH = 15,         /* bad tensor index, tensor written twice, cycle, ... */
    TL_NN_ERR_ARENA_TOO_SMALL = 16,   /* see tl_nn_model_t::arena_required */
    TL_NN_ERR_ARENA_ALIGN = 17,       /* the arena is not 4-byte aligned */
    TL_NN_ERR_CONTRACT_MISMATCH = 18, /* model inputs/outputs differ from what the caller expects */
    TL_NN_ERR_NOT_LOADED = 19,        /* handle has no successfully loaded model */
} tl_nn_status_t;

/* Number of status codes (for tables indexed by status). */
#define TL_NN_STATUS_COUNT 20

/* Element type of a tensor seen through the API. */
typedef enum {
    TL_NN_TYPE_INT8 = 0,
    TL_NN_TYPE_INT32 = 1,
    TL_NN_TYPE_FLOAT32 = 2,
} tl_nn_type_t;

/* A view of one model input or output. `data` points into the arena. */
typedef struct {
    void *data;           /* tensor bytes (row-major, NHWC for images) */
    size_t bytes;         /* size of data in bytes */
    tl_nn_type_t type;
    uint8_t ndim;
    int32_t dims[TL_NN_MAX_DIMS];
    float scale;          /* 0 if the tensor is not quantized */
    int32_t zero_point;
    const char *name;     /* tensor name inside the model file, NOT NUL-terminated */
    size_t name_len;
    uint32_t tensor_index;
} tl_nn_tensor_t;

/*
 * Loaded-model handle. Fixed size, owned by the caller; treat the fields as read-only.
 * Everything else (operator parameters, per-channel multipliers, tensor memory) lives in
 * the arena passed to tl_nn_load().
 */
typedef struct {
    const uint8_t *model;
    uint8_t *arena;
    uint32_t model_len;
    uint32_t arena_len;
    /* Exact arena bytes this model needs. Set by a successful load, and by a load that
     * failed with TL_NN_ERR_ARENA_TOO_SMALL when it could still be computed (0 if not). */
    uint32_t arena_required;
    /* Operator that caused the last load error, or -1; and its builtin code, or -1. For a
     * model input (output) of an unsupported type: the first operator reading (writing) it. */
    int32_t err_op;
    int32_t err_opcode;
    /* Multiply-accumulates per inference (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED). */
    uint64_t macs;
    /* Internal: positions inside the model and the arena. */
    uint32_t tensors_vec;   /* flatbuffer position of SubGraph.tensors elements */
    uint32_t inputs_vec;    /* SubGraph.inputs elements */
    uint32_t outputs_vec;   /* SubGraph.outputs elements */
    uint32_t ops_vec;       /* SubGraph.operators elements */
    uint32_t opcodes_vec;   /* Model.operator_codes elements */
    uint32_t refs_off;      /* arena offset of the tensor reference table */
    uint32_t exec_off;      /* arena offset of the execution list */
    uint16_t n_tensors;
    uint16_t n_ops;
    uint16_t n_exec;
    uint16_t n_inputs;
    uint16_t n_outputs;
    uint16_t n_opcodes;
    bool loaded;
} tl_nn_model_t;

/*
 * Load `data` (a .tflite file, kept in place) into `arena`. On success the handle is
 * ready for tl_nn_invoke(). On failure the handle records the failing operator
 * (err_op/err_opcode) and, for TL_NN_ERR_ARENA_TOO_SMALL, the arena size needed.
 */
tl_nn_status_t tl_nn_load(tl_nn_model_t *m, const uint8_t *data, size_t len, uint8_t *arena,
                          size_t arena_len);

/*
 * Exact arena bytes tl_nn_load() needs for `data`, computed without running the model.
 * `work` is scratch memory for the load-time tables only (the operator parameters, the
 * shapes computed at load and the planner's bookkeeping, typically a small fraction of
 * the arena); it may be the arena itself. Returns TL_NN_ERR_ARENA_TOO_SMALL if even
 * those tables do not fit.
 */
tl_nn_status_t tl_nn_arena_required(const uint8_t *data, size_t len, uint8_t *work,
                                    size_t work_len, size_t *bytes);

/* Run one inference. */
tl_nn_status_t tl_nn_invoke(tl_nn_model_t *m);

/* Views of the model inputs and outputs (in the order of the model signature). */
size_t tl_nn_input_count(const tl_nn_model_t *m);
size_t tl_nn_output_count(const tl_nn_model_t *m);
tl_nn_status_t tl_nn_input(const tl_nn_model_t *m, size_t index, tl_nn_tensor_t *out);
tl_nn_status_t tl_nn_output(const tl_nn_model_t *m, size_t index, tl_nn_tensor_t *out);

/*
 * Check one input or output against what the application expects (type and shape;
 * pass ndim == 0 to check the type only). TL_NN_ERR_CONTRACT_MISMATCH if it differs.
 */
tl_nn_status_t tl_nn_expect(const tl_nn_model_t *m, bool output, size_t index,
                            tl_nn_type_t type, const int32_t *dims, size_t ndim);

/* Operators of the model, in file order (including ones folded away at load). */
size_t tl_nn_op_count(const tl_nn_model_t *m);
/* Builtin operator code of operator `index` (-1 if out of range). */
int32_t tl_nn_op_code(const tl_nn_model_t *m, size_t index);
/* Name of a builtin operator code ("CONV_2D"); "UNKNOWN" for codes the engine does not know. */
const char *tl_nn_op_name_of(int32_t builtin_code);

/* Stable upper-case name ("ARENA_TOO_SMALL") and a readable message for a status. */
const char *tl_nn_status_name(tl_nn_status_t status);
const char *tl_nn_strerror(tl_nn_status_t status);

/* Whether the optimized Cortex-M DSP kernels were compiled in (else the portable C path). */
bool tl_nn_uses_dsp(void);

/* sizeof(tl_nn_model_t) and sizeof(tl_nn_tensor_t), so language bindings can check
 * their mirror of these structs. */
void tl_nn_abi_sizes(size_t *model_size, size_t *tensor_size);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_NN_ENGINE_H */
