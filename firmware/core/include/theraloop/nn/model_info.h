/*
 * theraloop/nn/model_info.h - metadata of a model compiled into the firmware.
 *
 * `theraloop model convert model.tflite -o DIR --name NAME` writes NAME.c / NAME.h: the
 * .tflite bytes as a 16-byte aligned const array and one `const tl_model_info_t
 * NAME_info` describing them, so the firmware can check at boot that the model it loads
 * is the one it was built for and size its arena statically:
 *
 *   #include "NAME.h"
 *   static alignas(16) uint8_t arena[NAME_ARENA_BYTES];
 *   tl_nn_model_t m;
 *   tl_nn_status_t st = tl_nn_load(&m, NAME_info.data, NAME_info.size, arena, sizeof arena);
 *   for (size_t i = 0; st == TL_NN_OK && i < NAME_info.n_inputs; i++) {
 *       const tl_model_io_t *io = &NAME_info.inputs[i];
 *       st = tl_nn_expect(&m, false, i, io->type, io->dims, io->ndim);
 *   }
 *
 * Plain C11, fixed-width types, everything const (lives in flash).
 */
#ifndef THERALOOP_NN_MODEL_INFO_H
#define THERALOOP_NN_MODEL_INFO_H

#include <stdint.h>

#include "theraloop/nn/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this struct layout; bumped when fields change. */
#define TL_MODEL_INFO_VERSION 1u

/* One model input or output: what tl_nn_input()/tl_nn_output() will report. */
typedef struct {
    const char *name;              /* tensor name in the model file (NUL-terminated) */
    tl_nn_type_t type;             /* element type (int8, int32 or float32) */
    uint8_t ndim;                  /* number of dimensions used in dims[] */
    int32_t dims[TL_NN_MAX_DIMS];  /* shape, row-major (NHWC for images) */
    float scale;                   /* quantization scale, 0 if not quantized */
    int32_t zero_point;            /* quantization zero point */
    uint32_t bytes;                /* size of the tensor data in bytes */
    uint32_t tensor_index;         /* index of the tensor in the subgraph */
} tl_model_io_t;

/* A converted model: the file, its identity and what the engine needs to run it. */
typedef struct {
    uint32_t info_version;         /* TL_MODEL_INFO_VERSION of the generator */
    const char *name;              /* NAME given to `model convert` */
    const uint8_t *data;           /* the .tflite file (16-byte aligned) */
    uint32_t size;                 /* file size in bytes */
    uint8_t sha256[32];            /* SHA-256 of the file */
    uint32_t arena_bytes;          /* exact arena tl_nn_load() needs (engine's planner) */
    uint32_t weights_bytes;        /* bytes of constant tensor data inside the file */
    uint64_t macs;                 /* multiply-accumulates per inference */
    uint16_t n_inputs;
    uint16_t n_outputs;
    const tl_model_io_t *inputs;   /* n_inputs entries, model signature order */
    const tl_model_io_t *outputs;  /* n_outputs entries */
    uint16_t n_ops;
    const uint16_t *op_codes;      /* builtin operator code of every op, file order */
    const char *op_list;           /* the same as text: "CONV_2D,MAX_POOL_2D,..." */
} tl_model_info_t;

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_NN_MODEL_INFO_H */
