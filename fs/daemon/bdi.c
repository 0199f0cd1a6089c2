/*
 * bdi.c - the mount's backing device info (bdi) in sysfs: finding the
 * mount's device number in /proc/self/mountinfo after the mount
 * (sw_find_bdi), and writing the read-ahead window the kernel clamped at
 * INIT to its read_ahead_kb on the first request (sw_set_read_ahead).
 * It calls no other daemon file.
 */
#include <stdio.h>
#include <string.h>

#include "fs/daemon/bdi.h"

/* The mount's device number, from mountinfo (stat() would ask this daemon). */
void sw_find_bdi(struct swapfs *fs, const char *mountpoint)
{
	char line[8192], mnt[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[32];

		if (sscanf(line, "%*u %*u %31s %*s %4095s", d, mnt) == 2 &&
		    !strcmp(mnt, mountpoint) && strstr(line, " - fuse.swapfs "))
			snprintf(fs->bdi, sizeof(fs->bdi), "%s", d);	/* the last one is ours */
	}
	fclose(f);
}

/*
 * The kernel caps a FUSE mount's read-ahead at 128 KiB when it processes
 * INIT, whatever max_readahead says; a larger window keeps several members
 * busy for one sequential reader (RAM-backed members: 128 KiB 1683, 1 MiB
 * 2432, 4 MiB 2664 MiB/s).  Written through sysfs on the first request.
 */
void sw_set_read_ahead(struct swapfs *fs)
{
	char path[96];
	FILE *f;
	bool ok;

	if (!fs->bdi[0] || atomic_exchange(&fs->read_ahead_set, true))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", fs->bdi);
	f = fopen(path, "w");
	ok = f && fprintf(f, "%llu\n", (unsigned long long)(fs->read_ahead >> 10)) >= 0;
	if (f && fclose(f) != 0)	/* the write reaches sysfs here */
		ok = false;
	if (!ok)
		sw_warn("cannot set read-ahead in %s (reads still work, more slowly)", path);
}
