/*
 * storage.c - range and alignment checks in front of every storage backend
 * (see storage/storage.h).
 */
#include "theraloop/storage/storage.h"

const char *tl_storage_err_name(uint32_t err)
{
    switch (err) {
    case TL_STORAGE_OK: return "ok";
    case TL_STORAGE_ERR_RANGE: return "range";
    case TL_STORAGE_ERR_ALIGN: return "align";
    case TL_STORAGE_ERR_NOT_ERASED: return "not_erased";
    case TL_STORAGE_ERR_IO: return "io";
    case TL_STORAGE_ERR_PROTECTED: return "protected";
    case TL_STORAGE_ERR_VERIFY: return "verify";
    case TL_STORAGE_ERR_POWER_CUT: return "power_cut";
    case TL_STORAGE_ERR_NO_DEVICE: return "no_device";
    default: return "unknown";
    }
}

static int valid(const tl_storage_t *dev)
{
    return dev != NULL && dev->ops != NULL && dev->regions != NULL && dev->write_align != 0u &&
           (dev->write_align & (dev->write_align - 1u)) == 0u;
}

uint32_t tl_storage_size(const tl_storage_t *dev)
{
    if (!valid(dev)) {
        return 0;
    }
    uint64_t total = 0;
    for (uint32_t r = 0; r < dev->region_count; r++) {
        total += (uint64_t)dev->regions[r].count * dev->regions[r].size;
    }
    return total > UINT32_MAX ? 0u : (uint32_t)total;
}

uint32_t tl_storage_sector_count(const tl_storage_t *dev)
{
    if (!valid(dev)) {
        return 0;
    }
    uint32_t n = 0;
    for (uint32_t r = 0; r < dev->region_count; r++) {
        n += dev->regions[r].count;
    }
    return n;
}

tl_storage_err_t tl_storage_sector(const tl_storage_t *dev, uint32_t index, uint32_t *off,
                                   uint32_t *size)
{
    if (!valid(dev)) {
        return TL_STORAGE_ERR_NO_DEVICE;
    }
    uint32_t base = 0;
    for (uint32_t r = 0; r < dev->region_count; r++) {
        const tl_storage_region_t *reg = &dev->regions[r];
        if (index < reg->count) {
            *off = base + index * reg->size;
            *size = reg->size;
            return TL_STORAGE_OK;
        }
        index -= reg->count;
        base += reg->count * reg->size;
    }
    return TL_STORAGE_ERR_RANGE;
}

static tl_storage_err_t check_range(const tl_storage_t *dev, uint32_t off, uint32_t n)
{
    if (!valid(dev)) {
        return TL_STORAGE_ERR_NO_DEVICE;
    }
    uint32_t size = tl_storage_size(dev);
    if (off > size || n > size - off) {
        return TL_STORAGE_ERR_RANGE;
    }
    return TL_STORAGE_OK;
}

tl_storage_err_t tl_storage_read(const tl_storage_t *dev, uint32_t off, void *buf, uint32_t n)
{
    tl_storage_err_t err = check_range(dev, off, n);
    if (err != TL_STORAGE_OK || n == 0u) {
        return err;
    }
    return dev->ops->read(dev, off, buf, n);
}

tl_storage_err_t tl_storage_write(const tl_storage_t *dev, uint32_t off, const void *data,
                                  uint32_t n)
{
    tl_storage_err_t err = check_range(dev, off, n);
    if (err != TL_STORAGE_OK) {
        return err;
    }
    if (((off | n) & (dev->write_align - 1u)) != 0u) {
        return TL_STORAGE_ERR_ALIGN;
    }
    return n == 0u ? TL_STORAGE_OK : dev->ops->write(dev, off, data, n);
}

tl_storage_err_t tl_storage_erase(const tl_storage_t *dev, uint32_t sector)
{
    uint32_t off = 0;
    uint32_t size = 0;
    tl_storage_err_t err = tl_storage_sector(dev, sector, &off, &size);
    if (err != TL_STORAGE_OK) {
        return err;
    }
    return dev->ops->erase(dev, sector, off, size);
}

const uint8_t *tl_storage_mapped(const tl_storage_t *dev, uint32_t off, uint32_t n)
{
    if (check_range(dev, off, n) != TL_STORAGE_OK || dev->mapped == NULL) {
        return NULL;
    }
    return dev->mapped + off;
}
