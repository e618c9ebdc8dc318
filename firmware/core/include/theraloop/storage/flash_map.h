/*
 * storage/flash_map.h - the partitions ("flash areas") of the device's storage.
 *
 * The storage device (tl_platform_storage) is the whole 1 MiB flash with the STM32F405/407
 * sector geometry (4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB) on every board: the STM32F4
 * flash controller on hardware, a flash file reached through semihosting under QEMU, RAM on
 * the host. Offsets are from the start of flash (0x08000000 on the STM32F4).
 *
 *   area            sectors  offset    size     contents
 *   bootloader      0-1      0x00000   32 KiB   firmware/bootloader
 *   state           2-3      0x08000   2x16 KiB system state store (storage/system_state.h)
 *   reserved        4        0x10000   64 KiB   not used yet
 *   fw_primary      5-6      0x20000   256 KiB  the running application (MCUboot image,
 *                                               header 0x200, linked at 0x08020200)
 *   fw_secondary    7-8      0x60000   256 KiB  an uploaded application waiting to be swapped in
 *   fw_scratch      9        0xA0000   128 KiB  the bootloader's swap scratch sector
 *   model_a         10       0xC0000   128 KiB  updatable model slot A (MCUboot image, .tflite payload)
 *   model_b         11       0xE0000   128 KiB  updatable model slot B
 *
 * See docs/storage.md.
 */
#ifndef THERALOOP_STORAGE_FLASH_MAP_H
#define THERALOOP_STORAGE_FLASH_MAP_H

#include <stdint.h>

#include "theraloop/storage/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TL_AREA_BOOTLOADER = 0,
    TL_AREA_STATE = 1,
    TL_AREA_RESERVED = 2,
    TL_AREA_FW_PRIMARY = 3,
    TL_AREA_FW_SECONDARY = 4,
    TL_AREA_FW_SCRATCH = 5,
    TL_AREA_MODEL_A = 6,
    TL_AREA_MODEL_B = 7,
    TL_AREA_COUNT = 8,
} tl_area_id_t;

/* The storage geometry every board provides. */
#define TL_FLASH_SIZE 0x100000u
#define TL_FLASH_SECTORS 12u

/* MCUboot image parameters of the two image kinds (also used by `theraloop sign`). */
#define TL_FW_HEADER_SIZE 0x200u   /* keeps the vector table 512-byte aligned */
#define TL_FW_SLOT_SIZE 0x40000u   /* fw_primary / fw_secondary */
#define TL_MODEL_HEADER_SIZE 0x20u
#define TL_MODEL_SLOT_SIZE 0x20000u /* model_a / model_b */

typedef struct {
    uint32_t first_sector; /* storage sector index */
    uint32_t sector_count;
    uint32_t off;          /* byte offset in the storage device */
    uint32_t size;         /* bytes */
} tl_flash_area_t;

/* The area `id` of `dev`. TL_STORAGE_ERR_RANGE for an unknown id or a device whose
 * geometry is not the one above (checked sector by sector). */
tl_storage_err_t tl_flash_area_get(const tl_storage_t *dev, uint32_t id, tl_flash_area_t *out);

/* Stable lower-case name ("fw_primary", ...), "?" if unknown. */
const char *tl_flash_area_name(uint32_t id);

/* Erase every sector of an area. */
tl_storage_err_t tl_flash_area_erase(const tl_storage_t *dev, const tl_flash_area_t *area);

#ifdef __cplusplus
}
#endif

#endif /* THERALOOP_STORAGE_FLASH_MAP_H */
