/*
 * smp_cbor.c - request-side CBOR helpers of the SMP server: a non-recursive
 * well-formedness and depth check run on every request before any handler sees it, and
 * a key/value map decoder for handlers (the equivalent of Zephyr's zcbor_map_decode_bulk).
 */
#include <string.h>

#include <zcbor_decode.h>

#include "theraloop/smp.h"

/* Hard cap of the checker's container stack; tl_cbor_wellformed's max_depth is clamped. */
#define CBOR_STACK_MAX 16u

#define CBOR_MAJOR_UINT 0u
#define CBOR_MAJOR_NINT 1u
#define CBOR_MAJOR_BSTR 2u
#define CBOR_MAJOR_TSTR 3u
#define CBOR_MAJOR_ARRAY 4u
#define CBOR_MAJOR_MAP 5u
#define CBOR_MAJOR_TAG 6u
#define CBOR_MAJOR_SIMPLE 7u

#define CBOR_AI_INDEFINITE 31u
#define CBOR_BREAK 0xFFu

typedef struct {
    uint64_t remaining; /* items still expected (definite length) */
    uint64_t seen;      /* items seen (indefinite length) */
    bool indefinite;
    bool is_map;
} cbor_frame_t;

/* Read the argument of a head whose additional information is ai (< 28). */
static bool read_argument(const uint8_t *buf, size_t len, size_t *pos, uint8_t ai,
                          uint64_t *value)
{
    if (ai < 24u) {
        *value = ai;
        return true;
    }
    size_t n = (size_t)1u << (ai - 24u); /* 1, 2, 4 or 8 bytes */
    if (n > len - *pos) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | buf[*pos + i];
    }
    *pos += n;
    *value = v;
    return true;
}

/* One complete item was read at the current level: count it, closing every definite
 * container it completes. Sets *top_done when the top-level item is complete. */
static void item_complete(cbor_frame_t *stack, size_t *depth, bool *top_done)
{
    for (;;) {
        if (*depth == 0u) {
            *top_done = true;
            return;
        }
        cbor_frame_t *f = &stack[*depth - 1u];
        if (f->indefinite) {
            f->seen++;
            return;
        }
        f->remaining--;
        if (f->remaining > 0u) {
            return;
        }
        (*depth)--; /* the container is complete: it is an item of its parent */
    }
}

bool tl_cbor_wellformed(const uint8_t *buf, size_t len, unsigned max_depth)
{
    cbor_frame_t stack[CBOR_STACK_MAX];
    size_t depth = 0;
    size_t pos = 0;
    bool top_done = false;
    if (max_depth > CBOR_STACK_MAX) {
        max_depth = CBOR_STACK_MAX;
    }

    while (!top_done) {
        if (pos >= len) {
            return false; /* truncated */
        }
        uint8_t ib = buf[pos++];
        uint8_t major = (uint8_t)(ib >> 5);
        uint8_t ai = (uint8_t)(ib & 0x1Fu);

        if (ib == CBOR_BREAK) {
            if (depth == 0u || !stack[depth - 1u].indefinite) {
                return false; /* break outside an indefinite-length container */
            }
            if (stack[depth - 1u].is_map && (stack[depth - 1u].seen & 1u) != 0u) {
                return false; /* map with a key but no value */
            }
            depth--;
            item_complete(stack, &depth, &top_done);
            continue;
        }
        if (ai >= 28u && ai <= 30u) {
            return false; /* reserved additional information */
        }
        uint64_t arg = 0;
        bool indefinite = (ai == CBOR_AI_INDEFINITE);
        if (indefinite) {
            /* Only arrays and maps may have indefinite length here (see smp.h). */
            if (major != CBOR_MAJOR_ARRAY && major != CBOR_MAJOR_MAP) {
                return false;
            }
        } else if (!read_argument(buf, len, &pos, ai, &arg)) {
            return false;
        }

        switch (major) {
        case CBOR_MAJOR_UINT:
        case CBOR_MAJOR_NINT:
            item_complete(stack, &depth, &top_done);
            break;
        case CBOR_MAJOR_BSTR:
        case CBOR_MAJOR_TSTR:
            if (arg > (uint64_t)(len - pos)) {
                return false;
            }
            pos += (size_t)arg;
            item_complete(stack, &depth, &top_done);
            break;
        case CBOR_MAJOR_ARRAY:
        case CBOR_MAJOR_MAP: {
            if (depth >= max_depth) {
                return false;
            }
            /* Every item takes at least one byte: reject counts the input cannot hold
             * (this also keeps 2 * count from overflowing). */
            if (!indefinite && arg > (uint64_t)(len - pos)) {
                return false;
            }
            uint64_t items = (major == CBOR_MAJOR_MAP) ? arg * 2u : arg;
            if (!indefinite && items == 0u) {
                item_complete(stack, &depth, &top_done); /* empty container */
                break;
            }
            cbor_frame_t *f = &stack[depth++];
            f->remaining = items;
            f->seen = 0;
            f->indefinite = indefinite;
            f->is_map = (major == CBOR_MAJOR_MAP);
            break;
        }
        case CBOR_MAJOR_TAG:
            /* The tagged item follows and completes the tag. */
            break;
        default: /* CBOR_MAJOR_SIMPLE */
            if (ai == 24u && arg < 32u) {
                return false; /* two-byte encoding of a one-byte simple value */
            }
            item_complete(stack, &depth, &top_done);
            break;
        }
    }
    return pos == len;
}

/* Decode one value of the given type at the decoder's position. */
static bool decode_value(zcbor_state_t *dec, tl_smp_val_type_t type, void *out)
{
    if (dec->payload >= dec->payload_end) {
        return false;
    }
    uint8_t major = (uint8_t)(*dec->payload >> 5);
    switch (type) {
    case TL_SMP_VAL_TSTR:
        return zcbor_tstr_decode(dec, (struct zcbor_string *)out);
    case TL_SMP_VAL_BSTR:
        return zcbor_bstr_decode(dec, (struct zcbor_string *)out);
    case TL_SMP_VAL_U32:
        return zcbor_uint32_decode(dec, (uint32_t *)out);
    case TL_SMP_VAL_I32:
        return zcbor_int32_decode(dec, (int32_t *)out);
    case TL_SMP_VAL_BOOL:
        return zcbor_bool_decode(dec, (bool *)out);
    case TL_SMP_VAL_FLAG:
        if (major == CBOR_MAJOR_UINT) {
            uint32_t v = 0;
            if (!zcbor_uint32_decode(dec, &v) || v > 1u) {
                return false;
            }
            *(bool *)out = (v == 1u);
            return true;
        }
        return zcbor_bool_decode(dec, (bool *)out);
    default:
        return false;
    }
}

tl_mgmt_err_t tl_smp_decode_map(tl_smp_req_t *req, tl_smp_field_t *fields, size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++) {
        fields[i].found = false;
    }
    if (req->payload_len == 0u) {
        return TL_MGMT_ERR_EOK; /* no payload: an empty map */
    }
    zcbor_state_t *dec = req->dec;
    if (!zcbor_map_start_decode(dec)) {
        return TL_MGMT_ERR_EINVAL;
    }
    while (!zcbor_array_at_end(dec)) {
        struct zcbor_string key;
        if (!zcbor_tstr_decode(dec, &key)) {
            /* A key that is not text cannot be one of ours: skip key and value. */
            if (!zcbor_any_skip(dec, NULL) || !zcbor_any_skip(dec, NULL)) {
                goto invalid;
            }
            continue;
        }
        tl_smp_field_t *match = NULL;
        for (size_t i = 0; i < n_fields; i++) {
            size_t klen = strlen(fields[i].key);
            if (klen == key.len && memcmp(fields[i].key, key.value, klen) == 0) {
                match = &fields[i];
                break;
            }
        }
        if (match == NULL) {
            if (!zcbor_any_skip(dec, NULL)) {
                goto invalid;
            }
            continue;
        }
        if (match->found || !decode_value(dec, match->type, match->out)) {
            goto invalid; /* duplicate key, or a value of the wrong type or range */
        }
        match->found = true;
    }
    if (!zcbor_map_end_decode(dec)) {
        goto invalid;
    }
    return TL_MGMT_ERR_EOK;

invalid:
    (void)zcbor_list_map_end_force_decode(dec);
    for (size_t i = 0; i < n_fields; i++) {
        fields[i].found = false;
    }
    return TL_MGMT_ERR_EINVAL;
}
