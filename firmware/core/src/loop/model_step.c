/*
 * model_step.c - quantise -> invoke -> score (see loop/model_step.h for the arithmetic).
 */
#include "theraloop/loop/model_step.h"

#include <string.h>

static const char *const k_err_names[TL_MODEL_ERR_COUNT] = {
    "ok",          "none",         "load",         "inputs",       "input_type",
    "input_size",  "input_scale",  "outputs",      "output_type",  "output_shape",
    "output_scale", "score_class", "artifact_class", "invoke",
};

static const char *const k_err_text[TL_MODEL_ERR_COUNT] = {
    "model bound",
    "no model selected or available",
    "the inference engine refused the model",
    "the model must have exactly one input",
    "the model input is not int8",
    "the model input size differs from what the pipeline gives",
    "the model input scale is not a positive finite number",
    "the model must have exactly one output",
    "the model output is not int8",
    "the model output is not [C] or [1, C] with 1..16 classes",
    "the model output scale is not a positive finite number",
    "score_class is not a class of the model",
    "artifact_class is not a class of the model",
    "the inference engine failed to run the model",
};

const char *tl_model_err_name(uint32_t err)
{
    return err < TL_MODEL_ERR_COUNT ? k_err_names[err] : "unknown";
}

const char *tl_model_err_str(uint32_t err)
{
    return err < TL_MODEL_ERR_COUNT ? k_err_text[err] : "unknown error";
}

const char *tl_pipeline_name(uint32_t kind)
{
    switch (kind) {
    case TL_PIPE_FEATURES:
        return "features";
    case TL_PIPE_RAW:
        return "raw";
    default:
        return "unknown";
    }
}

/* The biased exponent E (1..254) and the 24-bit significand m of a positive finite
 * normal float32, from its bit pattern. False for anything else. */
static bool float_parts(float scale, uint32_t *m, int32_t *e)
{
    uint32_t bits;
    memcpy(&bits, &scale, sizeof bits);
    uint32_t exp = (bits >> 23) & 0xFFu;
    if ((bits >> 31) != 0u || exp == 0u || exp == 0xFFu) {
        return false;
    }
    *m = (bits & 0x7FFFFFu) | 0x800000u;
    *e = (int32_t)exp;
    return true;
}

bool tl_qmul_input(float scale, tl_qmul_t *out)
{
    uint32_t m;
    int32_t e;
    if (!float_parts(scale, &m, &e)) {
        memset(out, 0, sizeof *out);
        return false;
    }
    /* R = round(2^54 / m), m in [2^23, 2^24): R in (2^30, 2^31]. */
    uint64_t r = ((UINT64_C(1) << 54) + (uint64_t)(m / 2u)) / m;
    out->mult = (uint32_t)r;
    out->shift = e - 96;
    return true;
}

bool tl_qmul_output(float scale, tl_qmul_t *out)
{
    uint32_t m;
    int32_t e;
    if (!float_parts(scale, &m, &e)) {
        memset(out, 0, sizeof *out);
        return false;
    }
    out->mult = m;
    out->shift = e - 135; /* s * 2^15 = m * 2^(E - 150 + 15) */
    return true;
}

/* rha(p / 2^k) for 1 <= k, |p| <= 2^62. */
static int64_t rha_shift(int64_t p, int32_t k)
{
    if (k >= 64) {
        return 0;
    }
    uint64_t mag = p < 0 ? (uint64_t)0 - (uint64_t)p : (uint64_t)p;
    uint64_t r = (mag + (UINT64_C(1) << (k - 1))) >> k;
    return p < 0 ? -(int64_t)r : (int64_t)r;
}

int8_t tl_quantize_i32(int32_t v, const tl_qmul_t *q, int32_t zp)
{
    int64_t r;
    if (q->shift <= 0) {
        /* A scale below 2^-30: |v / s| is beyond any int8 unless v is 0. */
        r = v > 0 ? INT64_C(1) << 40 : (v < 0 ? -(INT64_C(1) << 40) : 0);
    } else {
        r = rha_shift((int64_t)v * (int64_t)q->mult, q->shift);
    }
    r += zp;
    if (r < -128) {
        r = -128;
    } else if (r > 127) {
        r = 127;
    }
    return (int8_t)r;
}

int32_t tl_dequantize_q15(int8_t q, const tl_qmul_t *m, int32_t zp)
{
    int64_t p = ((int64_t)q - (int64_t)zp) * (int64_t)m->mult; /* |p| < 2^33 */
    int64_t r;
    if (m->shift >= 0) {
        if (p == 0) {
            r = 0;
        } else if (m->shift >= 30) {
            r = p > 0 ? INT32_MAX : INT32_MIN;
        } else {
            r = p * (INT64_C(1) << m->shift); /* |p| < 2^33, shift < 30: no overflow */
        }
    } else {
        r = rha_shift(p, -m->shift);
    }
    if (r > INT32_MAX) {
        r = INT32_MAX;
    } else if (r < INT32_MIN) {
        r = INT32_MIN;
    }
    return (int32_t)r;
}

static size_t elements(const tl_nn_tensor_t *t)
{
    size_t n = 1;
    for (uint8_t i = 0; i < t->ndim; i++) {
        if (t->dims[i] <= 0) {
            return 0;
        }
        n *= (size_t)t->dims[i];
    }
    return n;
}

static tl_model_err_t fail(tl_model_step_t *ms, tl_model_err_t err, uint32_t detail)
{
    uint8_t kind = ms->kind;
    memset(ms, 0, sizeof *ms);
    ms->kind = kind;
    ms->err = (uint8_t)err;
    ms->detail = detail;
    return err;
}

tl_model_err_t tl_model_step_bind(tl_model_step_t *ms, tl_nn_model_t *model,
                                  const tl_model_contract_t *c)
{
    ms->kind = c->kind;
    if (model == NULL || !model->loaded) {
        return fail(ms, TL_MODEL_ERR_NONE, 0);
    }
    size_t n_in = tl_nn_input_count(model);
    if (n_in != 1u) {
        return fail(ms, TL_MODEL_ERR_INPUTS, (uint32_t)n_in);
    }
    size_t n_out = tl_nn_output_count(model);
    if (n_out != 1u) {
        return fail(ms, TL_MODEL_ERR_OUTPUTS, (uint32_t)n_out);
    }
    tl_nn_tensor_t in;
    tl_nn_tensor_t out;
    if (tl_nn_input(model, 0, &in) != TL_NN_OK || tl_nn_output(model, 0, &out) != TL_NN_OK) {
        return fail(ms, TL_MODEL_ERR_NONE, 0);
    }
    if (in.type != TL_NN_TYPE_INT8) {
        return fail(ms, TL_MODEL_ERR_INPUT_TYPE, (uint32_t)in.type);
    }
    size_t in_len = elements(&in);
    if (in_len != c->input_len || in.bytes != in_len) {
        return fail(ms, TL_MODEL_ERR_INPUT_SIZE, (uint32_t)in_len);
    }
    tl_qmul_t in_q;
    if (!tl_qmul_input(in.scale, &in_q) || in.zero_point < -128 || in.zero_point > 127) {
        return fail(ms, TL_MODEL_ERR_INPUT_SCALE, 0);
    }
    if (out.type != TL_NN_TYPE_INT8) {
        return fail(ms, TL_MODEL_ERR_OUTPUT_TYPE, (uint32_t)out.type);
    }
    int32_t classes = 0;
    if (out.ndim == 1u) {
        classes = out.dims[0];
    } else if (out.ndim == 2u && out.dims[0] == 1) {
        classes = out.dims[1];
    }
    if (classes < 1 || classes > (int32_t)TL_MODEL_MAX_CLASSES || out.bytes != (size_t)classes) {
        return fail(ms, TL_MODEL_ERR_OUTPUT_SHAPE, (uint32_t)elements(&out));
    }
    tl_qmul_t out_q;
    if (!tl_qmul_output(out.scale, &out_q) || out.zero_point < -128 || out.zero_point > 127) {
        return fail(ms, TL_MODEL_ERR_OUTPUT_SCALE, 0);
    }
    if (c->score_class >= (uint32_t)classes) {
        return fail(ms, TL_MODEL_ERR_SCORE_CLASS, (uint32_t)classes);
    }
    if (c->artifact_class != TL_MODEL_NO_CLASS && c->artifact_class >= (uint32_t)classes) {
        return fail(ms, TL_MODEL_ERR_ARTIFACT_CLASS, (uint32_t)classes);
    }
    memset(ms, 0, sizeof *ms);
    ms->model = model;
    ms->in = (int8_t *)in.data;
    ms->out = (const int8_t *)out.data;
    ms->in_len = (uint32_t)in_len;
    ms->in_q = in_q;
    ms->in_zp = in.zero_point;
    ms->out_q = out_q;
    ms->out_zp = out.zero_point;
    ms->n_classes = (uint8_t)classes;
    ms->score_class = c->score_class;
    ms->artifact_class = c->artifact_class;
    ms->kind = c->kind;
    ms->bound = 1u;
    ms->err = TL_MODEL_OK;
    return TL_MODEL_OK;
}

void tl_model_step_unbind(tl_model_step_t *ms)
{
    (void)fail(ms, TL_MODEL_ERR_NONE, 0);
}

bool tl_model_step_bound(const tl_model_step_t *ms)
{
    return ms->bound != 0u;
}

static void finish(tl_model_step_t *ms, tl_model_result_t *out)
{
    memset(out, 0, sizeof *out);
    tl_nn_status_t st = tl_nn_invoke(ms->model);
    out->status = (uint8_t)st;
    if (st != TL_NN_OK) {
        return;
    }
    const int8_t *y = ms->out;
    uint8_t best = 0;
    for (uint8_t i = 1; i < ms->n_classes; i++) {
        if (y[i] > y[best]) {
            best = i;
        }
    }
    out->model_class = best;
    out->artifact = (ms->artifact_class != TL_MODEL_NO_CLASS && best == ms->artifact_class) ? 1u
                                                                                          : 0u;
    out->score = tl_dequantize_q15(y[ms->score_class], &ms->out_q, ms->out_zp);
    out->ok = 1u;
}

bool tl_model_step_run_features(tl_model_step_t *ms, const int32_t *v, tl_model_result_t *out)
{
    if (!ms->bound) {
        memset(out, 0, sizeof *out);
        out->status = (uint8_t)TL_NN_ERR_NOT_LOADED;
        return false;
    }
    int8_t *in = ms->in;
    for (uint32_t i = 0; i < ms->in_len; i++) {
        in[i] = tl_quantize_i32(v[i], &ms->in_q, ms->in_zp);
    }
    finish(ms, out);
    return true;
}

bool tl_model_step_run_raw(tl_model_step_t *ms, const int16_t *x, tl_model_result_t *out)
{
    if (!ms->bound) {
        memset(out, 0, sizeof *out);
        out->status = (uint8_t)TL_NN_ERR_NOT_LOADED;
        return false;
    }
    int8_t *in = ms->in;
    for (uint32_t i = 0; i < ms->in_len; i++) {
        in[i] = tl_quantize_i32((int32_t)x[i], &ms->in_q, ms->in_zp);
    }
    finish(ms, out);
    return true;
}
