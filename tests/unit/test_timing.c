/*
 * test_timing.c — what the relay can tie together, and what a stranger's
 * envelopes cost, played against the real $PARLEY_BUILD/parley-relay on
 * 127.0.0.1 with real vaults in temporary folders:
 *   - the acknowledgment of a fetched note is not deposited in the run of
 *     the fetch (the relay sees no deposit into the sender's mailbox), is
 *     held back for its random delay, goes out with a later command once
 *     due, and rides along at once with a note to the same contact;
 *   - an envelope from a stranger is opened once: later syncs leave it
 *     sealed while its key is not a verified contact, and open it once it
 *     is; a row kept by an older vault (no sender recorded) is opened once
 *     more, then no longer; a schema 1 vault is migrated on open;
 *   - a SOCKS5 proxy (a small one here, on loopback, in a thread) carries
 *     every connection of a sync and a send, library and CLI, each with
 *     SOCKS credentials of its own; the relay's address resolves only
 *     through the proxy, so a connection that went around it would fail;
 *     a bad proxy address is refused, a dead proxy is a one-line network
 *     error, and a proxy does not make plain http:// acceptable.
 * Skipped when the relay binary is not there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "client/relay_client.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "util/codec.h"
#include "support.h"

/* The relay's name in the vaults of the proxy tests: only the test proxy
 * knows it (.invalid never resolves), so nothing can reach the relay
 * around the proxy. */
#define HIDDEN "parley-relay.invalid"

static struct {
	pl_test_relay r;
	char dir[64];
	int vaults;
} relay;

typedef struct {
	char dir[128];
	pl_vault *v;
} party;

/* ---- a SOCKS5 proxy on loopback ---------------------------------------- */

#define SOCKS_CONNS_MAX 128
#define SOCKS_IDLE_MS 20000

static struct {
	int lfd;
	unsigned port;
	pthread_t acceptor;
	int running;
	pthread_mutex_t mu;
	int stop;
	size_t conns; /* accepted and answered */
	size_t noauth;
	size_t by_name; /* CONNECT by host name (socks5h) */
	size_t refused; /* CONNECT to anything but the relay */
	char users[SOCKS_CONNS_MAX][256];
	pthread_t th[SOCKS_CONNS_MAX];
	int fds[SOCKS_CONNS_MAX];
} px;

/* Reads exactly n bytes within SOCKS_IDLE_MS; 0 or -1. */
static int rd(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, SOCKS_IDLE_MS) <= 0)
			return -1;
		ssize_t k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int wr(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n) == (ssize_t)n ? 0 : -1;
}

/* Copies both ways until either side closes or is idle too long. */
static void pump(int a, int b)
{
	uint8_t buf[16384];
	for (;;) {
		struct pollfd pf[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
		if (poll(pf, 2, SOCKS_IDLE_MS) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(pf[i].fd, buf, sizeof buf);
			if (k <= 0 || wr(i == 0 ? b : a, buf, (size_t)k) != 0)
				return;
		}
	}
}

/* One client: greeting, user name/password (RFC 1929), CONNECT to the
 * relay only (by its hidden name or 127.0.0.1), then the bytes. */
static void *socks_conn(void *arg)
{
	size_t slot = (size_t)(uintptr_t)arg;
	int fd = px.fds[slot], up = -1;
	uint8_t h[2], methods[255], req[4], rep[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	char user[256] = "";
	if (rd(fd, h, 2) != 0 || h[0] != 5 || h[1] == 0 || rd(fd, methods, h[1]) != 0)
		goto out;
	int userpass = memchr(methods, 2, h[1]) != NULL;
	uint8_t choice[2] = {5, userpass ? 2 : 0};
	if (wr(fd, choice, 2) != 0)
		goto out;
	if (userpass) {
		uint8_t ver, len;
		char pass[256];
		if (rd(fd, &ver, 1) != 0 || ver != 1 || rd(fd, &len, 1) != 0 ||
		    rd(fd, user, len) != 0)
			goto out;
		user[len] = '\0';
		if (rd(fd, &len, 1) != 0 || rd(fd, pass, len) != 0)
			goto out;
		uint8_t okay[2] = {1, 0};
		if (wr(fd, okay, 2) != 0)
			goto out;
	}
	if (rd(fd, req, 4) != 0 || req[0] != 5 || req[1] != 1)
		goto out;
	int allowed = 0, named = 0;
	if (req[3] == 1) {
		uint8_t a[4];
		if (rd(fd, a, 4) != 0)
			goto out;
		allowed = a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1;
	} else if (req[3] == 3) {
		uint8_t len;
		char name[256];
		if (rd(fd, &len, 1) != 0 || rd(fd, name, len) != 0)
			goto out;
		name[len] = '\0';
		named = 1;
		allowed = strcmp(name, HIDDEN) == 0;
	} else {
		goto out;
	}
	uint8_t pb[2];
	if (rd(fd, pb, 2) != 0)
		goto out;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)((pb[0] << 8) | pb[1]))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (allowed) {
		up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (up < 0 || connect(up, (struct sockaddr *)&sa, sizeof sa) != 0)
			allowed = 0;
	}
	pthread_mutex_lock(&px.mu);
	px.conns++;
	px.noauth += !userpass;
	px.by_name += named;
	px.refused += !allowed;
	snprintf(px.users[slot], sizeof px.users[slot], "%s", user);
	pthread_mutex_unlock(&px.mu);
	rep[1] = allowed ? 0 : 4; /* host unreachable */
	if (wr(fd, rep, sizeof rep) == 0 && allowed)
		pump(fd, up);
out:
	if (up >= 0)
		close(up);
	shutdown(fd, SHUT_RDWR);
	return NULL;
}

static void *socks_accept(void *arg)
{
	(void)arg;
	size_t n = 0;
	for (;;) {
		struct pollfd pf = {px.lfd, POLLIN, 0};
		int r = poll(&pf, 1, 100);
		pthread_mutex_lock(&px.mu);
		int stop = px.stop;
		pthread_mutex_unlock(&px.mu);
		if (stop || n == SOCKS_CONNS_MAX)
			break;
		if (r <= 0)
			continue;
		int fd = accept4(px.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		px.fds[n] = fd;
		if (pthread_create(&px.th[n], NULL, socks_conn, (void *)(uintptr_t)n) != 0) {
			close(fd);
			px.fds[n] = -1;
			continue;
		}
		n++;
	}
	/* Stop: cut every connection still open, then wait for its thread. */
	for (size_t i = 0; i < n; i++) {
		shutdown(px.fds[i], SHUT_RDWR);
		pthread_join(px.th[i], NULL);
		close(px.fds[i]);
	}
	return NULL;
}

static void socks_start(void)
{
	memset(&px, 0, sizeof px);
	pthread_mutex_init(&px.mu, NULL);
	px.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px.lfd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(px.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(px.lfd, 16), 0);
	assert_int_equal(getsockname(px.lfd, (struct sockaddr *)&sa, &sl), 0);
	px.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&px.acceptor, NULL, socks_accept, NULL), 0);
	px.running = 1;
}

static void socks_stop(void)
{
	if (!px.running)
		return;
	pthread_mutex_lock(&px.mu);
	px.stop = 1;
	pthread_mutex_unlock(&px.mu);
	pthread_join(px.acceptor, NULL);
	close(px.lfd);
	pthread_mutex_destroy(&px.mu);
	px.running = 0;
}

static size_t socks_conns(void)
{
	pthread_mutex_lock(&px.mu);
	size_t n = px.conns;
	pthread_mutex_unlock(&px.mu);
	return n;
}

/* Every answered connection used SOCKS credentials, all different. */
static void assert_isolated(void)
{
	pthread_mutex_lock(&px.mu);
	size_t n = px.conns;
	assert_int_equal(px.noauth, 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strlen(px.users[i]), 32);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(px.users[i], px.users[j]);
	}
	pthread_mutex_unlock(&px.mu);
}

/* ---- the relay and parties --------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	char data[128];
	if (sodium_init() < 0)
		return -1;
	snprintf(relay.dir, sizeof relay.dir, "/tmp/parley-timing-XXXXXX");
	if (mkdtemp(relay.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/data", relay.dir);
	if (pl_test_relay_start(&relay.r, data, 0, NULL) != 0)
		fprintf(stderr, "# parley-relay not available in $PARLEY_BUILD; skipped\n");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pl_test_relay_stop(&relay.r);
	pl_test_rm_rf(relay.dir);
	return 0;
}

/* A vault at `url` (the relay's, unless given); published unless the
 * caller will set a proxy first. */
static void party_make_at(party *p, const char *name, const char *url, int publish)
{
	char sub[64];
	pl_err e;
	pl_err_clear(&e);
	snprintf(sub, sizeof sub, "v%d-%s", relay.vaults++, name);
	snprintf(p->dir, sizeof p->dir, "%s/%s", relay.dir, sub);
	p->v = pl_test_vault_new(relay.dir, sub, name, url ? url : relay.r.url);
	if (publish && pl_msgr_publish(p->v, &e) != 0)
		fail_msg("cannot make the vault of %s: %s", name, e.msg);
}

static void party_close(party *p)
{
	if (p->v)
		pl_vault_close(p->v);
	p->v = NULL;
	pl_test_rm_rf(p->dir);
}

static void add_contact(party *a, const party *b, const char *name, int verified)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	if (pl_vault_contact_get(a->v, name, &c, &e) != 0) {
		snprintf(c.name, sizeof c.name, "%s", name);
		memcpy(c.ik, pl_vault_identity(b->v)->pk, PL_IK_LEN);
		c.added = pl_now();
	}
	c.verified = verified;
	assert_int_equal(pl_vault_contact_put(a->v, &c, &e), 0);
	assert_int_equal(pl_msgr_publish(a->v, &e), 0);
}

typedef struct {
	party alice, bob;
} pair;

static int pair_setup(void **state)
{
	*state = NULL;
	if (relay.r.pid <= 0)
		return 0;
	pair *p = calloc(1, sizeof *p);
	assert_non_null(p);
	party_make_at(&p->alice, "alice", NULL, 1);
	party_make_at(&p->bob, "bob", NULL, 1);
	add_contact(&p->alice, &p->bob, "bob", 1);
	add_contact(&p->bob, &p->alice, "alice", 1);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	pair *p = *state;
	if (p == NULL)
		return 0;
	party_close(&p->alice);
	party_close(&p->bob);
	free(p);
	return 0;
}

static void send_note(party *from, const char *to, const char *text, uint8_t id[8],
		      pl_sync_report *r)
{
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_queue(from->v, to, PL_KIND_NOTE, (const uint8_t *)text,
				       strlen(text), id, &seq, &e),
			 0);
	memset(r, 0, sizeof *r);
	if (pl_msgr_deliver(from->v, r, &e) != 0)
		fail_msg("deliver: %s", e.msg);
	assert_int_equal(r->delivered, 1);
}

/* How many envelopes wait in p's mailbox (without taking them). */
static size_t mailbox_count(party *p)
{
	pl_rc_conn *c;
	pl_rc_listing rl;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_open_relay(p->v, &c, &e), 0);
	assert_int_equal(pl_rc_fetch(c, pl_vault_identity(p->v), 0, &rl, &e), 0);
	size_t n = rl.list.count;
	pl_rc_listing_free(&rl);
	pl_rc_close(c);
	return n;
}

static void item_state(party *p, const char *contact, const uint8_t id[8], const char *want)
{
	pl_item *items;
	size_t n;
	pl_err e;
	int found = 0;
	assert_int_equal(pl_vault_item_list(p->v, contact, &items, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		if (items[i].dir == PL_DIR_OUT && memcmp(items[i].id, id, 8) == 0) {
			assert_string_equal(items[i].state, want);
			found = 1;
		}
	pl_vault_items_free(items, n);
	assert_true(found);
}

/* ---- acknowledgments ---------------------------------------------------- */

/* Bob's sync reads alice's note and deposits nothing into her mailbox;
 * his ack waits its random delay (1 to 15 minutes by default), so a sync
 * right after does not send it either; a note to alice carries it. */
static void test_ack_not_in_fetch_run_rides_with_note(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	uint8_t id[8], reply[8];
	send_note(&p->alice, "bob", "are you there", id, &r);
	assert_int_equal(mailbox_count(&p->alice), 0);
	uint64_t before = pl_now();
	pl_test_sync(p->bob.v, &r);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.acks_sent, 0);
	assert_int_equal(r.acks_waiting, 1);
	assert_int_equal(mailbox_count(&p->alice), 0); /* no deposit in the fetch's run */

	/* the ack is held back for a random 60..900 s */
	pl_outbox *ob;
	size_t n;
	pl_err e;
	assert_int_equal(pl_vault_outbox_list(p->bob.v, &ob, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ob[0].kind, PL_KIND_ACK);
	assert_true(ob[0].not_before >= before + (uint64_t)PL_MSGR_ACK_DELAY_MIN);
	assert_true(ob[0].not_before <= pl_now() + (uint64_t)PL_MSGR_ACK_DELAY_MAX);
	pl_vault_outbox_free(ob, n);

	pl_test_sync(p->bob.v, &r); /* not due: still nothing */
	assert_int_equal(r.acks_sent, 0);
	assert_int_equal(r.acks_waiting, 1);
	assert_int_equal(mailbox_count(&p->alice), 0);

	/* A note to alice: the ack, not due, goes with it. */
	send_note(&p->bob, "alice", "yes", reply, &r);
	assert_int_equal(r.acks_sent, 1);
	assert_int_equal(r.acks_waiting, 0);
	assert_int_equal(mailbox_count(&p->alice), 2);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.received, 1);
	item_state(&p->alice, "bob", id, "fetched");
}

/* With the delay at 0 (a vault counter, set through the library): still
 * not in the run of the fetch, but with the next command that delivers. */
static void test_due_ack_goes_with_next_sync(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	assert_int_equal(pl_vault_set_u64(p->bob.v, "ack_delay_max", 0, &e), 0);
	send_note(&p->alice, "bob", "first", id, &r);
	pl_test_sync(p->bob.v, &r);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.acks_sent, 0);
	assert_int_equal(mailbox_count(&p->alice), 0);
	pl_test_sync(p->alice.v, &r);
	item_state(&p->alice, "bob", id, "delivered");

	pl_test_sync(p->bob.v, &r);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.acks_sent, 1);
	assert_int_equal(r.acks_waiting, 0);
	assert_int_equal(mailbox_count(&p->alice), 1);
	pl_test_sync(p->alice.v, &r);
	item_state(&p->alice, "bob", id, "fetched");
}

/* ---- pending envelopes, opened once ------------------------------------- */

/* carol is nobody's contact; she deposits into alice's mailbox with the
 * token bob holds (as anyone who learns it could). */
static void stranger_sends(pair *p, party *carol, const char *text)
{
	pl_contact bc, cc;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(p->bob.v, "alice", &bc, &e), 0);
	if (!bc.has_token) { /* bob's first note fetches the token from alice's grant */
		uint8_t first[8];
		pl_sync_report r;
		send_note(&p->bob, "alice", "first", first, &r);
		pl_test_sync(p->alice.v, &r);
		assert_int_equal(r.received, 1);
		assert_int_equal(pl_vault_contact_get(p->bob.v, "alice", &bc, &e), 0);
	}
	assert_int_equal(bc.has_token, 1);
	memset(&cc, 0, sizeof cc);
	if (pl_vault_contact_get(carol->v, "alice", &cc, &e) != 0) {
		cc = bc;
		cc.verified = 1;
		cc.grant_published = 1;
		assert_int_equal(pl_vault_contact_put(carol->v, &cc, &e), 0);
	}
	sodium_memzero(&bc, sizeof bc);
	sodium_memzero(&cc, sizeof cc);
	uint8_t id[8];
	pl_sync_report r;
	send_note(carol, "alice", text, id, &r);
}

static void test_pending_opened_once(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	party carol;
	party_make_at(&carol, "carol", NULL, 1);
	pl_sync_report r;
	pl_err e;
	stranger_sends(p, &carol, "hello from carol");
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(r.pending_opened, 0);

	/* still a stranger: left sealed, however often alice syncs */
	for (int i = 0; i < 3; i++) {
		pl_test_sync(p->alice.v, &r);
		assert_int_equal(r.pending, 1);
		assert_int_equal(r.pending_opened, 0);
	}
	/* a contact, not verified: still not worth opening */
	add_contact(&p->alice, &carol, "carol", 0);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending_opened, 0);
	assert_int_equal(r.pending, 1);

	/* verified: opened once, read */
	add_contact(&p->alice, &carol, "carol", 1);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending_opened, 1);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.pending, 0);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending_opened, 0);
	(void)e;
	party_close(&carol);
}

/* A row an older vault kept has no sender: opened once more, its sender
 * recorded, then left alone. */
static void test_pending_legacy_row_opened_once(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	party carol;
	party_make_at(&carol, "carol", NULL, 1);
	pl_sync_report r;
	stranger_sends(p, &carol, "from before the upgrade");
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending, 1);
	pl_wr *envs;
	size_t n;
	pl_err e;
	assert_int_equal(pl_vault_pending_list(p->alice.v, &envs, &n, &e), 0);
	assert_int_equal(n, 1);
	uint8_t h[32];
	pl_sha256(h, envs[0].p, envs[0].n);
	/* as an older vault kept it: no sender */
	assert_int_equal(pl_vault_pending_remove(p->alice.v, h, &e), 0);
	assert_int_equal(pl_vault_pending_add(p->alice.v, h, envs[0].p, envs[0].n, &e), 0);
	pl_vault_pending_free(envs, n);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending_opened, 1);
	assert_int_equal(r.pending, 1);
	pl_test_sync(p->alice.v, &r);
	assert_int_equal(r.pending_opened, 0);
	party_close(&carol);
}

static void user_version_fn(sqlite3 *db, void *arg)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*(int *)arg = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
}

/* A vault of schema 1 (no not_before, no sender) opens, is migrated, and
 * keeps what it held; a wrong passphrase migrates nothing. */
static void test_schema1_vault_migrates(void **state)
{
	(void)state;
	if (relay.r.pid <= 0)
		skip();
	party a;
	party_make_at(&a, "old", NULL, 0);
	pl_err e;
	uint8_t h[32] = {1};
	assert_int_equal(pl_vault_pending_add(a.v, h, (const uint8_t *)"kept-env", 8, &e), 0);
	pl_vault_close(a.v);
	a.v = NULL;
	pl_test_vault_sql(a.dir, PL_TEST_PASS,
			  "ALTER TABLE outbox DROP COLUMN not_before;"
			  " ALTER TABLE pending DROP COLUMN sender;"
			  " ALTER TABLE contacts DROP COLUMN relay_url;"
			  " ALTER TABLE contacts DROP COLUMN relay_key;"
			  " ALTER TABLE contacts DROP COLUMN relay_ca;"
			  " ALTER TABLE contacts DROP COLUMN relay_time;"
			  " ALTER TABLE evidence DROP COLUMN relay_key;"
			  " DROP TABLE relay_history;"
			  " PRAGMA user_version = 1;");

	assert_int_equal(pl_vault_open(&a.v, a.dir, "wrong", 5, &e), -1);
	int ver = 0;
	pl_test_vault_edit(a.dir, PL_TEST_PASS, user_version_fn, &ver);
	assert_int_equal(ver, 1);

	if (pl_vault_open(&a.v, a.dir, PL_TEST_PASS, strlen(PL_TEST_PASS), &e) != 0)
		fail_msg("open of a schema 1 vault: %s", e.msg);
	assert_int_equal(pl_vault_pending_count(a.v), 1);
	pl_wr *envs;
	size_t n;
	assert_int_equal(pl_vault_pending_retryable(a.v, &envs, &n, &e), 0);
	assert_int_equal(n, 1); /* sender unknown: to be opened once */
	pl_vault_pending_free(envs, n);
	pl_vault_close(a.v);
	a.v = NULL;
	pl_test_vault_edit(a.dir, PL_TEST_PASS, user_version_fn, &ver);
	assert_int_equal(ver, 2);
	party_close(&a);
}

/* ---- the proxy ---------------------------------------------------------- */

static void test_proxy_addresses(void **state)
{
	(void)state;
	pl_err e;
	static const char *const good[] = {"socks5h://127.0.0.1:9050", "socks5h://tor.lan:9150",
					   "socks5h://[::1]:9050"};
	static const char *const bad[] = {"http://127.0.0.1:8080",
					  "https://proxy:443",
					  "socks4://127.0.0.1:9050",
					  "socks5h://127.0.0.1",
					  "socks5h://127.0.0.1:0",
					  "socks5h://127.0.0.1:70000",
					  "socks5h://u:p@127.0.0.1:9050",
					  "socks5h://h:9050/path",
					  "socks5h://:9050",
					  "socks5h://h:9x",
					  "socks5h://h :9050",
					  "",
					  "socks5h://[zz]:9050",
					  "SOCKS5H://127.0.0.1:9050",
					  "socks5h1\n.",
					  "socks5h://h:1\n"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(pl_rc_proxy_check(good[i], &e), 0);
	assert_int_equal(pl_rc_proxy_check("socks5://127.0.0.1:9050", &e), 1);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		pl_err_clear(&e);
		if (pl_rc_proxy_check(bad[i], &e) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(e.code, PL_EXIT_USAGE);
		assert_null(strchr(e.msg, '\n'));
	}
}

/* Two vaults that know the relay only by a name the proxy resolves. */
static void hidden_pair(pair *p, const char *proxy)
{
	char url[96];
	pl_err e;
	snprintf(url, sizeof url, "http://" HIDDEN ":%u", relay.r.port);
	party *ps[2] = {&p->alice, &p->bob};
	const char *names[2] = {"alice", "bob"};
	for (int i = 0; i < 2; i++) {
		party_make_at(ps[i], names[i], url, 0);
		assert_int_equal(pl_vault_allow_relay_plain_http(ps[i]->v, &e), 0);
		assert_int_equal(pl_vault_set_relay_proxy(ps[i]->v, proxy, &e), 0);
		if (pl_msgr_publish(ps[i]->v, &e) != 0)
			fail_msg("publish through the proxy: %s", e.msg);
	}
	add_contact(&p->alice, &p->bob, "bob", 1);
	add_contact(&p->bob, &p->alice, "alice", 1);
}

static void test_sync_and_send_through_proxy(void **state)
{
	(void)state;
	if (relay.r.pid <= 0)
		skip();
	char proxy[64];
	socks_start();
	snprintf(proxy, sizeof proxy, "socks5h://127.0.0.1:%u", px.port);
	pair p;
	memset(&p, 0, sizeof p);
	hidden_pair(&p, proxy);
	size_t c0 = socks_conns();
	assert_true(c0 >= 4); /* each publish: its own connection(s) */

	pl_sync_report r;
	uint8_t id[8];
	send_note(&p.alice, "bob", "through the proxy", id, &r);
	size_t c1 = socks_conns();
	/* one to pin and audit, one for the deposits to bob */
	assert_true(c1 >= c0 + 2);
	pl_test_sync(p.bob.v, &r);
	assert_int_equal(r.received, 1);
	assert_true(socks_conns() > c1);
	pthread_mutex_lock(&px.mu);
	assert_int_equal(px.refused, 0);
	assert_int_equal(px.by_name, px.conns); /* socks5h: the proxy resolved every name */
	pthread_mutex_unlock(&px.mu);
	assert_isolated();

	/* without the proxy for this run the relay's name does not resolve:
	 * nothing above could have gone around it */
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_use_proxy(p.bob.v, "none", &e), 0);
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_sync(p.bob.v, &pl_nego_objects, &r, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);

	/* a proxy does not make plain http:// to another computer acceptable */
	party q;
	char url[96];
	snprintf(url, sizeof url, "http://" HIDDEN ":%u", relay.r.port);
	party_make_at(&q, "plain", url, 0);
	assert_int_equal(pl_vault_set_relay_proxy(q.v, proxy, &e), 0);
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_publish(q.v, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	party_close(&q);

	party_close(&p.alice);
	party_close(&p.bob);
	socks_stop();
}

/* ---- the CLI through the proxy ----------------------------------------- */

/* Runs `parley --vault DIR ARGS...` with the test passphrase, stdout and
 * stderr into files under relay.dir; returns its exit code. */
static int run_parley(const char *vault, const char *const *args, char *err, size_t errcap)
{
	char bin[PATH_MAX], out[256], errp[256];
	const char *relay_bin = pl_test_relay_bin(NULL);
	assert_non_null(relay_bin);
	snprintf(bin, sizeof bin, "%s", relay_bin);
	char *dash = strrchr(bin, '-');
	assert_non_null(dash);
	*dash = '\0'; /* .../parley-relay -> .../parley */
	snprintf(out, sizeof out, "%s/cli.out", relay.dir);
	snprintf(errp, sizeof errp, "%s/cli.err", relay.dir);
	const char *argv[16] = {bin, "--vault", vault};
	size_t k = 3;
	for (size_t i = 0; args[i] && k < 15; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int x = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || x < 0)
			_exit(127);
		dup2(o, 1);
		dup2(x, 2);
		setenv("PARLEY_PASSPHRASE", PL_TEST_PASS, 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int st = pl_test_wait(pid, 60000);
	assert_true(st >= 0 && WIFEXITED(st));
	size_t n = 0;
	uint8_t *e = pl_test_read_file(errp, &n);
	snprintf(err, errcap, "%s", e ? (const char *)e : "");
	free(e);
	unlink(out);
	unlink(errp);
	return WEXITSTATUS(st);
}

static int one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return strncmp(s, "parley: ", 8) == 0 && nl != NULL && nl[1] == '\0';
}

static void test_cli_through_proxy(void **state)
{
	(void)state;
	if (relay.r.pid <= 0)
		skip();
	char proxy[64], err[2048];
	socks_start();
	snprintf(proxy, sizeof proxy, "socks5h://127.0.0.1:%u", px.port);
	pair p;
	memset(&p, 0, sizeof p);
	hidden_pair(&p, proxy);
	pl_err e;
	/* the vaults keep no proxy: only --proxy leads to the relay */
	assert_int_equal(pl_vault_set_relay_proxy(p.alice.v, NULL, &e), 0);
	assert_int_equal(pl_vault_set_relay_proxy(p.bob.v, NULL, &e), 0);
	pl_vault_close(p.alice.v);
	pl_vault_close(p.bob.v);
	p.alice.v = p.bob.v = NULL;

	size_t c0 = socks_conns();
	const char *send[] = {"--proxy", proxy, "send", "bob", "over the proxy", NULL};
	assert_int_equal(run_parley(p.alice.dir, send, err, sizeof err), 0);
	size_t c1 = socks_conns();
	assert_true(c1 >= c0 + 2);
	const char *sync[] = {"sync", "--proxy", proxy, NULL}; /* after the command too */
	assert_int_equal(run_parley(p.bob.dir, sync, err, sizeof err), 0);
	assert_true(socks_conns() > c1);
	pthread_mutex_lock(&px.mu);
	assert_int_equal(px.refused, 0);
	pthread_mutex_unlock(&px.mu);
	assert_isolated();
	const char *direct[] = {"sync", NULL};
	assert_int_equal(run_parley(p.bob.dir, direct, err, sizeof err), PL_EXIT_NETWORK);

	/* a bad proxy address: refused before anything, one line */
	const char *bad[] = {"--proxy", "http://127.0.0.1:3128", "sync", NULL};
	assert_int_equal(run_parley(p.bob.dir, bad, err, sizeof err), PL_EXIT_USAGE);
	assert_true(one_line(err));
	assert_non_null(strstr(err, "socks5h://"));

	/* a dead proxy: a network error saying the proxy could not be reached */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s); /* nothing listens there now */
	char dead[64];
	snprintf(dead, sizeof dead, "socks5h://127.0.0.1:%u", ntohs(sa.sin_port));
	const char *down[] = {"--proxy", dead, "sync", NULL};
	assert_int_equal(run_parley(p.bob.dir, down, err, sizeof err), PL_EXIT_NETWORK);
	assert_true(one_line(err));
	assert_non_null(strstr(err, "proxy"));
	assert_non_null(strstr(err, "could not be reached"));

	/* relay proxy stores it; none forgets it */
	const char *set[] = {"relay", "proxy", proxy, NULL};
	assert_int_equal(run_parley(p.bob.dir, set, err, sizeof err), 0);
	assert_int_equal(run_parley(p.bob.dir, direct, err, sizeof err), 0);
	const char *unset[] = {"relay", "proxy", "none", NULL};
	assert_int_equal(run_parley(p.bob.dir, unset, err, sizeof err), 0);
	assert_int_equal(run_parley(p.bob.dir, direct, err, sizeof err), PL_EXIT_NETWORK);
	const char *setbad[] = {"relay", "proxy", "socks4://127.0.0.1:1080", NULL};
	assert_int_equal(run_parley(p.bob.dir, setbad, err, sizeof err), PL_EXIT_USAGE);
	assert_true(one_line(err));
	/* socks5:// works, with a warning that names leak */
	char leaky[64];
	snprintf(leaky, sizeof leaky, "socks5://127.0.0.1:%u", px.port);
	const char *warn[] = {"--proxy", leaky, "id", NULL};
	assert_int_equal(run_parley(p.bob.dir, warn, err, sizeof err), 0);
	assert_non_null(strstr(err, "DNS"));

	party_close(&p.alice);
	party_close(&p.bob);
	socks_stop();
}

int main(int argc, char **argv)
{
	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ack_not_in_fetch_run_rides_with_note, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_due_ack_goes_with_next_sync, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_opened_once, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_legacy_row_opened_once, pair_setup,
					    pair_teardown),
	    cmocka_unit_test(test_schema1_vault_migrates),
	    cmocka_unit_test(test_proxy_addresses),
	    cmocka_unit_test(test_sync_and_send_through_proxy),
	    cmocka_unit_test(test_cli_through_proxy),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
