/*
 * mgmt_nn_bench.h - timing for the nn group's `bench` command (internal to src/smp).
 *
 * On an ARMv7-M core the timer is the architectural SysTick (read-only here: the board
 * owns its configuration and its 1 kHz interrupt); elsewhere (the host port) it is C11
 * timespec_get(). See docs/engine.md, "Benchmark method".
 */
#ifndef TL_MGMT_NN_BENCH_H
#define TL_MGMT_NN_BENCH_H

#include <stdbool.h>
#include <stdint.h>

/* A function to time: returns 0 on success, else a status that stops the run. */
typedef uint32_t (*tl_nn_bench_fn)(void *ctx);
/* Called (untimed) before every timed run, e.g. to rewrite the model inputs. */
typedef void (*tl_nn_bench_prep_fn)(void *ctx);

typedef struct {
    const char *timer;  /* "systick" or "timespec_get" */
    uint32_t tick_hz;   /* timer ticks per second (SysTick: (reload + 1) * 1000) */
    bool loop_exact;    /* tl_nn_bench_loop_insns() is the loop's exact instruction count */
} tl_nn_bench_timer_t;

typedef struct {
    uint64_t ticks;     /* sum over the runs */
    uint32_t min;       /* shortest run */
    uint32_t max;       /* longest run */
    uint32_t runs;      /* runs completed */
    bool masked;        /* interrupts were masked during every timed run */
} tl_nn_bench_result_t;

/* Whether a timer is available, and which. */
bool tl_nn_bench_timer(tl_nn_bench_timer_t *out);

/*
 * Time n runs of fn(fn_ctx), prep(prep_ctx) before each (prep may be NULL), after one
 * untimed probe run. Returns 0, or the first non-zero value fn returned (the runs stop
 * there; out->runs says how many completed). Each run is timed on its own; where the
 * timer allows, with interrupts masked for the duration of the run so that interrupt
 * handlers are not counted. Everything between the two timer reads other than fn itself
 * is the same for every fn, so the difference of two results is the difference of the
 * two functions (this is how the calibration loop cancels the harness overhead).
 */
uint32_t tl_nn_bench_run(tl_nn_bench_fn fn, void *fn_ctx, tl_nn_bench_prep_fn prep,
                         void *prep_ctx, uint32_t n, tl_nn_bench_result_t *out);

/* tl_nn_invoke((tl_nn_model_t *)model) behind a one-instruction trampoline (ARMv7-M). */
uint32_t tl_nn_bench_invoke(void *model);

/* The calibration loop, behind the same trampoline: `*(const uint32_t *)ctx` iterations
 * (>= 1) of a two-instruction loop. Always returns 0. */
uint32_t tl_nn_bench_loop(void *ctx);

/* Exact instructions the loop body executes (from its first instruction to its return,
 * inclusive; the trampoline not counted, as it is not for tl_nn_bench_invoke) for
 * `iterations`; 0 where not known (not ARMv7-M). */
uint64_t tl_nn_bench_loop_insns(uint32_t iterations);

#endif /* TL_MGMT_NN_BENCH_H */
