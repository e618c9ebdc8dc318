/*
 * mgmt_nn_bench.c - timer, timed-run harness and calibration loop of the nn group's
 * `bench` command (see mgmt_nn_bench.h and docs/engine.md, "Benchmark method").
 *
 * ARMv7-M: SysTick is part of the architecture (ARMv7-M ARM B3.3, fixed addresses), so
 * the portable core may read it without a board header; it only reads it. The board
 * runs it as its 1 kHz uptime tick, so one period (reload + 1 ticks) is one millisecond
 * and the tick rate is (reload + 1) * 1000 Hz. Each run is timed on its own:
 *   - runs shorter than half a period (checked with an unmasked probe run first) are
 *     timed with interrupts masked (PRIMASK) between two reads of the current value, so
 *     no interrupt handler is counted; a tick that falls due meanwhile stays pending and
 *     is taken right after the run, so the uptime loses nothing;
 *   - longer runs are timed with interrupts enabled on (uptime ms, current value) pairs;
 *     the 1 kHz handler is then part of the figure (a few instructions per ms).
 * Elsewhere (the host port): C11 timespec_get(), nanoseconds, interrupts not applicable.
 */
#include "mgmt_nn_bench.h"

#include <stddef.h>

#include "theraloop/platform.h"

#if defined(__arm__) && (defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__))
#define TL_BENCH_SYSTICK 1
#else
#define TL_BENCH_SYSTICK 0
#endif

#if TL_BENCH_SYSTICK

/* SysTick registers (ARMv7-M ARM B3.3.2). */
#define SYST_CSR (*(volatile const uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile const uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile const uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 0x1u
#define SYST_RVR_MASK 0x00FFFFFFu

/*
 * The timed functions, in assembly so that their instruction counts are exact and do not
 * depend on the compiler. The harness calls either through a one-instruction trampoline
 * (b.w), so the difference of the two measurements is exactly
 *   instructions of tl_nn_invoke (entry to return)  -  instructions of the loop body,
 * and the loop body executes
 *   ldr r0, [r0]       1
 *   subs / bne         2 per iteration (the last bne falls through)
 *   bx lr              1                      -> 2 * iterations + 2, returns 0.
 */
__asm__(".pushsection .text.tl_nn_bench_fns,\"ax\",%progbits\n"
        ".syntax unified\n"
        ".thumb\n"
        ".p2align 2\n"
        ".global tl_nn_bench_invoke\n"
        ".type tl_nn_bench_invoke, %function\n"
        ".thumb_func\n"
        "tl_nn_bench_invoke:\n"
        "    b.w tl_nn_invoke\n"
        ".size tl_nn_bench_invoke, . - tl_nn_bench_invoke\n"
        ".global tl_nn_bench_loop\n"
        ".type tl_nn_bench_loop, %function\n"
        ".thumb_func\n"
        "tl_nn_bench_loop:\n"
        "    b.w tl_nn_bench_loop_body\n"
        ".size tl_nn_bench_loop, . - tl_nn_bench_loop\n"
        ".p2align 2\n"
        ".type tl_nn_bench_loop_body, %function\n"
        ".thumb_func\n"
        "tl_nn_bench_loop_body:\n"
        "    ldr r0, [r0]\n"
        "1:  subs r0, r0, #1\n"
        "    bne 1b\n"
        "    bx lr\n"
        ".size tl_nn_bench_loop_body, . - tl_nn_bench_loop_body\n"
        ".popsection\n");

uint64_t tl_nn_bench_loop_insns(uint32_t iterations)
{
    return (iterations == 0u) ? 0u : 2u * (uint64_t)iterations + 2u;
}

static uint32_t irq_mask(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

static void irq_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

static uint32_t systick_period(void)
{
    return (SYST_RVR & SYST_RVR_MASK) + 1u;
}

bool tl_nn_bench_timer(tl_nn_bench_timer_t *out)
{
    uint32_t period = systick_period();
    if ((SYST_CSR & SYST_CSR_ENABLE) == 0u || period < 2u) {
        return false;
    }
    out->timer = "systick";
    out->tick_hz = period * 1000u; /* <= 2^24 * 1000 fits: reload is 24 bits */
    out->loop_exact = true;
    return true;
}

/* A consistent (uptime ms, current value) pair. */
static void sample(uint32_t *ms, uint32_t *cvr)
{
    uint32_t before;
    do {
        before = tl_platform_uptime_ms();
        *cvr = SYST_CVR & SYST_RVR_MASK;
        *ms = tl_platform_uptime_ms();
    } while (*ms != before);
}

/* Ticks from (ms0, c0) to (ms1, c1); SysTick counts down. */
static uint64_t elapsed(uint32_t period, uint32_t ms0, uint32_t c0, uint32_t ms1, uint32_t c1)
{
    int64_t d = (int64_t)((uint64_t)(uint32_t)(ms1 - ms0) * period) + (int64_t)c0 - (int64_t)c1;
    /* Negative only if a sample caught the reload before its interrupt ran (the handler
     * is taken at the next instruction boundary, so this needs interrupt latency). */
    return (d < 0) ? 0u : (uint64_t)d;
}

/* A pseudo-random pause before each timed run, outside the timed window, of 2k + c
 * instructions with k in 0..124: runs then start at uniformly spread phases of the
 * timer tick, so that the tick quantisation (at 168 MHz one tick is 125/21 instructions
 * under -icount, and 2k covers every residue modulo 125) averages out over the runs
 * instead of repeating one bias. */
static void dither(uint32_t run)
{
    uint32_t hash = (run + 1u) * 2654435761u; /* Knuth's multiplicative hash */
    uint32_t iterations = 1u + (hash >> 16) % 125u;
    (void)tl_nn_bench_loop(&iterations);
}

static uint32_t clamp32(uint64_t v)
{
    return (v > UINT32_MAX) ? UINT32_MAX : (uint32_t)v;
}

uint32_t tl_nn_bench_run(tl_nn_bench_fn fn, void *fn_ctx, tl_nn_bench_prep_fn prep,
                         void *prep_ctx, uint32_t n, tl_nn_bench_result_t *out)
{
    out->ticks = 0;
    out->min = UINT32_MAX;
    out->max = 0;
    out->runs = 0;
    out->masked = false;
    if (n == 0u) {
        out->min = 0;
        return 0;
    }
    uint32_t period = systick_period();

    /* Probe run, interrupts enabled: decides whether masked timing is safe. */
    uint32_t ms0, c0, ms1, c1;
    if (prep != NULL) {
        prep(prep_ctx);
    }
    sample(&ms0, &c0);
    uint32_t st = fn(fn_ctx);
    sample(&ms1, &c1);
    if (st != 0u) {
        return st;
    }
    bool masked = elapsed(period, ms0, c0, ms1, c1) < period / 2u;
    out->masked = masked;

    for (uint32_t i = 0; i < n; i++) {
        if (prep != NULL) {
            prep(prep_ctx);
        }
        dither(i);
        uint64_t d;
        if (masked) {
            uint32_t primask = irq_mask();
            uint32_t a = SYST_CVR & SYST_RVR_MASK;
            st = fn(fn_ctx);
            uint32_t b = SYST_CVR & SYST_RVR_MASK;
            irq_restore(primask);
            d = (a >= b) ? (uint64_t)(a - b) : (uint64_t)a + period - b;
        } else {
            sample(&ms0, &c0);
            st = fn(fn_ctx);
            sample(&ms1, &c1);
            d = elapsed(period, ms0, c0, ms1, c1);
        }
        if (st != 0u) {
            return st;
        }
        out->ticks += d;
        uint32_t d32 = clamp32(d);
        out->min = (d32 < out->min) ? d32 : out->min;
        out->max = (d32 > out->max) ? d32 : out->max;
        out->runs++;
    }
    return 0;
}

#else /* not ARMv7-M: the host port */

#include <time.h>

#include "theraloop/nn/engine.h"

uint32_t tl_nn_bench_invoke(void *model)
{
    return (uint32_t)tl_nn_invoke((tl_nn_model_t *)model);
}

uint32_t tl_nn_bench_loop(void *ctx)
{
    volatile uint32_t left = *(const uint32_t *)ctx;
    while (left > 0u) {
        left = left - 1u;
    }
    return 0;
}

uint64_t tl_nn_bench_loop_insns(uint32_t iterations)
{
    (void)iterations;
    return 0; /* compiler-dependent */
}

bool tl_nn_bench_timer(tl_nn_bench_timer_t *out)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) {
        return false;
    }
    out->timer = "timespec_get";
    out->tick_hz = 1000000000u;
    out->loop_exact = false;
    return true;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t tl_nn_bench_run(tl_nn_bench_fn fn, void *fn_ctx, tl_nn_bench_prep_fn prep,
                         void *prep_ctx, uint32_t n, tl_nn_bench_result_t *out)
{
    out->ticks = 0;
    out->min = (n == 0u) ? 0u : UINT32_MAX;
    out->max = 0;
    out->runs = 0;
    out->masked = false;
    if (n == 0u) {
        return 0;
    }
    if (prep != NULL) {
        prep(prep_ctx);
    }
    uint32_t probe = fn(fn_ctx); /* warm-up, as on the device */
    if (probe != 0u) {
        return probe;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (prep != NULL) {
            prep(prep_ctx);
        }
        uint64_t t0 = now_ns();
        uint32_t st = fn(fn_ctx);
        uint64_t t1 = now_ns();
        if (st != 0u) {
            return st;
        }
        uint64_t d = (t1 >= t0) ? t1 - t0 : 0u;
        out->ticks += d;
        uint32_t d32 = (d > UINT32_MAX) ? UINT32_MAX : (uint32_t)d;
        out->min = (d32 < out->min) ? d32 : out->min;
        out->max = (d32 > out->max) ? d32 : out->max;
        out->runs++;
    }
    return 0;
}

#endif
