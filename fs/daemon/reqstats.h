/*
 * reqstats.h - FUSE requests counted by opcode (fs/daemon/reqstats.c).
 */
#ifndef SWAPFS_REQSTATS_H
#define SWAPFS_REQSTATS_H

#include <stddef.h>
#include <stdint.h>

/* One request of this opcode received (either transport). */
void sw_fuse_count_request(uint32_t opcode);
/*
 * The requests received so far by opcode, as JSON members ("LOOKUP":12,...;
 * opcodes without a name count as "OTHER"), written into buf; the length.
 */
size_t sw_fuse_requests_json(char *buf, size_t cap);

#endif
