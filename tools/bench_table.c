/*
 * bench_table.c - `swapbench table`: how long a table of N tensor files
 * takes to load at mount, and the memory it needs per file.  Builds the
 * table through the metadata API on freshly formatted members (one
 * directory per 10,000 files, one 64 KiB extent and one xattr each;
 * records applied, not logged), checkpoints it, then loads it cold as
 * the daemon does.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/bench.h"
#include "fs/lib/fslib.h"
#include "tools/util.h"

/* Bytes the allocator has handed out and not taken back. */
static double heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (double)mi.uordblks + (double)mi.hblkhd;
}

static int build(struct sw_meta *m, uint64_t files)
{
	uint64_t dir = 0, au = m->sb.alloc_unit;
	char name[64];
	int err = 0;

	for (uint64_t i = 0; i < files && !err; i++) {
		uint64_t ino;

		if (i % 10000 == 0) {
			dir = m->next_ino;
			snprintf(name, sizeof(name), "rank%llu", (unsigned long long)(i / 10000));
			err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_INODE, .flags = SWF_RF_CONT,
				.u.inode = { dir, S_IFDIR | 0755, 0, 0, 2 } });
			if (!err)
				err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
					.u.dirent = { SW_ROOT_INO, dir, name, (uint16_t)strlen(name) } });
		}
		ino = m->next_ino;
		snprintf(name, sizeof(name), "param_%llu.tensor.swp", (unsigned long long)i);
		if (!err)
			err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_INODE, .flags = SWF_RF_CONT,
				.u.inode = { ino, S_IFREG | 0644, 0, 0, 1, au } });
		if (!err)
			err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_EXTENT, .flags = SWF_RF_CONT,
				.u.extent = { ino, 0, i * au, au, 0 } });
		if (!err)
			err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_XATTR_SET, .flags = SWF_RF_CONT,
				.u.xattr = { ino, "user.dtype", 10, "fp16", 4 } });
		if (!err)
			err = sw_meta_apply(m, &(struct swf_rec){ .type = SWF_R_DIRENT_ADD,
				.u.dirent = { dir, ino, name, (uint16_t)strlen(name) } });
	}
	return err ? err : sw_meta_checkpoint(m);
}

int bench_table(int argc, char **argv)
{
	uint64_t files = 1000000;
	char **members = NULL, msg[512];
	struct swe_volume *vol = NULL;
	struct swf_super sb;
	struct sw_meta m;
	double t0, t_build, t_load;
	double heap0, heap1;
	int n = 0, err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--files") && i + 1 < argc) {
			if (parse_size(argv[++i], &files) || !files)
				goto usage;
		} else if (!strcmp(argv[i], "--devices") && i + 1 < argc) {
			n = split_members(argv[++i], &members, SWF_MAX_MEMBERS);
		} else {
			goto usage;
		}
	}
	if (n <= 0)
		goto usage;
	err = sw_fsvol_open((const char *const *)members, (unsigned)n, false, &vol, &sb, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "swapbench: %s\n", msg);
		free_members(members);
		return 1;
	}
	if (files * sb.alloc_unit > swf_volume_bytes(&sb)) {
		fprintf(stderr, "swapbench: %llu files of one allocation unit do not fit\n",
			(unsigned long long)files);
		goto fail;
	}
	if ((err = sw_meta_load(&m, vol, &sb, false)))
		goto fail;
	t0 = now_seconds();
	err = build(&m, files);
	t_build = now_seconds() - t0;
	sw_meta_close(&m);
	if (err) {
		fprintf(stderr, "swapbench: building the table: %s\n", strerror(-err));
		goto fail;
	}
	heap0 = heap_in_use();
	t0 = now_seconds();
	err = sw_meta_load(&m, vol, &sb, true);
	t_load = now_seconds() - t0;
	heap1 = heap_in_use();
	if (err) {
		fprintf(stderr, "swapbench: loading the table: %s\n", strerror(-err));
		goto fail;
	}
	printf("swapbench table: %llu files (+%llu directories), checkpoint built in %.2f s\n",
	       (unsigned long long)files, (unsigned long long)(files + 9999) / 10000, t_build);
	printf("load at mount:   %.2f s (%.0f files/s)\n", t_load, files / t_load);
	printf("memory:          %.0f MiB of heap, %.0f bytes per file\n",
	       (heap1 - heap0) / 1048576.0, (heap1 - heap0) / files);
	sw_meta_close(&m);
	swe_volume_close(vol);
	free_members(members);
	return 0;
fail:
	swe_volume_close(vol);
	free_members(members);
	return 1;
usage:
	fprintf(stderr, "usage: swapbench table --devices A[:B...] [--files N]  (formatted members; the table is replaced)\n");
	free_members(members);
	return 2;
}
