/*
 * bare_httpd.c — the ceiling for the relay benchmark: a libmicrohttpd server
 * in the same threading mode as parley-relay (src/relay/server.c: a pool of
 * poll() worker threads, one per CPU between 2 and 8, suspend/resume
 * allowed, the same limits) that reads and discards every request body and
 * answers 200 with an empty body. What
 * bench/relay_load.c measures against it is the cost of HTTP over loopback
 * with this client and this server library; the relay's ratio to it is what
 * auth, storage and the durable commit cost on top.
 *
 * Listens on 127.0.0.1, port 0 (the kernel picks), and prints
 * "listening on 127.0.0.1:PORT" as its first stdout line. Stops on SIGTERM
 * or SIGINT, and by itself after MAX_LIFETIME seconds in any case.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIFETIME 900

/* Per-connection marker: MHD calls the handler once for the headers, then
 * with each chunk of body, then once more with none. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	static int started;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;

	if (*req_cls == NULL) {
		*req_cls = &started; /* first call: headers only */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0; /* consume and drop */
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	(void)cls;
	return rc;
}

int main(void)
{
	struct sockaddr_in sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* Block the stop signals before MHD starts its threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* The relay's flags and limits (src/relay/server.c), minus TLS and logging:
	 * a poll() thread pool of one worker per CPU (2..8), suspend/resume
	 * allowed, 30 s timeout, 1000 connections, 32 KiB per connection,
	 * strict parsing. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned workers = ncpu < 2 ? 2 : ncpu > 8 ? 8 : (unsigned)ncpu;
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_THREAD_POOL_SIZE, workers, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(32 * 1024), MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare_httpd: cannot start on 127.0.0.1\n");
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fprintf(stderr, "bare_httpd: no port\n");
		MHD_stop_daemon(d);
		return 1;
	}
	printf("listening on 127.0.0.1:%u\n", (unsigned)info->port);
	fflush(stdout);

	struct timespec limit = {MAX_LIFETIME, 0};
	for (int i = 0; i < 1000 && sigtimedwait(&set, NULL, &limit) < 0 && errno == EINTR; i++)
		;
	MHD_stop_daemon(d);
	return 0;
}
