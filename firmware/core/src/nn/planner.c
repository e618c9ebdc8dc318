/*
 * planner.c - tensor lifetimes and greedy placement in the arena.
 *
 * Every tensor that needs memory gets the interval [first, last] of operator indices
 * during which it must stay intact: first = the operator that writes it (0 for model
 * inputs), last = the last operator that reads it (n_ops for model outputs). Tensors
 * produced by RESHAPE/SQUEEZE/EXPAND_DIMS share their input's memory (an alias group,
 * planned as one interval). Constants stay in the model. Tensors whose value no model
 * output depends on get no memory at all.
 *
 * Placement is TFLM's greedy scheme: largest first (ties: earlier first, then lower
 * index), each at the lowest offset that does not overlap an already placed tensor whose
 * interval intersects its own. The activation area starts at `act_base` (just after the
 * persistent tables) and is act_bytes long.
 *
 * Scratch: 8 bytes per tensor at [act_base, act_base + 8 * n_tensors) while planning
 * (the activation area is unused during load), below the load-time shape table that
 * tl_nn_tensor_desc() still reads; reported as temp_bytes so the caller can account
 * for it.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os") /* load-time code: size over speed */
#endif
#include <string.h>

#include "nn_internal.h"

typedef struct {
    uint16_t first;
    uint16_t last;
    uint32_t x; /* kind (top 2 bits) and value */
} plan_entry_t;

#define KIND_SHIFT 30
#define KIND_MASK (UINT32_C(3) << KIND_SHIFT)
#define VALUE_MASK (~KIND_MASK)
#define K_DEAD (UINT32_C(0) << KIND_SHIFT)
#define K_CONST (UINT32_C(1) << KIND_SHIFT)  /* value: model offset */
#define K_ALIAS (UINT32_C(2) << KIND_SHIFT)  /* value: root tensor */
#define K_PLAN (UINT32_C(3) << KIND_SHIFT)   /* value: offset, or UNPLACED */
#define UNPLACED VALUE_MASK
#define NO_FIRST UINT16_C(0xFFFF)

static uint32_t align4(uint32_t v)
{
    return (v + 3u) & ~3u;
}

/* Follow RESHAPE-like producers back to the tensor that owns the memory. */
static tl_nn_status_t alias_root(const tl_nn_loader_t *ld, uint32_t t, uint32_t *root)
{
    uint32_t hops = 0;
    while ((ld->refs[t] & TL_NN_TF_ALIAS) != 0) {
        uint32_t producer = (ld->refs[t] & TL_NN_TF_PRODUCER_MASK) - 1u;
        int32_t builtin;
        tl_fb_vec_t ins, outs;
        tl_fb_table_t op;
        TL_TRY(tl_nn_op_info(ld, producer, &builtin, &ins, &outs, &op));
        if (ins.n < 1 || ++hops > ld->n_ops) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        int32_t in = tl_fb_vec_i32(&ld->fb, &ins, 0);
        if (in < 0 || (uint32_t)in >= ld->n_tensors) {
            return TL_NN_ERR_BAD_GRAPH;
        }
        t = (uint32_t)in;
    }
    *root = t;
    return TL_NN_OK;
}

static void widen(plan_entry_t *e, uint32_t first, uint32_t last)
{
    if (e->first == NO_FIRST || first < e->first) {
        e->first = (uint16_t)first;
    }
    if (last > e->last) {
        e->last = (uint16_t)last;
    }
}

static bool overlaps_in_time(const plan_entry_t *a, const plan_entry_t *b)
{
    return !(a->last < b->first || b->last < a->first);
}

tl_nn_status_t tl_nn_plan(tl_nn_loader_t *ld, uint32_t act_base, uint32_t *act_bytes,
                          uint32_t *temp_bytes)
{
    const uint32_t n = ld->n_tensors;
    *act_bytes = 0;
    *temp_bytes = (uint32_t)sizeof(plan_entry_t) * n;
    if (act_base > ld->top || *temp_bytes > ld->top - act_base) { /* below the shape table */
        return TL_NN_ERR_ARENA_TOO_SMALL;
    }
    plan_entry_t *e = (plan_entry_t *)(void *)(ld->arena + act_base);
    uint32_t *refs = ld->refs;

    /* 1. classify tensors and find alias roots */
    for (uint32_t t = 0; t < n; ++t) {
        e[t].first = NO_FIRST;
        e[t].last = 0;
        uint32_t f = refs[t];
        if ((f & TL_NN_TF_CONST) != 0) {
            tl_nn_tdesc_t d;
            TL_TRY(tl_nn_tensor_desc(ld, t, &d));
            e[t].x = K_CONST | (uint32_t)(d.data - ld->fb.buf);
        } else if ((f & TL_NN_TF_NEEDED) == 0) {
            e[t].x = K_DEAD;
        } else if ((f & TL_NN_TF_ALIAS) != 0) {
            uint32_t r;
            TL_TRY(alias_root(ld, t, &r));
            e[t].x = K_ALIAS | r;
        } else {
            e[t].x = K_PLAN | UNPLACED;
        }
    }

    /* 2. lifetimes, folded onto the roots */
    for (uint32_t k = 0; k < ld->inputs.n; ++k) {
        uint32_t t = (uint32_t)tl_fb_vec_i32(&ld->fb, &ld->inputs, k);
        widen(&e[t], 0, 0);
    }
    for (uint32_t i = 0; i < ld->n_ops; ++i) {
        int32_t builtin;
        tl_fb_vec_t ins, outs;
        tl_fb_table_t op;
        TL_TRY(tl_nn_op_info(ld, i, &builtin, &ins, &outs, &op));
        bool live = false;
        for (uint32_t k = 0; k < outs.n; ++k) {
            uint32_t t = (uint32_t)tl_fb_vec_i32(&ld->fb, &outs, k);
            if ((refs[t] & TL_NN_TF_NEEDED) != 0) {
                live = true;
            }
        }
        if (!live) {
            continue;
        }
        for (uint32_t k = 0; k < outs.n; ++k) {
            uint32_t t = (uint32_t)tl_fb_vec_i32(&ld->fb, &outs, k);
            uint32_t r = (e[t].x & KIND_MASK) == K_ALIAS ? (e[t].x & VALUE_MASK) : t;
            widen(&e[r], i, i);
        }
        for (uint32_t k = 0; k < ins.n; ++k) {
            int32_t ti = tl_fb_vec_i32(&ld->fb, &ins, k);
            if (ti < 0 || !tl_nn_is_data_input(builtin, k)) {
                continue;
            }
            uint32_t t = (uint32_t)ti;
            uint32_t r = (e[t].x & KIND_MASK) == K_ALIAS ? (e[t].x & VALUE_MASK) : t;
            widen(&e[r], i, i);
        }
    }
    for (uint32_t k = 0; k < ld->outputs.n; ++k) {
        uint32_t t = (uint32_t)tl_fb_vec_i32(&ld->fb, &ld->outputs, k);
        uint32_t r = (e[t].x & KIND_MASK) == K_ALIAS ? (e[t].x & VALUE_MASK) : t;
        widen(&e[r], ld->n_ops, ld->n_ops);
    }

    /* 3. sizes of the tensors to place (refs[] is free scratch from here on) */
    for (uint32_t t = 0; t < n; ++t) {
        if ((e[t].x & KIND_MASK) == K_PLAN) {
            tl_nn_tdesc_t d;
            TL_TRY(tl_nn_tensor_desc(ld, t, &d));
            refs[t] = align4(d.bytes);
            if (e[t].first == NO_FIRST) {
                e[t].first = 0;
            }
        }
    }

    /* 4. greedy placement, largest first */
    uint32_t total = 0;
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t t = 0; t < n; ++t) {
            if (e[t].x != (K_PLAN | UNPLACED)) {
                continue;
            }
            if (best == UINT32_MAX || refs[t] > refs[best] ||
                (refs[t] == refs[best] && e[t].first < e[best].first)) {
                best = t;
            }
        }
        if (best == UINT32_MAX) {
            break;
        }
        const uint32_t size = refs[best];
        uint32_t cand = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (uint32_t t = 0; t < n; ++t) {
                if ((e[t].x & KIND_MASK) != K_PLAN || e[t].x == (K_PLAN | UNPLACED) ||
                    !overlaps_in_time(&e[t], &e[best])) {
                    continue;
                }
                uint32_t off = e[t].x & VALUE_MASK;
                uint32_t end = off + refs[t];
                if (cand < end && off < cand + size) {
                    cand = end;
                    moved = true;
                }
            }
        }
        if (cand > TL_NN_MAX_TENSOR_BYTES * 4u) {
            return TL_NN_ERR_TENSOR_TOO_LARGE;
        }
        e[best].x = K_PLAN | cand;
        if (cand + size > total) {
            total = cand + size;
        }
    }

    /* 5. final references: roots first, then aliases */
    for (uint32_t t = 0; t < n; ++t) {
        uint32_t kind = e[t].x & KIND_MASK;
        if (kind == K_CONST) {
            refs[t] = TL_NN_REF_MODEL | (e[t].x & VALUE_MASK);
        } else if (kind == K_PLAN) {
            refs[t] = act_base + (e[t].x & VALUE_MASK);
        } else if (kind == K_DEAD) {
            refs[t] = TL_NN_REF_NONE;
        }
    }
    for (uint32_t t = 0; t < n; ++t) {
        if ((e[t].x & KIND_MASK) == K_ALIAS) {
            refs[t] = refs[e[t].x & VALUE_MASK];
        }
    }
    *act_bytes = total;
    return TL_NN_OK;
}
