/*
 * mkswapfs - format member devices (block devices or image files) as one
 * swapfs.  Refuses members that hold a known filesystem (libblkid, as
 * mke2fs does) or a swapfs, are mounted, or are listed twice, unless
 * --force.  Writes the metadata first and the superblocks last, so an
 * interrupted format leaves no half-valid filesystem.
 */
#include <blkid/blkid.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "fs/lib/fslib.h"
#include "tools/util.h"

struct mk_opts {
	const char *label;
	uint64_t stripe_unit, alloc_unit;
	struct swf_uuid uuid;
	bool have_uuid, force, dry_run, quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: mkswapfs [options] DEVICE...\n"
"\n"
"Format one or more block devices or image files as a swapfs striped over\n"
"all of them (RAID-0).  The order of DEVICEs is the member order; mount with\n"
"the same order, joined by colons.  Image files must already exist.\n"
"\n"
"Options:\n"
"  -L, --label LABEL       filesystem label (up to 63 bytes)\n"
"  -s, --stripe-unit N     bytes per member before moving to the next (default 1M)\n"
"  -a, --alloc-unit N      allocation unit (default 64k; at most the stripe unit)\n"
"  -U, --uuid UUID         use this filesystem UUID instead of a random one\n"
"  -f, --force             format even if a member holds a filesystem or a swapfs\n"
"  -n, --dry-run           check and print what would be done; write nothing\n"
"  -q, --quiet             print nothing but errors\n"
"  -h, --help              show this help\n"
"\n"
"Exit status: 0 formatted, 1 refused or failed, 2 usage error.\n");
}

/* Another filesystem (or a swapfs) on path: describe it in what, return true. */
static bool probe_existing(const char *path, char *what, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL;
	bool found = false;

	if (pr) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		blkid_probe_enable_partitions(pr, 1);
		if (blkid_do_safeprobe(pr) == 0) {
			if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
				snprintf(what, len, "contains a %s filesystem", type);
				found = true;
			} else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
				snprintf(what, len, "contains a %s partition table", type);
				found = true;
			}
		}
		blkid_free_probe(pr);
	}
	return found;
}

static void print_summary(const struct swf_super *sb, char *const *paths,
			  struct swe_volume *vol)
{
	char uuid[37];

	swf_uuid_unparse(&sb->fs_uuid, uuid);
	printf("swapfs UUID %s%s%s%s\n", uuid, sb->label[0] ? ", label \"" : "",
	       sb->label, sb->label[0] ? "\"" : "");
	printf("  %u member(s), stripe unit %u KiB, allocation unit %u KiB\n",
	       sb->dev_count, sb->stripe_unit >> 10, sb->alloc_unit >> 10);
	for (unsigned i = 0; i < sb->dev_count; i++)
		printf("  member %u: %s (%.1f MiB, %s)\n", i, paths[i],
		       swe_volume_device(vol, i)->size / 1048576.0,
		       swe_volume_device(vol, i)->is_blockdev ? "block device" : "image file");
	printf("  metadata: %.1f MiB per member on members 0%s (log %.1f MiB, 2 checkpoints of %.1f MiB)\n",
	       sb->meta_size / 1048576.0, sb->dev_count > 1 ? " and 1" : "",
	       sb->log_size / 1048576.0, sb->ckpt_size / 1048576.0);
	printf("  usable capacity: %.1f MiB (%.1f MiB per member from offset %.1f MiB)\n",
	       swf_volume_bytes(sb) / 1048576.0, sb->data_per_member / 1048576.0,
	       sb->data_offset / 1048576.0);
}

static int format(char *const *paths, unsigned n, const struct mk_opts *o)
{
	struct swe_volume_opts vo = { .stripe_unit = 4096 };
	struct swe_volume *vol;
	struct swf_super sb = {0};
	uint64_t sizes[SWF_MAX_MEMBERS];
	char what[256];
	struct swe_err e;
	int err;

	for (unsigned i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) < 0) {
			fprintf(stderr, "mkswapfs: %s: %s (image files must exist; create one with truncate -s SIZE)\n",
				paths[i], strerror(errno));
			return 1;
		}
		if (member_mounted(paths[i])) {
			fprintf(stderr, "mkswapfs: %s is mounted; refusing to format it\n", paths[i]);
			return 1;
		}
	}
	err = swe_volume_open(&vol, (const char *const *)paths, n, &vo, &e);
	if (err) {
		fprintf(stderr, "mkswapfs: %s\n", e.msg);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct swf_super old;

		sizes[i] = swe_volume_device(vol, i)->size;
		if (sw_super_read(vol, i, &old, NULL) == 0) {
			char u[37];

			swf_uuid_unparse(&old.fs_uuid, u);
			snprintf(what, sizeof(what), "is member %u of swapfs %s", old.dev_index, u);
		} else if (!probe_existing(paths[i], what, sizeof(what))) {
			continue;
		}
		if (!o->force) {
			fprintf(stderr, "mkswapfs: %s %s; use --force to overwrite it\n", paths[i], what);
			swe_volume_close(vol);
			return 1;
		}
		if (!o->quiet)
			printf("mkswapfs: %s %s; overwriting (--force)\n", paths[i], what);
	}
	err = swf_geometry(&sb, sizes, n, (uint32_t)o->stripe_unit, (uint32_t)o->alloc_unit,
			   swe_volume_align(vol));
	if (err == -ENOSPC) {
		unsigned s = 0;

		for (unsigned i = 1; i < n; i++)
			if (sizes[i] < sizes[s])
				s = i;
		fprintf(stderr, "mkswapfs: %s is too small (%llu bytes): each member needs the metadata area plus one stripe unit\n",
			paths[s], (unsigned long long)sizes[s]);
		swe_volume_close(vol);
		return 1;
	}
	if (err) {
		fprintf(stderr, "mkswapfs: %s\n",
			"stripe unit and allocation unit must be powers of two, 4k <= alloc unit <= stripe unit, and at least the members' O_DIRECT alignment");
		swe_volume_close(vol);
		return 1;
	}
	sb.version = SWF_VERSION;
	sb.created = (uint64_t)time(NULL);
	if (o->have_uuid)
		sb.fs_uuid = o->uuid;
	else
		swf_uuid_generate(&sb.fs_uuid);
	snprintf(sb.label, sizeof(sb.label), "%s", o->label ? o->label : "");
	for (unsigned i = 0; i < n; i++)
		swf_uuid_generate(&sb.members[i]);
	if (!o->quiet)
		print_summary(&sb, paths, vol);
	if (o->dry_run) {
		if (!o->quiet)
			printf("dry run: nothing written\n");
		swe_volume_close(vol);
		return 0;
	}
	/* the new geometry must fit the engine's view of the members */
	err = swe_volume_set_layout(vol, sb.stripe_unit, sb.data_offset, &e);
	if (err) {
		fprintf(stderr, "mkswapfs: %s\n", e.msg);
		swe_volume_close(vol);
		return 1;
	}
	err = sw_meta_format(vol, &sb, getuid(), getgid());
	for (unsigned i = 0; i < n && !err; i++) {
		struct swf_super m = sb;

		m.dev_index = i;
		m.member_uuid = sb.members[i];
		m.member_size = sizes[i];
		err = sw_super_write(vol, i, &m);
	}
	if (!err)
		err = swe_volume_flush(vol);
	if (err)
		fprintf(stderr, "mkswapfs: writing the filesystem failed: %s\n", strerror(-err));
	else if (!o->quiet)
		printf("formatted\n");
	swe_volume_close(vol);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, 'L' },
		{ "stripe-unit", required_argument, NULL, 's' },
		{ "alloc-unit", required_argument, NULL, 'a' },
		{ "uuid", required_argument, NULL, 'U' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct mk_opts o = { .stripe_unit = SWE_DEFAULT_STRIPE_UNIT,
			     .alloc_unit = SWF_DEFAULT_ALLOC_UNIT };
	int c;

	while ((c = getopt_long(argc, argv, "L:s:a:U:fnqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (strlen(optarg) > SWF_LABEL_MAX) {
				fprintf(stderr, "mkswapfs: label longer than %d bytes\n", SWF_LABEL_MAX);
				return 2;
			}
			o.label = optarg;
			break;
		case 's':
			if (parse_size(optarg, &o.stripe_unit) || o.stripe_unit > (1u << 30))
				goto bad;
			break;
		case 'a':
			if (parse_size(optarg, &o.alloc_unit) || o.alloc_unit > (1u << 30))
				goto bad;
			break;
		case 'U':
			if (swf_uuid_parse(optarg, &o.uuid))
				goto bad;
			o.have_uuid = true;
			break;
		case 'f': o.force = true; break;
		case 'n': o.dry_run = true; break;
		case 'q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "mkswapfs: no devices given\n");
		usage(stderr);
		return 2;
	}
	if (argc - optind > SWF_MAX_MEMBERS) {
		fprintf(stderr, "mkswapfs: at most %d members\n", SWF_MAX_MEMBERS);
		return 2;
	}
	return format(argv + optind, (unsigned)(argc - optind), &o);
bad:
	fprintf(stderr, "mkswapfs: bad value '%s' for -%c\n", optarg, c);
	return 2;
}
