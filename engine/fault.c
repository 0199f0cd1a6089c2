/*
 * fault.c - fault injection: fail, delay or shorten chosen member I/Os.
 *
 * A rule matches I/Os by member and operation; the nth matching I/O after
 * arming and the count-1 following ones are hit.  The check is one atomic
 * load when no rule is armed, so production I/O pays nothing.
 */
#include <errno.h>

#include "engine/internal.h"

int swe_fault_add(struct swe_volume *vol, const struct swe_fault *f, struct swe_err *e)
{
	int slot = -ENOSPC;

	if (f->error < 0 || (f->dev >= 0 && (unsigned)f->dev >= vol->ndev))
		return swe_fail(e, -EINVAL, "fault rule: bad member %d or error %d",
				f->dev, f->error);
	pthread_mutex_lock(&vol->fault_lock);
	for (int i = 0; i < SWE_MAX_FAULTS; i++) {
		struct swe_fault_slot *s = &vol->faults[i];

		if (s->armed)
			continue;
		s->rule = *f;
		if (!s->rule.nth)
			s->rule.nth = 1;
		atomic_store(&s->seen, 0);
		atomic_store(&s->hits, 0);
		s->armed = true;
		atomic_fetch_add(&vol->nfaults, 1);
		slot = i;
		break;
	}
	pthread_mutex_unlock(&vol->fault_lock);
	if (slot < 0)
		return swe_fail(e, slot, "fault rule: all %d slots armed", SWE_MAX_FAULTS);
	return slot;
}

void swe_fault_clear(struct swe_volume *vol)
{
	pthread_mutex_lock(&vol->fault_lock);
	for (int i = 0; i < SWE_MAX_FAULTS; i++)
		vol->faults[i].armed = false;
	atomic_store(&vol->nfaults, 0);
	pthread_mutex_unlock(&vol->fault_lock);
}

uint64_t swe_fault_hits(const struct swe_volume *vol, int slot)
{
	if (slot < 0 || slot >= SWE_MAX_FAULTS)
		return 0;
	return atomic_load(&vol->faults[slot].hits);
}

bool swe_fault_check(struct swe_volume *vol, unsigned dev, enum swe_op op,
		     struct swe_fault_action *act)
{
	bool hit = false;

	if (!atomic_load_explicit(&vol->nfaults, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&vol->fault_lock);
	for (int i = 0; i < SWE_MAX_FAULTS && !hit; i++) {
		struct swe_fault_slot *s = &vol->faults[i];
		uint64_t n;

		if (!s->armed || (s->rule.dev >= 0 && (unsigned)s->rule.dev != dev) ||
		    (s->rule.ops && !(s->rule.ops & op)))
			continue;
		n = atomic_fetch_add(&s->seen, 1) + 1;
		if (n < s->rule.nth ||
		    (s->rule.count && n >= s->rule.nth + s->rule.count))
			continue;
		atomic_fetch_add(&s->hits, 1);
		act->error = s->rule.error;
		act->delay_us = s->rule.delay_us;
		act->short_io = s->rule.short_io;
		hit = true;
	}
	pthread_mutex_unlock(&vol->fault_lock);
	return hit;
}
