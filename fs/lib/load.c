/*
 * load.c - opening the table: the newest valid checkpoint of every
 * mirror, replay of the log after it, the damage a crash cannot leave
 * (judged for swapfsck and refused by the daemon), stale members, the
 * torn tail cleared and the allocator rebuilt; and closing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/lib/fslib.h"
#include "fs/lib/fslib_int.h"

/* ---- the checkpoint in use and the log after it ------------------------ */

int meta_init(struct sw_meta *m, struct swe_volume *vol,
		     const struct swf_super *sb, bool read_only)
{
	memset(m, 0, sizeof(*m));
	m->lib = calloc(1, sizeof(*m->lib));
	if (!m->lib || meta_htab_grow(m)) {
		free(m->lib);
		m->lib = NULL;
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->vol = vol;
	m->sb = *sb;
	m->read_only = read_only;
	m->nmirror = sb->dev_count < SWF_MIRRORS ? sb->dev_count : SWF_MIRRORS;
	m->next_ino = SW_ROOT_INO + 1;
	m->lib->log_volatile = true;	/* what a crashed daemon wrote may sit in a cache */
	return 0;
}

/* Read a checkpoint slot of one mirror; returns 0 and fills c and *body. */
static int ckpt_read(struct sw_meta *m, unsigned dev, unsigned slot,
		     struct swf_ckpt *c, uint8_t **body)
{
	uint64_t off = m->sb.meta_offset + slot * m->sb.ckpt_size;
	uint8_t *p;
	size_t total;
	int err;

	*body = NULL;
	memset(c, 0, sizeof(*c));
	if (posix_memalign((void **)&p, SWF_BLOCK, SWF_BLOCK))
		return -ENOMEM;
	err = swe_member_pread(m->vol, dev, p, SWF_BLOCK, off);
	if (!err && !p[0] && !memcmp(p, p + 1, SWF_BLOCK - 1))
		err = -ENODATA;		/* never written (slot A of a fresh format) */
	if (!err)
		err = swf_ckpt_decode(c, p);
	free(p);
	if (err)
		return err;
	if (c->body_len > m->sb.ckpt_size - SWF_BLOCK || c->generation % 2 != slot)
		return -EBADMSG;
	total = (c->body_len + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;
	if (posix_memalign((void **)&p, SWF_BLOCK, total + SWF_BLOCK))
		return -ENOMEM;
	err = total ? swe_member_pread(m->vol, dev, p, total, off + SWF_BLOCK) : 0;
	if (!err && crc32c(0, p, c->body_len) != c->body_crc)
		err = -EBADMSG;
	if (err) {
		free(p);
		return err;
	}
	*body = p;
	return 0;
}

static void note_bad(struct sw_meta *m, const struct swf_rec *r)
{
	if (!m->bad_records++)
		m->bad_first_type = r->type;
}


static int apply_all(struct sw_meta *m, const uint8_t *p, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		struct swf_rec r;
		int n = swf_rec_decode(&r, p + pos, len - pos);

		if (n <= 0)
			return n ? n : -EBADMSG;
		if (meta_apply(m, &r)) {
			if (!m->lib->salvage)
				return -EBADMSG;
			note_bad(m, &r);
		}
		pos += (size_t)n;
	}
	return 0;
}

/*
 * Replay the log of one mirror from its start: records of the current
 * generation with consecutive sequence numbers, applied a transaction at a
 * time.  Returns the bytes consumed, rounded up to a block (the new head).
 */
static int64_t replay(struct sw_meta *m, const uint8_t *log, size_t len,
		      bool dry_run, uint64_t *records)
{
	size_t pos = 0, group_start = 0;
	uint64_t seq = m->seq, group_seq = m->seq;

	*records = 0;
	while (pos < len) {
		struct swf_rec r;
		int n = swf_rec_decode(&r, log + pos, len - pos);

		if (n <= 0 || r.generation != m->gen || r.seq != seq + 1)
			break;
		seq = r.seq;
		pos += (size_t)n;
		if (r.flags & SWF_RF_CONT)
			continue;
		/* a complete transaction: [group_start, pos) */
		for (size_t q = group_start; !dry_run && q < pos;) {
			struct swf_rec g;
			int k = swf_rec_decode(&g, log + q, pos - q);

			if (k <= 0)
				return -EBADMSG;
			if (meta_apply(m, &g)) {
				if (!m->lib->salvage)
					return -EBADMSG;
				note_bad(m, &g);
			}
			q += (size_t)k;
			(*records)++;
		}
		group_start = pos;
		group_seq = seq;
	}
	if (!dry_run)
		m->seq = group_seq;
	return (int64_t)((group_start + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK);
}

/*
 * What one mirror's log holds beyond what replay can use.  The walk follows
 * records of generation gen with consecutive sequence numbers from seq + 1
 * (what replay reads, an incomplete last transaction included) and stops
 * at end.  From there on, runs of records that decode are looked for at
 * every block start (each commit starts on one).  Sequence numbers grow
 * across generations, so a record of a newer generation, or of an older
 * one with a sequence number above the checkpoint's, was written after the
 * checkpoint in use ("newer"), and one of this generation with a sequence
 * number above floor after a commit that replay cannot reach ("orphan"):
 * the damage before it is no torn tail.  Other records of older
 * generations are stale bytes of earlier logs.
 */
struct log_survey {
	size_t end;		/* where the walk stopped */
	uint64_t last_seq;	/* sequence number of the last record it read */
	uint64_t newer, orphans, orphan_first, orphan_last, max_seq;
	uint32_t max_gen;
	size_t tail_end;	/* end of the last block after the walk holding a record of gen */
};

static void log_survey(const uint8_t *log, size_t len, uint32_t gen, uint64_t seq,
		       uint64_t floor, struct log_survey *s,
		       void (*lost_fn)(void *, const struct swf_rec *), void *arg)
{
	uint64_t ckpt_seq = seq;
	size_t pos = 0;
	struct swf_rec r;
	int n;

	memset(s, 0, sizeof(*s));
	while ((n = swf_rec_decode(&r, log + pos, len - pos)) > 0 &&
	       r.generation == gen && r.seq == seq + 1) {
		seq = r.seq;
		pos += (size_t)n;
	}
	s->end = pos;
	s->last_seq = s->max_seq = seq;
	if (floor < seq)
		floor = seq;
	if (n < 0)	/* a damaged record: the tail to clear reaches at least its block */
		s->tail_end = (pos / SWF_BLOCK + 1) * SWF_BLOCK;
	while (pos < len) {
		if ((n = swf_rec_decode(&r, log + pos, len - pos)) <= 0) {
			pos = (pos / SWF_BLOCK + 1) * SWF_BLOCK;
			continue;
		}
		if (r.generation > s->max_gen)
			s->max_gen = r.generation;
		if (r.seq > s->max_seq)
			s->max_seq = r.seq;
		if (r.generation == gen)
			s->tail_end = (pos + (size_t)n + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;
		if (r.generation > gen || (r.generation < gen && r.seq > ckpt_seq) ||
		    (r.generation == gen && r.seq > floor)) {
			if (r.generation != gen) {
				s->newer += r.type != SWF_R_PAD;
			} else {
				s->orphans += r.type != SWF_R_PAD;
				if (!s->orphan_first || r.seq < s->orphan_first)
					s->orphan_first = r.seq;
				if (r.seq > s->orphan_last)
					s->orphan_last = r.seq;
			}
			if (lost_fn && r.type != SWF_R_PAD)
				lost_fn(arg, &r);
		}
		pos += (size_t)n;
	}
}

static int rebuild_alloc(struct sw_meta *m)
{
	uint64_t row = (uint64_t)m->sb.stripe_unit * m->sb.dev_count;
	int err = sw_alloc_init(&m->alloc, swf_volume_bytes(&m->sb), m->sb.alloc_unit, row);
	struct sw_inode_iter it;
	struct sw_inode *i;

	sw_for_each_inode(m, &it, i) {
		if (err)
			break;
		for (size_t k = 0; k < i->next && !err; k++)
			if ((err = sw_alloc_mark(&m->alloc, i->ext[k].voff / m->sb.alloc_unit,
						 i->ext[k].len / m->sb.alloc_unit)) == -EEXIST &&
			    m->lib->salvage)
				err = 0;	/* overlap: swapfsck reports it */
	}
	return err == -EEXIST ? -EUCLEAN : err;
}

int sw_meta_load(struct sw_meta *m, struct swe_volume *vol,
		 const struct swf_super *sb, bool read_only)
{
	return sw_meta_open(m, vol, sb, read_only ? SW_LOAD_READ_ONLY : 0, NULL, NULL);
}

/* Slot headers and the surveys of every mirror's log: what a crash cannot explain. */
static void judge_damage(struct sw_meta *m, const struct swf_ckpt *best, bool log_continues,
			 struct sw_load_report *rep)
{
	unsigned other = (best->generation + 1) % 2;
	bool other_ok = false, all_empty = true;

	for (unsigned d = 0; d < m->nmirror; d++)
		for (unsigned slot = 0; slot < 2; slot++)
			if (rep->ckpt_gen[d][slot] > rep->max_gen)
				rep->max_gen = rep->ckpt_gen[d][slot];
	for (unsigned d = 0; d < m->nmirror; d++) {
		if (!rep->ckpt_err[d][other])
			other_ok = true;	/* an older checkpoint, intact */
		if (rep->ckpt_err[d][other] != -ENODATA)
			all_empty = false;
	}
	/* slot A stays empty until generation 2; after that both slots hold one */
	if (!other_ok && !(all_empty && best->generation == 1)) {
		rep->lost_slot = other;
		if (log_continues)
			rep->ckpt_torn = true;
		else
			rep->ckpt_lost = true;
	}
	if (rep->newer_records)
		snprintf(rep->why, sizeof(rep->why),
			 "the log holds %llu record(s) newer than the newest readable checkpoint "
			 "(generation %u, sequence %llu)", (unsigned long long)rep->newer_records,
			 best->generation, (unsigned long long)best->seq);
	else if (rep->orphan_records)
		snprintf(rep->why, sizeof(rep->why),
			 "the log is damaged at byte %llu and %llu valid record(s) follow: damage, "
			 "not a torn write",
			 (unsigned long long)rep->damage_at, (unsigned long long)rep->orphan_records);
	else if (rep->ckpt_lost)
		snprintf(rep->why, sizeof(rep->why),
			 "checkpoint slot %c is unreadable on every mirror and may have held a "
			 "newer table than generation %u", 'A' + other, best->generation);
	else if (rep->ckpt_torn)
		snprintf(rep->why, sizeof(rep->why),
			 "checkpoint slot %c is unreadable on every mirror: an interrupted "
			 "checkpoint (the log continues generation %u)", 'A' + other,
			 best->generation);
}

/*
 * Stale members.  Every read-write mount raises the mount counter of all
 * superblocks from T (the checkpoint's) to T + 1, flushes, and then writes a
 * checkpoint recording T + 1, all before it can write any data.  So a
 * member that missed a mount (an older copy restored over it) is below the
 * checkpoint's T; a member at T + 1 beside a checkpoint at T is what a crash
 * during the superblock writes leaves (no data was written since), and
 * members above T + 1 mean the metadata itself, on members 0 and 1, is the
 * older copy.  Members below the newest state (T, or the highest counter
 * less one) are stale.  Returns -EUCLEAN with rep->why naming the first of
 * them, 0 when none, or an I/O error.
 */
static int members_check(struct sw_meta *m, struct sw_load_report *rep)
{
	unsigned n = m->sb.dev_count, first = n;
	uint64_t top = 0, floor;
	struct swf_super s;
	int err;

	for (unsigned i = 0; i < n; i++) {
		if ((err = sw_super_read(m->vol, i, &s, NULL)))
			return err;
		rep->member_seq[i] = s.mount_seq;
		if (s.mount_seq > top)
			top = s.mount_seq;
	}
	floor = top > rep->mount_seq + 1 ? top - 1 : rep->mount_seq;
	rep->newest_seq = top > rep->mount_seq ? top : rep->mount_seq;
	for (unsigned i = 0; i < n; i++)
		if (rep->member_seq[i] < floor) {
			rep->stale[i] = true;
			if (!rep->nstale++)
				first = i;
		}
	if (!rep->nstale)
		return 0;
	snprintf(rep->why, sizeof(rep->why),
		 "member %u (%s) is older than the others (mount %llu vs %llu%s): a stale copy?",
		 first, swe_volume_device(m->vol, first)->path,
		 (unsigned long long)rep->member_seq[first], (unsigned long long)rep->newest_seq,
		 rep->nstale > 1 ? "; more members are older" : "");
	return -EUCLEAN;
}

/* Write mount counter seq to both superblock copies of every member, then flush them. */
static int members_bump(struct sw_meta *m, uint64_t seq)
{
	struct swf_super s;
	int err = 0;

	for (unsigned i = 0; i < m->sb.dev_count && !err; i++) {
		err = sw_super_read(m->vol, i, &s, NULL);
		if (!err && s.mount_seq != seq) {
			s.mount_seq = seq;
			err = sw_super_write(m->vol, i, &s);
		}
	}
	if (!err)
		err = swe_volume_flush(m->vol);
	return err;
}

int sw_meta_open(struct sw_meta *m, struct swe_volume *vol, const struct swf_super *sb,
		 unsigned flags, const struct sw_inode_ops *ops, struct sw_load_report *rep)
{
	struct swf_ckpt best = {0}, c;
	uint8_t *best_body = NULL, *body, *log = NULL;
	int64_t best_head = -1;
	uint64_t records, best_last = 0, zero_to = 0;
	unsigned best_dev = 0, lost_dev = 0;
	struct log_survey sv[SWF_MIRRORS], lost_sv = {0};
	struct sw_load_report scratch = {0};
	bool read_only = flags & SW_LOAD_READ_ONLY, lost = false;
	int err = meta_init(m, vol, sb, read_only);
	void (*lost_fn)(void *, const struct swf_rec *);
	void *lost_arg;

	if (err)
		return err;
	if (!rep)
		rep = &scratch;
	lost_fn = rep->lost_fn;
	lost_arg = rep->lost_arg;
	memset(rep, 0, sizeof(*rep));
	memset(sv, 0, sizeof(sv));
	m->lib->salvage = flags & SW_LOAD_SALVAGE;
	m->lib->repair = flags & SW_LOAD_REPAIR;
	if (ops)
		m->lib->ops = *ops;
	/* newest valid checkpoint over both slots of every mirror */
	for (unsigned d = 0; d < m->nmirror; d++)
		for (unsigned slot = 0; slot < 2; slot++) {
			rep->ckpt_err[d][slot] = ckpt_read(m, d, slot, &c, &body);
			rep->ckpt_gen[d][slot] = c.generation;
			if (rep->ckpt_err[d][slot])
				continue;
			if (!best_body || c.generation > best.generation) {
				free(best_body);
				best = c;
				best_body = body;
			} else {
				free(body);
			}
		}
	if (!best_body) {
		snprintf(rep->why, sizeof(rep->why), "no valid checkpoint on any metadata mirror");
		err = -EUCLEAN;
		goto out;
	}
	m->gen = best.generation;
	rep->generation = best.generation;
	rep->ckpt_seq = best.seq;
	/* before anything is written: no member may be an older copy of itself */
	m->lib->mount_seq = rep->mount_seq = best.mount_seq;
	err = members_check(m, rep);
	if (err && (err != -EUCLEAN || !m->lib->salvage))
		goto out;
	err = 0;
	m->seq = best.seq;
	m->next_ino = best.next_ino;
	m->lib->replaying = true;
	err = apply_all(m, best_body, best.body_len);
	if (err || !sw_inode_get(m, SW_ROOT_INO) || !sw_inode_get(m, SW_ROOT_INO)->dir) {
		snprintf(rep->why, sizeof(rep->why), "checkpoint generation %u does not apply",
			 best.generation);
		err = -EUCLEAN;
		goto out;
	}
	/* the mirror whose log holds the longest valid prefix wins */
	if (posix_memalign((void **)&log, SWF_BLOCK, m->sb.log_size)) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned d = 0; d < m->nmirror; d++) {
		int64_t head;

		rep->log_head[d] = -1;
		if (swe_member_pread(vol, d, log, m->sb.log_size, m->sb.log_offset))
			continue;
		head = replay(m, log, m->sb.log_size, true, &records);
		rep->log_head[d] = head;
		if (head >= 0 && (uint64_t)head < m->sb.log_size) {
			struct swf_rec r;

			rep->log_torn[d] = swf_rec_decode(&r, log + head, m->sb.log_size - head) < 0;
		}
		if (head > best_head) {
			best_head = head;
			best_dev = d;
		}
		log_survey(log, m->sb.log_size, best.generation, best.seq, 0, &sv[d], NULL, NULL);
		if (sv[d].last_seq > best_last)
			best_last = sv[d].last_seq;
		if (sv[d].max_gen > rep->max_gen)
			rep->max_gen = sv[d].max_gen;
		if (sv[d].max_seq > rep->max_seq)
			rep->max_seq = sv[d].max_seq;
	}
	/* records beyond what any mirror's replay reaches: the mirror with the latest */
	for (unsigned d = 0; d < m->nmirror; d++) {
		uint64_t end = (sv[d].end + SWF_BLOCK - 1) / SWF_BLOCK * SWF_BLOCK;

		if (sv[d].tail_end > zero_to)
			zero_to = sv[d].tail_end;
		if (end > zero_to)
			zero_to = end;
		if (rep->log_head[d] < 0 || (!sv[d].newer && sv[d].orphan_last <= best_last))
			continue;
		if (!lost || sv[d].newer > sv[lost_dev].newer ||
		    sv[d].orphan_last > sv[lost_dev].orphan_last) {
			lost = true;
			lost_dev = d;
		}
	}
	if (lost) {
		err = swe_member_pread(vol, lost_dev, log, m->sb.log_size, m->sb.log_offset);
		if (err)
			goto out;
		log_survey(log, m->sb.log_size, best.generation, best.seq, best_last, &lost_sv,
			   lost_fn, lost_arg);
		rep->newer_records = lost_sv.newer;
		rep->orphan_records = lost_sv.orphans;
		rep->orphan_first_seq = lost_sv.orphan_first;
		rep->orphan_last_seq = lost_sv.orphan_last;
		rep->damage_at = lost_sv.end;
	}
	judge_damage(m, &best, best_last > best.seq, rep);
	if (!m->lib->salvage && (rep->newer_records || rep->orphan_records || rep->ckpt_lost)) {
		err = -EUCLEAN;
		goto out;
	}
	if (best_head > 0) {
		err = swe_member_pread(vol, best_dev, log, m->sb.log_size, m->sb.log_offset);
		if (!err && replay(m, log, m->sb.log_size, false, &records) < 0)
			err = -EUCLEAN;
		if (err)
			goto out;
		m->records_replayed = records;
	}
	m->lib->replaying = false;
	m->head = best_head > 0 ? (uint64_t)best_head : 0;
	err = rebuild_alloc(m);
	if (!err && !read_only && !(flags & SW_LOAD_NO_CHECKPOINT)) {
		/* this mount's counter on every member, durable, before the checkpoint
		 * below records it: from then on a copy of a member taken before this
		 * mount is below the checkpoint's (members_check) */
		err = members_bump(m, m->lib->mount_seq + 1);
		if (!err)
			m->lib->mount_seq++;
		/* what lies past the head of this generation (a torn tail) is cleared
		 * before new commits land there: none of it may be read as theirs */
		if (!err)
			err = meta_log_zero(m, m->head, zero_to < m->sb.log_size ? zero_to : m->sb.log_size);
		/* start a clean generation so no torn tail can be mistaken for new
		 * records, give a mirror that lacks the newest checkpoint its copy, and
		 * record the mount counter (every read-write mount, before any data
		 * write: the daemon serves requests only after this returns) */
		if (!err)
			err = sw_meta_checkpoint(m);
		/* a table too big for its slot still mounts, from the log as replayed;
		 * new names are refused (tbl_fits) until removals make room */
		if (err == -ENOSPC)
			err = 0;
	}
out:
	m->lib->replaying = false;
	free(best_body);
	free(log);
	if (err)
		sw_meta_close(m);
	return err;
}

void sw_meta_close(struct sw_meta *m)
{
	meta_table_free(m);
	free(m->lib->lbuf);
	m->lib->lbuf = NULL;
	free(m->lib->pending_free);
	m->lib->pending_free = NULL;
	free(m->lib);
	m->lib = NULL;
	sw_alloc_destroy(&m->alloc);
	pthread_mutex_destroy(&m->lock);
}

