/* fsvol.c - superblock I/O and member-set validation (see fsvol.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/lib/fslib.h"

int sw_super_read(struct swe_volume *vol, unsigned dev, struct swf_super *sb,
		  bool *used_replica)
{
	uint8_t *buf;
	int err;

	if (posix_memalign((void **)&buf, SWF_SB_SIZE, SWF_SB_SIZE))
		return -ENOMEM;
	if (used_replica)
		*used_replica = false;
	err = swe_member_pread(vol, dev, buf, SWF_SB_SIZE, SWF_SB_OFFSET);
	if (!err)
		err = swf_super_decode(sb, buf);
	/*
	 * Whatever the damage to the primary (a bad checksum, or zeros or
	 * another signature over the magic, as a stray wipefs or partitioning
	 * tool leaves), the replica 64 KiB further may be intact: e2fsck's
	 * backup superblocks.
	 */
	if (err) {
		int e2 = swe_member_pread(vol, dev, buf, SWF_SB_SIZE, SWF_SB_REPLICA_OFFSET);

		if (!e2)
			e2 = swf_super_decode(sb, buf);
		if (!e2) {
			err = 0;
			if (used_replica)
				*used_replica = true;
		} else if (e2 != -EINVAL) {
			err = e2;	/* a swapfs replica, damaged: say so, not "no swapfs" */
		}
	}
	free(buf);
	return err;
}

int sw_super_write(struct swe_volume *vol, unsigned dev, const struct swf_super *sb)
{
	uint8_t *buf;
	int err;

	if (posix_memalign((void **)&buf, SWF_SB_SIZE, SWF_SB_SIZE))
		return -ENOMEM;
	swf_super_encode(sb, buf);
	err = swe_member_pwrite(vol, dev, buf, SWF_SB_SIZE, SWF_SB_REPLICA_OFFSET);
	if (!err)
		err = swe_member_pwrite(vol, dev, buf, SWF_SB_SIZE, SWF_SB_OFFSET);
	free(buf);
	return err;
}

int sw_fsvol_open(const char *const *paths, unsigned n, bool read_only,
		  struct swe_volume **out, struct swf_super *sb,
		  char *msg, size_t msglen)
{
	struct swe_volume_opts vo = { .read_only = read_only, .stripe_unit = 4096 };
	struct swe_volume *vol;
	struct swf_super first, s;
	char u1[37], u2[37];
	struct swe_err e;
	size_t note = 0;
	int err;
	int from_replica = -1;	/* a member whose superblock came from its replica */

	*out = NULL;
	if (msglen)
		msg[0] = 0;
	err = swe_volume_open(&vol, paths, n, &vo, &e);
	if (err) {
		snprintf(msg, msglen, "%s", e.msg);
		return err;
	}
	for (unsigned i = 0; i < n; i++) {
		bool replica = false;

		err = sw_super_read(vol, i, i ? &s : &first, &replica);
		if (err == -EINVAL) {
			snprintf(msg, msglen, "%s: no swapfs superblock (not formatted with mkswapfs?)",
				 paths[i]);
			goto fail;
		}
		if (err) {
			snprintf(msg, msglen, "%s: superblock and its replica unreadable: %s",
				 paths[i], strerror(-err));
			goto fail;
		}
		if (replica && from_replica < 0)
			from_replica = (int)i;
		if (!i) {
			s = first;
			if (first.dev_count != n) {
				snprintf(msg, msglen, "%s: filesystem %s has %u members, %u given%s",
					 paths[0], (swf_uuid_unparse(&first.fs_uuid, u1), u1),
					 first.dev_count, n,
					 first.dev_count > n ? " (a member is missing)" : "");
				err = -ENODEV;
				goto fail;
			}
		} else if (!swf_uuid_equal(&s.fs_uuid, &first.fs_uuid)) {
			swf_uuid_unparse(&s.fs_uuid, u1);
			swf_uuid_unparse(&first.fs_uuid, u2);
			snprintf(msg, msglen, "%s: member of another swapfs (%s, not %s)",
				 paths[i], u1, u2);
			err = -EXDEV;
			goto fail;
		}
		if (s.dev_index != i) {
			snprintf(msg, msglen, "%s: is member %u of the filesystem but was given as member %u (wrong order)",
				 paths[i], s.dev_index, i);
			err = -EINVAL;
			goto fail;
		}
		if (!swf_uuid_equal(&s.member_uuid, &first.members[i])) {
			snprintf(msg, msglen, "%s: member UUID does not match the filesystem's member %u (duplicated or replaced device)",
				 paths[i], i);
			err = -EINVAL;
			goto fail;
		}
		if (s.data_offset + s.data_per_member > swe_volume_device(vol, i)->size) {
			snprintf(msg, msglen, "%s: device is smaller than when it was formatted", paths[i]);
			err = -EINVAL;
			goto fail;
		}
		if (replica && note < msglen)
			note += (size_t)snprintf(msg + note, msglen - note,
						 "%s%s: primary superblock damaged, using its replica (swapfsck rewrites the primary)",
						 note ? "; " : "", paths[i]);
	}
	err = swe_volume_set_layout(vol, first.stripe_unit, first.data_offset, &e);
	if (err) {
		snprintf(msg, msglen, "%s", e.msg);
		goto fail;
	}
	*sb = first;
	*out = vol;
	return 0;
fail:
	/*
	 * A replica read because the primary is damaged may itself be stale or
	 * foreign (a stray dd over the primary leaves whatever was at 64 KiB):
	 * say which member's superblock came from it, or the message blames a
	 * healthy member (member 0's replica decides what "the filesystem" is).
	 */
	if (from_replica >= 0) {
		size_t len = strlen(msg);

		if (len < msglen)
			snprintf(msg + len, msglen - len,
				 " (the primary superblock of %s is damaged; its replica was used)",
				 paths[from_replica]);
	}
	swe_volume_close(vol);
	return err;
}
