/*
 * therapy/stim_link.h - the stimulator link (USART3 on stm32f4): framed stimulation
 * commands to the stimulator ASIC (the virtual patient in the emulator) and status /
 * acknowledgment frames back, with a monitor that turns link trouble into
 * TL_TFAULT_LINK_* bits for the supervisor.
 *
 * Frame (all multi-byte payload fields little-endian):
 *   0  2  sync 0xAA 0x53
 *   2  1  version (1)
 *   3  1  type
 *   4  1  payload length N (0..32)
 *   5  N  payload
 *   5+N 2 CRC-16/XMODEM (theraloop/crc16.h) over bytes 2 .. 4+N, big-endian
 *
 * Type 0x01 STIM_SET, device -> stimulator, N = 12:
 *   0 u16 seq (increments per frame, wraps)
 *   2 u8  flags: bit0 enable; bits 1-3 waveform (tl_waveform_t); others 0
 *   3 u8  reserved (0)
 *   4 u16 amplitude_ua   6 u16 pulse_width_us   8 u16 rate_dhz   10 u16 interphase_gap_us
 *   The whole setting is sent every time (idempotent); enable=0 means no pulses.
 *
 * Type 0x81 STATUS, stimulator -> device, N = 8:
 *   0 u16 ack_seq (seq of the last STIM_SET applied)
 *   2 u8  status (tl_stim_status_t)
 *   3 u8  flags: bit0 output active
 *   4 u16 delivered_ua   6 u16 impedance_ohm (0 = not measured)
 *
 * Reaction to link errors (tl_stim_monitor_t): with an acknowledgment timeout configured,
 * commands outstanding without progress for longer than the timeout -> LINK_TIMEOUT; a
 * STATUS reporting a bad frame or a rejected command, or acknowledging a seq never sent ->
 * LINK_NACK; compliance / hardware / impedance faults -> LINK_DEVICE. Any of them puts
 * the supervisor in its link-safe state (stimulation off, see supervisor.h); the caller
 * should also call tl_platform_stim_safe() when the link stays faulty.
 */
#ifndef THERALOOP_THERAPY_STIM_LINK_H
#define THERALOOP_THERAPY_STIM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "theraloop/therapy/units.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_STIM_SYNC0 0xAAu
#define TL_STIM_SYNC1 0x53u
#define TL_STIM_VERSION 1u
#define TL_STIM_HEADER_LEN 5u
#define TL_STIM_CRC_LEN 2u
#define TL_STIM_MAX_PAYLOAD 32u
#define TL_STIM_MAX_FRAME (TL_STIM_HEADER_LEN + TL_STIM_MAX_PAYLOAD + TL_STIM_CRC_LEN)

#define TL_STIM_TYPE_SET 0x01u
#define TL_STIM_TYPE_STATUS 0x81u
#define TL_STIM_SET_PAYLOAD 12u
#define TL_STIM_STATUS_PAYLOAD 8u
#define TL_STIM_SET_FRAME_LEN (TL_STIM_HEADER_LEN + TL_STIM_SET_PAYLOAD + TL_STIM_CRC_LEN)
#define TL_STIM_STATUS_FRAME_LEN (TL_STIM_HEADER_LEN + TL_STIM_STATUS_PAYLOAD + TL_STIM_CRC_LEN)

typedef enum {
    TL_STIM_STATUS_OK = 0,
    TL_STIM_STATUS_BAD_FRAME = 1,    /* the stimulator received a corrupt frame */
    TL_STIM_STATUS_OUT_OF_RANGE = 2, /* command rejected (outside the ASIC's limits) */
    TL_STIM_STATUS_COMPLIANCE = 3,   /* could not drive the current (voltage compliance) */
    TL_STIM_STATUS_HW_FAULT = 4,
    TL_STIM_STATUS_IMPEDANCE = 5,    /* electrode impedance out of range */
} tl_stim_status_t;

typedef struct {
    uint8_t type;
    uint8_t version;
    uint8_t len;
    uint8_t payload[TL_STIM_MAX_PAYLOAD];
} tl_stim_frame_t;

typedef struct {
    uint16_t seq;
    tl_stim_params_t stim;
} tl_stim_command_t;

typedef struct {
    uint16_t ack_seq;
    uint8_t status; /* tl_stim_status_t */
    uint8_t output_active;
    uint16_t delivered_ua;
    uint16_t impedance_ohm;
} tl_stim_status_frame_t;

/* Encoders: write one frame into out (cap bytes); return its length, 0 if cap is short. */
size_t tl_stim_encode_set(const tl_stim_params_t *stim, uint16_t seq, uint8_t *out, size_t cap);
size_t tl_stim_encode_status(const tl_stim_status_frame_t *st, uint8_t *out, size_t cap);

/* Typed decoders of a frame delivered by the parser. False if type/length do not match
 * or a field is invalid (unknown flag bits, waveform out of range). */
bool tl_stim_decode_set(const tl_stim_frame_t *f, tl_stim_command_t *cmd);
bool tl_stim_decode_status(const tl_stim_frame_t *f, tl_stim_status_frame_t *st);

typedef struct {
    uint32_t frames;      /* valid frames delivered */
    uint32_t bad_crc;
    uint32_t bad_header;  /* wrong version or length */
    uint32_t discarded;   /* bytes skipped while looking for a frame */
} tl_stim_parser_stats_t;

/* Byte-stream parser: finds frames in arbitrary input, resynchronises after garbage. */
typedef struct {
    uint8_t buf[TL_STIM_MAX_FRAME];
    uint32_t len;
    tl_stim_parser_stats_t stats;
} tl_stim_parser_t;

void tl_stim_parser_init(tl_stim_parser_t *p);
/* Feed one byte; true when it completed a valid frame (copied into *frame). */
bool tl_stim_parser_feed(tl_stim_parser_t *p, uint8_t byte, tl_stim_frame_t *frame);

typedef struct {
    uint32_t sent;
    uint32_t acks;
    uint32_t nacks;
    uint32_t device_faults;
    uint32_t timeouts;
    uint32_t bad_acks;
} tl_stim_monitor_stats_t;

typedef struct {
    uint32_t timeout_ms; /* 0: acknowledgments are not expected */
    uint32_t progress_ms; /* time of the last progress (first outstanding send or ack) */
    uint32_t faults;      /* TL_TFAULT_LINK_* from status frames */
    uint16_t last_sent;
    uint16_t last_acked;
    uint8_t outstanding;  /* commands sent and not yet acknowledged */
    uint8_t any_sent;
    uint8_t timed_out;
    uint8_t reserved;
    tl_stim_monitor_stats_t stats;
} tl_stim_monitor_t;

void tl_stim_monitor_init(tl_stim_monitor_t *m, uint32_t timeout_ms);
void tl_stim_monitor_sent(tl_stim_monitor_t *m, uint16_t seq, uint32_t now_ms);
void tl_stim_monitor_status(tl_stim_monitor_t *m, const tl_stim_status_frame_t *st,
                            uint32_t now_ms);
/* TL_TFAULT_LINK_* bits now (evaluates the timeout). */
uint32_t tl_stim_monitor_faults(tl_stim_monitor_t *m, uint32_t now_ms);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_THERAPY_STIM_LINK_H */
