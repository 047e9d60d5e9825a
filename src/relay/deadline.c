/*
 * deadline.c — request deadlines for parley-relay (deadline.h).
 *
 * Workers only store a deadline in their connection's entry (an atomic
 * word, no lock), so a request costs no lock beyond the two of its
 * connection's start and end. The reaper takes the list's lock for its
 * scan, which is what keeps a socket it shuts down from being closed (and
 * its number reused) meanwhile: libmicrohttpd reports a connection closed
 * (and this file unlinks it under that lock) before it closes the socket.
 */
#include "relay/deadline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct pl_deadline_conn {
	pl_deadline_conn *prev, *next;
	int fd;
	uint64_t until; /* monotonic ms; 0 = disarmed (atomic) */
	int cut;	/* shut down once already */
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Shuts down every connection past its deadline (caller holds d->mu). */
static void reap_locked(pl_deadlines *d, uint64_t now)
{
	for (pl_deadline_conn *c = d->head; c != NULL; c = c->next) {
		uint64_t until = __atomic_load_n(&c->until, __ATOMIC_RELAXED);
		if (until == 0 || until > now || c->cut)
			continue;
		/* The worker polling this socket sees it end and closes it. */
		(void)shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		d->reaped++;
	}
}

static void *reaper(void *arg)
{
	pl_deadlines *d = arg;
	struct timespec until;

	pthread_setname_np(pthread_self(), "pl-deadline");
	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PL_DEADLINE_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&d->cv, &d->mu, &until);
		if (!d->stop)
			reap_locked(d, now_ms());
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int pl_deadlines_start(pl_deadlines *d, unsigned timeout_s)
{
	memset(d, 0, sizeof *d);
	d->timeout_s = timeout_s;
	if (timeout_s == 0)
		return 0;
	if (pthread_mutex_init(&d->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&d->cv, NULL) != 0) {
		pthread_mutex_destroy(&d->mu);
		return -1;
	}
	if (pthread_create(&d->th, NULL, reaper, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		return -1;
	}
	d->started = 1;
	return 0;
}

void pl_deadlines_stop(pl_deadlines *d)
{
	if (!d->started)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->th, NULL);
	/* The daemon has stopped: every connection was reported closed. */
	while (d->head != NULL) {
		pl_deadline_conn *c = d->head;
		d->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	d->started = 0;
}

static pl_deadline_conn *entry_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i != NULL ? i->socket_context : NULL;
}

void pl_deadlines_notify(void *cls, struct MHD_Connection *con, void **socket_context,
			 enum MHD_ConnectionNotificationCode code)
{
	pl_deadlines *d = cls;
	pl_deadline_conn *c;

	if (!d->started)
		return;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *i =
		    MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = NULL;
		if (i == NULL)
			return;
		c = calloc(1, sizeof *c);
		if (c == NULL)
			return; /* this connection has the idle timeout only */
		c->fd = i->connect_fd;
		c->until = now_ms() + (uint64_t)d->timeout_s * 1000u;
		pthread_mutex_lock(&d->mu);
		c->next = d->head;
		if (d->head != NULL)
			d->head->prev = c;
		d->head = c;
		pthread_mutex_unlock(&d->mu);
		*socket_context = c;
		return;
	}
	c = *socket_context;
	if (code != MHD_CONNECTION_NOTIFY_CLOSED || c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		d->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&d->mu);
	free(c);
	*socket_context = NULL;
}

void pl_deadlines_arm(const pl_deadlines *d, struct MHD_Connection *con)
{
	pl_deadline_conn *c;

	if (!d->started || (c = entry_of(con)) == NULL)
		return;
	__atomic_store_n(&c->until, now_ms() + (uint64_t)d->timeout_s * 1000u, __ATOMIC_RELAXED);
}

void pl_deadlines_disarm(struct MHD_Connection *con)
{
	pl_deadline_conn *c = entry_of(con);

	if (c != NULL)
		__atomic_store_n(&c->until, 0, __ATOMIC_RELAXED);
}
