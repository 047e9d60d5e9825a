/*
 * deadline.h — a total deadline for reading each request, headers and
 * body: a client that trickles a header line now and then keeps a
 * connection forever under an idle timeout alone, which is all
 * libmicrohttpd has.
 *
 * Every connection is registered when libmicrohttpd starts it
 * (MHD_OPTION_NOTIFY_CONNECTION) and is "armed" with a deadline while the
 * relay waits for a request or reads one: from its start, from the end of
 * the previous request, and again from the request line. It is disarmed
 * once the whole request is read (the relay's own work and the answer are
 * not the client's to hurry; sending the answer is bounded by the idle
 * timeout). One thread looks every PL_DEADLINE_TICK_MS and shuts down the
 * socket of every connection past its deadline; libmicrohttpd then sees
 * the connection end and closes it in its own thread.
 *
 * It must never touch a socket libmicrohttpd has closed (the entry leaves
 * the list, under the lock the reaper holds, before libmicrohttpd closes
 * the socket), or free a connection itself.
 */
#ifndef PARLEY_RELAY_DEADLINE_H
#define PARLEY_RELAY_DEADLINE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#define PL_DEADLINE_TICK_MS 250

typedef struct pl_deadline_conn pl_deadline_conn;

typedef struct {
	unsigned timeout_s; /* 0: no deadline, nothing registered */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pl_deadline_conn *head; /* connections libmicrohttpd has open */
	pthread_t th;
	int started, stop;
	unsigned long reaped; /* connections cut at their deadline */
} pl_deadlines;

/* Starts the reaper (nothing with timeout_s 0); -1 if it cannot. */
int pl_deadlines_start(pl_deadlines *d, unsigned timeout_s);
/* Stops it; call after the HTTP daemon stopped. */
void pl_deadlines_stop(pl_deadlines *d);

/* MHD_NotifyConnectionCallback; cls is the pl_deadlines. */
void pl_deadlines_notify(void *cls, struct MHD_Connection *con, void **socket_context,
			 enum MHD_ConnectionNotificationCode code);
/* The connection's request must be read within the timeout from now. */
void pl_deadlines_arm(const pl_deadlines *d, struct MHD_Connection *con);
/* Its request is read: no deadline until the next arm. */
void pl_deadlines_disarm(struct MHD_Connection *con);

#endif
