/*
 * cmd_demo.c — `parley demo`: the situation of the seed article played for
 * real. It starts the real parley-relay (the binary beside this one) on a
 * free loopback port, creates vaults for the United States, Iran and
 * Switzerland (the protecting power) in a temporary folder, and drives the
 * same library code the CLI uses, narrating each step. Every step is checked;
 * the demo exits 0 only if all of them verified. It removes what it made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "envelope/envelope.h"
#include "util/codec.h"

#define NPARTY 3

typedef struct {
	const char *name;
	char dir[PATH_MAX + 64];
	char pass[33];
	pl_vault *v;
} party;

typedef struct {
	char tmp[PATH_MAX];
	pid_t relay;
	char url[64];
	party p[NPARTY];
	int failed;
} demo;

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int step_fail(demo *d, const char *what, const pl_err *e)
{
	fprintf(stderr, "parley: demo step failed: %s: %s\n", what,
		e && e->msg[0] ? e->msg : "check failed");
	d->failed = 1;
	return -1;
}

static int start_relay(demo *d, pl_err *e)
{
	char self[PATH_MAX], relay[PATH_MAX + 16], data[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot find my own binary");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(relay, sizeof relay, "%s/parley-relay", self);
	snprintf(data, sizeof data, "%s/relay", d->tmp);
	if (access(relay, X_OK) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "parley-relay is not beside parley (%s); build "
						    "both with make",
				  relay);
	int fds[2];
	if (pipe(fds) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return pl_err_set(e, PL_EXIT_ERROR, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		execl(relay, relay, "--listen", "127.0.0.1:0", "--data", data, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	d->relay = pid;
	FILE *f = fdopen(fds[0], "r");
	char line[128];
	int port = 0;
	if (f && fgets(line, sizeof line, f) && sscanf(line, "listening on 127.0.0.1:%d", &port) == 1 &&
	    port > 0) {
		snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", port);
		fclose(f); /* the relay writes nothing more to stdout */
		return 0;
	}
	if (f)
		fclose(f);
	return pl_err_set(e, PL_EXIT_ERROR, "the relay did not start");
}

static void stop_relay(demo *d)
{
	if (d->relay <= 0)
		return;
	kill(d->relay, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(d->relay, NULL, WNOHANG) == d->relay) {
			d->relay = 0;
			return;
		}
		usleep(100000);
	}
	kill(d->relay, SIGKILL);
	waitpid(d->relay, NULL, 0);
	d->relay = 0;
}

static void remove_tree(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int make_party(demo *d, party *p, pl_err *e)
{
	uint8_t r[16];
	randombytes_buf(r, sizeof r);
	pl_hex_encode(p->pass, r, sizeof r);
	size_t tl = strlen(d->tmp), nl = strlen(p->name);
	if (tl + 1 + nl >= sizeof p->dir)
		return pl_err_set(e, PL_EXIT_ERROR, "the temporary folder's path is too long");
	memcpy(p->dir, d->tmp, tl);
	p->dir[tl] = '/';
	memcpy(p->dir + tl + 1, p->name, nl + 1);
	if (pl_vault_create(p->dir, p->name, d->url, NULL, 0, p->pass, strlen(p->pass), e) != 0)
		return -1;
	if (pl_vault_open(&p->v, p->dir, p->pass, strlen(p->pass), e) != 0)
		return -1;
	return pl_msgr_publish(p->v, e);
}

/* The Vienna meeting: both sides add each other and compare safety numbers. */
static int meet(demo *d, party *a, party *b, pl_err *e)
{
	pl_contact ca, cb;
	memset(&ca, 0, sizeof ca);
	memset(&cb, 0, sizeof cb);
	snprintf(ca.name, sizeof ca.name, "%s", b->name);
	memcpy(ca.ik, pl_vault_identity(b->v)->pk, PL_IK_LEN);
	snprintf(cb.name, sizeof cb.name, "%s", a->name);
	memcpy(cb.ik, pl_vault_identity(a->v)->pk, PL_IK_LEN);
	char sa[PL_SAFETY_LEN], sb[PL_SAFETY_LEN];
	pl_safety_number(sa, pl_vault_identity(a->v)->pk, ca.ik);
	pl_safety_number(sb, pl_vault_identity(b->v)->pk, cb.ik);
	say("    %-12s reads: %s", a->name, sa);
	say("    %-12s reads: %s", b->name, sb);
	if (strcmp(sa, sb) != 0 || pl_safety_number_check(sb, pl_vault_identity(a->v)->pk, ca.ik) != 0)
		return step_fail(d, "safety numbers differ", NULL);
	ca.verified = cb.verified = 1;
	ca.added = cb.added = pl_now();
	if (pl_vault_contact_put(a->v, &ca, e) != 0 || pl_vault_contact_put(b->v, &cb, e) != 0)
		return -1;
	if (pl_msgr_publish(a->v, e) != 0 || pl_msgr_publish(b->v, e) != 0)
		return -1;
	say("    the numbers match: each side pins the other's key as verified.");
	return 0;
}

static int send_note(demo *d, party *from, party *to, const char *text, pl_err *e)
{
	uint8_t id[8];
	int64_t seq;
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	if (pl_msgr_queue(from->v, to->name, PL_KIND_NOTE, (const uint8_t *)text, strlen(text), id,
			  &seq, e) != 0 ||
	    pl_msgr_deliver(from->v, &r, e) != 0)
		return -1;
	if (r.delivered != 1)
		return step_fail(d, "the relay did not acknowledge the note", NULL);
	say("  %s -> %s: \"%s\"", from->name, to->name, text);
	say("    sealed, padded and deposited; the relay signed a receipt (it saw only "
	    "%s's mailbox and a padded size).",
	    to->name);
	return 0;
}

static int fetch(demo *d, party *p, unsigned expect, pl_err *e)
{
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	if (pl_msgr_sync(p->v, &r, e) != 0)
		return -1;
	if (r.received != expect || r.rejected != 0)
		return step_fail(d, "unexpected number of received items", NULL);
	say("    %s fetched %u item(s); each decrypted and authenticated under the pinned key.",
	    p->name, r.received);
	return 0;
}

static int run(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	say("parley demo — a back-channel between two governments with no diplomatic relations.");
	say("");
	say("Setting: the United States wants to negotiate the release of detainees held in "
	    "Iran;");
	say("Iran says it is ready to talk about a swap. Switzerland, the protecting power, is "
	    "the mediator.");
	say("");
	if (start_relay(d, e) != 0)
		return -1;
	say("A relay runs at %s. It is untrusted: it stores sealed envelopes and learns", d->url);
	say("nothing but a recipient mailbox and padded sizes.");
	say("");
	for (int i = 0; i < NPARTY; i++)
		if (make_party(d, &d->p[i], e) != 0)
			return -1;
	say("1. Vienna. Each office creates its vault: an Ed25519 identity kept encrypted "
	    "under a passphrase.");
	for (int i = 0; i < NPARTY; i++) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, pl_vault_identity(d->p[i].v)->pk);
		say("    %-12s fingerprint %s", d->p[i].name, fp);
	}
	say("  At the meeting the delegations exchange keys and read their safety numbers aloud:");
	if (meet(d, us, ir, e) != 0 || meet(d, us, ch, e) != 0 || meet(d, ir, ch, e) != 0)
		return -1;
	say("");
	say("2. The channel is used.");
	if (send_note(d, us, ir,
		      "The United States would like to open a direct channel on the detainees.",
		      e) != 0 ||
	    fetch(d, ir, 1, e) != 0)
		return -1;
	if (send_note(d, ir, us, "Iran is ready to discuss an exchange.", e) != 0 ||
	    fetch(d, us, 1, e) != 0)
		return -1;
	say("");
	say("3. What each side's vault now holds for the thread:");
	pl_item *items;
	size_t n;
	if (pl_vault_item_list(us->v, ir->name, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char when[PL_RFC3339_LEN];
		pl_time_rfc3339(when, items[i].time);
		say("    %s  %-14s %-10s %.*s", when,
		    items[i].dir == PL_DIR_OUT ? us->name : ir->name, items[i].state,
		    (int)items[i].body.n, (const char *)items[i].body.p);
	}
	pl_vault_items_free(items, n);
	if (n != 2)
		return step_fail(d, "the thread should hold two notes", NULL);
	(void)ch;
	say("");
	say("Every step verified.");
	return 0;
}

int pl_cmd_demo(pl_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("demo", "demo takes no arguments");
	demo d;
	memset(&d, 0, sizeof d);
	d.p[0].name = "United States";
	d.p[1].name = "Iran";
	d.p[2].name = "Switzerland";
	const char *base = getenv("TMPDIR");
	snprintf(d.tmp, sizeof d.tmp, "%s/parley-demo.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(d.tmp) == NULL) {
		fprintf(stderr, "parley: cannot create a temporary folder: %s\n", strerror(errno));
		return PL_EXIT_ERROR;
	}
	pl_err e;
	pl_err_clear(&e);
	int rc = run(&d, &e);
	for (int i = 0; i < NPARTY; i++)
		if (d.p[i].v)
			pl_vault_close(d.p[i].v);
	stop_relay(&d);
	remove_tree(d.tmp);
	if (rc != 0) {
		if (!d.failed)
			pl_cli_fail(&e);
		return e.code ? e.code : PL_EXIT_ERROR;
	}
	return PL_EXIT_OK;
}
