/*
 * storage/config_store.h - a power-loss-safe store for one configuration blob.
 *
 * Two copies (A and B), each in its own erase sector of a storage device. A copy is
 *
 *   offset 0   header (32 bytes, little-endian)
 *                magic    u32  0x46434C54 ("TLCF")
 *                version  u16  record format (1)
 *                hdr_len  u16  32
 *                seq      u32  sequence number, +1 per save (serial-number arithmetic)
 *                len      u32  payload bytes
 *                crc      u32  CRC-32 of the payload, then of header bytes 0..15
 *                reserved 12 bytes 0xFF
 *   offset 32  payload (len bytes, padded to write_align with 0xFF)
 *
 * Save writes the new copy into the sector that does NOT hold the newest valid copy:
 * erase, program the payload, program the header last (the commit), then read back and
 * check the CRC. A reset at any moment leaves the old copy intact in the other sector,
 * so load() finds either the old or the new configuration, never a mix. load() picks the
 * valid copy with the newest sequence number; if neither copy is valid it reports
 * TL_CFGSTORE_EMPTY (never written: both sectors erased) or TL_CFGSTORE_CORRUPT.
 */
#ifndef THERALOOP_STORAGE_CONFIG_STORE_H
#define THERALOOP_STORAGE_CONFIG_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TL_CFGSTORE_MAGIC 0x46434C54u
#define TL_CFGSTORE_VERSION 1u
#define TL_CFGSTORE_HDR_LEN 32u

typedef enum {
    TL_CFGSTORE_OK = 0,
    TL_CFGSTORE_EMPTY = 1,       /* load: no copy was ever written */
    TL_CFGSTORE_CORRUPT = 2,     /* load: data present, but no copy passes its CRC */
    TL_CFGSTORE_TOO_BIG = 3,     /* payload larger than the sector or the caller's buffer */
    TL_CFGSTORE_STORAGE = 4,     /* storage error (see storage_err) */
    TL_CFGSTORE_BAD_LAYOUT = 5,  /* sectors invalid or identical */
} tl_cfgstore_err_t;

const char *tl_cfgstore_err_name(uint32_t err);

typedef struct {
    const tl_storage_t *dev;
    uint32_t sector[2];          /* storage sectors of copy A and copy B */
    /* state after the last load/save */
    uint32_t seq;                /* sequence number of the newest valid copy */
    int8_t current;              /* copy (0/1) holding it, -1 if none */
    uint8_t valid_mask;          /* bit i: copy i is valid */
    uint8_t reserved[2];
    tl_storage_err_t storage_err;
} tl_cfgstore_t;

/* Bind a store to two distinct sectors of dev. Reads nothing. */
tl_cfgstore_err_t tl_cfgstore_init(tl_cfgstore_t *cs, const tl_storage_t *dev,
                                   uint32_t sector_a, uint32_t sector_b);

/* Read the newest valid copy into buf (capacity cap), its length into *len. */
tl_cfgstore_err_t tl_cfgstore_load(tl_cfgstore_t *cs, uint8_t *buf, uint32_t cap,
                                   uint32_t *len);

/* Persist a new configuration (see the top of this file). On success it is the one
 * load() returns, even after a reset. On failure the previous one is still loadable. */
tl_cfgstore_err_t tl_cfgstore_save(tl_cfgstore_t *cs, const uint8_t *data, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_CONFIG_STORE_H */
