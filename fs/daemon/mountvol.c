/*
 * mountvol.c - the mounted volume's life: opening and checking the members
 * and loading the table (sw_mountvol_open, with the testing hooks that arm
 * engine faults), the background commit thread (sw_committer_start/stop),
 * every staged write drained before the I/O threads stop
 * (sw_mountvol_drain), and the final checkpoint at unmount
 * (sw_mountvol_close).  main.c runs them in that order around the FUSE
 * session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/daemon/lifetime.h"
#include "fs/daemon/mountvol.h"

static void *committer(void *arg)
{
	struct swapfs *fs = arg;
	struct timespec ts;

	pthread_mutex_lock(&fs->stop_lock);
	while (!fs->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)fs->commit_interval;
		ts.tv_nsec += (long)((fs->commit_interval - (time_t)fs->commit_interval) * 1e9);
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&fs->stop_cond, &fs->stop_lock, &ts);
		if (fs->stopping)
			break;
		pthread_mutex_lock(&fs->meta.lock);
		if (sw_meta_pending(&fs->meta)) {
			int err = sw_meta_commit(&fs->meta, false);

			if (err)
				sw_err("background commit: %s", strerror(-err));
		}
		pthread_mutex_unlock(&fs->meta.lock);
	}
	pthread_mutex_unlock(&fs->stop_lock);
	return NULL;
}

void sw_committer_start(struct swapfs *fs)
{
	pthread_mutex_init(&fs->stop_lock, NULL);
	pthread_cond_init(&fs->stop_cond, NULL);
	fs->committer_started = !fs->read_only &&
		pthread_create(&fs->committer, NULL, committer, fs) == 0;
}

void sw_committer_stop(struct swapfs *fs)
{
	if (!fs->committer_started)
		return;
	pthread_mutex_lock(&fs->stop_lock);
	fs->stopping = true;
	pthread_cond_signal(&fs->stop_cond);
	pthread_mutex_unlock(&fs->stop_lock);
	pthread_join(fs->committer, NULL);
}

/* served: the filesystem was mounted; one that never was has nothing to write. */
void sw_mountvol_close(struct swapfs *fs, bool served)
{
	int err = 0;

	pthread_mutex_lock(&fs->meta.lock);
	if (!fs->read_only && served) {
		err = sw_meta_commit(&fs->meta, true);
		if (!err)
			err = sw_meta_checkpoint(&fs->meta);
	}
	pthread_mutex_unlock(&fs->meta.lock);
	if (err)
		sw_err("final checkpoint failed: %s", strerror(-err));
	sw_meta_close(&fs->meta);
	swe_arena_destroy(fs->arena);
	swe_volume_close(fs->vol);
}

/*
 * Testing hook: SWAPFS_FAULTS="DEV:OPS:NTH:COUNT:ERRNO[:DELAY_US];..." arms
 * engine fault rules after the filesystem is loaded (DEV -1 = any member,
 * OPS a subset of "rwf", COUNT 0 = forever); SWAPFS_OPEN_FAULTS the same
 * while it is loaded (the mount's counter update and checkpoint), cleared
 * after.  Not mount options on purpose.
 */
static int arm_faults(struct swapfs *fs, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (char *r = strtok_r(copy, ";", &save); r && !err; r = strtok_r(NULL, ";", &save)) {
		struct swe_fault f = {0};
		struct swe_err e;
		char ops[8] = "";
		unsigned long long nth, count;
		unsigned delay = 0;

		if (sscanf(r, "%d:%7[rwf]:%llu:%llu:%d:%u", &f.dev, ops, &nth, &count,
			   &f.error, &delay) < 5) {
			sw_err("SWAPFS_FAULTS: cannot parse '%s'", r);
			err = -EINVAL;
			break;
		}
		f.ops = (strchr(ops, 'r') ? SWE_READ : 0) | (strchr(ops, 'w') ? SWE_WRITE : 0) |
			(strchr(ops, 'f') ? SWE_FLUSH : 0);
		f.nth = nth;
		f.count = count;
		f.delay_us = delay;
		if (swe_fault_add(fs->vol, &f, &e) < 0) {
			sw_err("SWAPFS_FAULTS: %s", e.msg);
			err = -EINVAL;
		}
	}
	free(copy);
	return err;
}

int sw_mountvol_open(struct swapfs *fs, const char *devices, bool read_only,
		   uint64_t staging)
{
	char msg[1024], **members;
	int n = split_members(devices, &members, SWF_MAX_MEMBERS), err;
	struct sw_load_report rep = {0};
	struct swe_err e;

	if (n < 0) {
		sw_err("'%s': expected DEVICE[:DEVICE...]", devices);
		return -EINVAL;
	}
	/*
	 * Read-only, a member may be held by a writer (see the end of the
	 * loop); as the engine does for writers, wait up to two seconds for a
	 * killed one's rings to let go of it.
	 */
	for (int tries = 0;; tries++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int busy = -1;

		err = sw_fsvol_open((const char *const *)members, (unsigned)n, read_only,
				    &fs->vol, &fs->sb, msg, sizeof(msg));
		if (err)
			break;
		for (unsigned i = 0; i < swe_volume_ndev(fs->vol) && busy < 0; i++)
			if (swe_volume_device(fs->vol, i)->in_use)
				busy = (int)i;
		if (busy < 0)
			break;
		if (tries == 100) {
			/* read-only here, read-write there: a table changing under this mount */
			snprintf(msg, sizeof(msg), "member %d (%s): in use by a read-write mount or a swapfs tool",
				 busy, members[busy]);
			swe_volume_close(fs->vol);
			err = -EBUSY;
			break;
		}
		swe_volume_close(fs->vol);
		nanosleep(&ts, NULL);
	}
	free_members(members);
	if (err) {
		sw_err("%s%s", msg,
		       !read_only && (err == -EROFS || err == -EACCES) ?
		       " (mount with -o ro to use it read-only)" : "");
		return err;
	}
	if (msg[0])
		sw_warn("%s", msg);
	/* testing hook: as SWAPFS_FAULTS, for the loading and the mount's own writes only */
	if (getenv("SWAPFS_OPEN_FAULTS") && arm_faults(fs, getenv("SWAPFS_OPEN_FAULTS"))) {
		swe_volume_close(fs->vol);
		return -EINVAL;
	}
	err = sw_meta_open(&fs->meta, fs->vol, &fs->sb, read_only ? SW_LOAD_READ_ONLY : 0,
			   &sw_dnode_ops, &rep);
	swe_fault_clear(fs->vol);
	if (err && rep.nstale) {	/* an older copy of a member: its name, nothing else */
		sw_err("%s run swapfsck", rep.why);
		swe_volume_close(fs->vol);
		return err;
	}
	if (err) {
		sw_err("cannot load the metadata: %s%s%s%s", strerror(-err),
		       rep.why[0] ? ": " : "", rep.why, err == -EUCLEAN ? " (run swapfsck)" : "");
		swe_volume_close(fs->vol);
		return err;
	}
	if (rep.ckpt_torn)
		sw_notice("note: %s", rep.why);
	err = swe_arena_create(&fs->arena, staging, 0, 0, &e);
	if (err) {
		sw_err("staging memory: %s", e.msg);
		sw_meta_close(&fs->meta);
		swe_volume_close(fs->vol);
		return err;
	}
	if (!read_only)
		sw_free_orphans(fs);
	if (getenv("SWAPFS_FAULTS") && arm_faults(fs, getenv("SWAPFS_FAULTS"))) {
		sw_mountvol_close(fs, false);
		return -EINVAL;
	}
	return 0;
}

/* Every staged chunk written and waited for, before the I/O thread stops. */
void sw_mountvol_drain(struct swapfs *fs)
{
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(&fs->meta, &it, i)
		if (sw_writes_pending(fs, i)) {	/* I/O threads still complete jobs */
			pthread_rwlock_wrlock(&sw_dn(i)->rw);
			if (sw_wb_sync(fs, i, NULL))
				sw_err("inode %llu: staged data lost at unmount",
				       (unsigned long long)i->a.ino);
			pthread_rwlock_unlock(&sw_dn(i)->rw);
		}
}
