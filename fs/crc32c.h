/* crc32c.h - CRC-32C (Castagnoli), hardware-accelerated where the CPU has it. */
#ifndef SWAPFS_CRC32C_H
#define SWAPFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c of buf continuing from crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
