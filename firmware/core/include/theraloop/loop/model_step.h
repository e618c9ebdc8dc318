/*
 * loop/model_step.h - the model stage of the control loop: quantise the step's input
 * (feature vector or raw window) with the model's own input scale and zero point, run the
 * inference engine, and turn the output into the policy's score and a class.
 *
 * Integer arithmetic only, so the host build (SIL) and the Cortex-M4 compute identical
 * scores. The model's float32 scales are decomposed bit by bit (no float operations) when
 * the model is bound:
 *
 *   input   the model's real input value is the device's integer value v (a feature in
 *           its own LSBs, 2^-frac_bits each, or a raw sample in ADC counts), so
 *               q = clamp(rha(v / s_in) + zp_in, -128, 127)
 *           computed as rha(v * R / 2^k) with s_in = m * 2^(E-150) (m the 24-bit
 *           significand, E the biased exponent), R = round(2^54 / m), k = E - 96.
 *           Exact whenever s_in is a power of two (R = 2^31); otherwise R carries a
 *           relative error below 2^-31, which can move a result by one step only when
 *           v / s_in lies within that distance of a rounding tie.
 *   output  score = rha((q - zp_out) * s_out * 2^15): the dequantised output of the score
 *           class in Q15 (a probability 0..1 becomes 0..32768), exact for every scale.
 *           class = argmax of the outputs (lowest index on ties).
 *   rha     round half away from zero (TFLite's QUANTIZE rounding).
 *
 * Contract (checked by tl_model_step_bind, each failure a specific tl_model_err_t): one
 * int8 input whose element count equals the pipeline's (features: the feature vector
 * length; raw: the raw-window length of one channel), a positive finite input scale; one
 * int8 output of shape [C] or [1, C] with 1 <= C <= TL_MODEL_MAX_CLASSES, a positive
 * finite output scale, score_class < C and artifact_class < C (or none). A model that
 * does not fit is not used: the loop reports TL_TFAULT_MODEL_LOAD and the supervisor
 * falls back.
 */
#ifndef THERALOOP_LOOP_MODEL_STEP_H
#define THERALOOP_LOOP_MODEL_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/nn/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_MODEL_MAX_CLASSES 16u
#define TL_MODEL_NO_CLASS 255u /* artifact_class: none */
#define TL_MODEL_Q15_ONE 32768

typedef enum {
    TL_PIPE_FEATURES = 0, /* the feature vector (tl_features_read) */
    TL_PIPE_RAW = 1,      /* the raw window of one channel (tl_features_raw_window) */
    TL_PIPE_COUNT = 2,
} tl_pipeline_kind_t;

typedef enum {
    TL_MODEL_OK = 0,
    TL_MODEL_ERR_NONE = 1,           /* no model selected, or the selected one is absent */
    TL_MODEL_ERR_LOAD = 2,           /* the engine refused the file (detail: tl_nn_status_t) */
    TL_MODEL_ERR_INPUTS = 3,         /* not exactly one input (detail: count) */
    TL_MODEL_ERR_INPUT_TYPE = 4,     /* the input is not int8 */
    TL_MODEL_ERR_INPUT_SIZE = 5,     /* input elements != what the pipeline gives (detail) */
    TL_MODEL_ERR_INPUT_SCALE = 6,    /* input scale not a positive finite normal number */
    TL_MODEL_ERR_OUTPUTS = 7,        /* not exactly one output (detail: count) */
    TL_MODEL_ERR_OUTPUT_TYPE = 8,    /* the output is not int8 */
    TL_MODEL_ERR_OUTPUT_SHAPE = 9,   /* not [C] or [1, C], 1 <= C <= 16 */
    TL_MODEL_ERR_OUTPUT_SCALE = 10,  /* output scale not a positive finite normal number */
    TL_MODEL_ERR_SCORE_CLASS = 11,   /* score_class >= C (detail: C) */
    TL_MODEL_ERR_ARTIFACT_CLASS = 12, /* artifact_class >= C (detail: C) */
    TL_MODEL_ERR_INVOKE = 13,        /* the engine failed an inference (detail: status) */
    TL_MODEL_ERR_COUNT = 14,
} tl_model_err_t;

/* A quantisation multiplier decomposed from a float32 scale (see the top of this file). */
typedef struct {
    uint32_t mult; /* input: R = round(2^54 / m); output: m */
    int32_t shift; /* input: k = E - 96 (right shift); output: E - 135 (left if >= 0) */
} tl_qmul_t;

/* What the loop asks of the model (from its configuration). */
typedef struct {
    uint32_t input_len;     /* features per vector, or raw-window samples */
    uint8_t kind;           /* tl_pipeline_kind_t */
    uint8_t score_class;
    uint8_t artifact_class; /* TL_MODEL_NO_CLASS: none */
    uint8_t reserved;
} tl_model_contract_t;

/* The outcome of one inference. */
typedef struct {
    int32_t score;        /* Q15 value of the score class */
    uint8_t model_class;  /* argmax */
    uint8_t artifact;     /* argmax is the artifact class */
    uint8_t ok;           /* 0: the engine failed (see status) */
    uint8_t status;       /* tl_nn_status_t of the invoke */
} tl_model_result_t;

/* A model bound to a contract. Treat the members as private. */
typedef struct {
    tl_nn_model_t *model;
    int8_t *in;
    const int8_t *out;
    uint32_t in_len;
    tl_qmul_t in_q;
    int32_t in_zp;
    tl_qmul_t out_q;
    int32_t out_zp;
    uint8_t n_classes;
    uint8_t score_class;
    uint8_t artifact_class;
    uint8_t kind;
    uint8_t bound;
    uint8_t err;     /* tl_model_err_t of the last bind */
    uint8_t reserved[2];
    uint32_t detail; /* see tl_model_err_t */
} tl_model_step_t;

/* Stable lower-case name ("input_size") and one-line description of an error. */
const char *tl_model_err_name(uint32_t err);
const char *tl_model_err_str(uint32_t err);
const char *tl_pipeline_name(uint32_t kind);

/* Decompose a float32 scale. False (out zeroed) unless it is a positive finite normal. */
bool tl_qmul_input(float scale, tl_qmul_t *out);
bool tl_qmul_output(float scale, tl_qmul_t *out);

/* q = clamp(rha(v / s) + zp, -128, 127) with s given by tl_qmul_input. */
int8_t tl_quantize_i32(int32_t v, const tl_qmul_t *q, int32_t zp);
/* rha((q - zp) * s * 2^15), saturated to int32, with s given by tl_qmul_output. */
int32_t tl_dequantize_q15(int8_t q, const tl_qmul_t *m, int32_t zp);

/* Bind a loaded model (NULL: none) to a contract. On error the step is unbound (runs
 * refuse) and the error is returned and kept (ms->err, ms->detail). */
tl_model_err_t tl_model_step_bind(tl_model_step_t *ms, tl_nn_model_t *model,
                                  const tl_model_contract_t *contract);
void tl_model_step_unbind(tl_model_step_t *ms);
bool tl_model_step_bound(const tl_model_step_t *ms);

/* One inference on a feature vector (input_len int32 values) or a raw window (input_len
 * int16 samples, oldest first). False if unbound. */
bool tl_model_step_run_features(tl_model_step_t *ms, const int32_t *v, tl_model_result_t *out);
bool tl_model_step_run_raw(tl_model_step_t *ms, const int16_t *x, tl_model_result_t *out);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_LOOP_MODEL_STEP_H */
