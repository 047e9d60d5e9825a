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
#include "cli/render.h"
#include "client/messenger.h"
#include "client/guarantee.h"
#include "client/match.h"
#include "client/nego.h"
#include "client/plan.h"
#include "client/prove.h"
#include "export/agreement.h"
#include "export/document.h"
#include "export/outreach.h"
#include "log/leaf.h"
#include "envelope/envelope.h"
#include "util/codec.h"
#include "util/file.h"

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
	/* what one scene hands the next: the case ids each side filed, Iran's
	 * proposal and the counter both sides end up signing */
	int64_t us_namazi, us_wang, us_sheikh, ir_sheikh, ir_namazi;
	uint8_t proposal[8], counter[8], plan[8];
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
		return pl_err_set(e, PL_EXIT_ERROR,
				  "parley-relay is not beside parley (%s); build "
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
	if (f && fgets(line, sizeof line, f) &&
	    sscanf(line, "listening on 127.0.0.1:%d", &port) == 1 && port > 0) {
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
	/* A random 128-bit passphrase gains nothing from Argon2id's cost, and
	 * these vaults are deleted when the story ends. */
	if (pl_vault_create_cost(p->dir, p->name, d->url, NULL, 0, p->pass, strlen(p->pass),
				 PL_VAULT_KDF_TEST_ONLY, e) != 0)
		return -1;
	if (pl_vault_open(&p->v, p->dir, p->pass, strlen(p->pass), e) != 0)
		return -1;
	/* The story runs in seconds: acknowledgments are due at once (they
	 * still go out only with a later command than the fetch). */
	if (pl_vault_set_u64(p->v, "ack_delay_max", 0, e) != 0)
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
	say("    %-14s reads: %s", a->name, sa);
	say("    %-14s reads: %s", b->name, sb);
	if (strcmp(sa, sb) != 0 ||
	    pl_safety_number_check(sb, pl_vault_identity(a->v)->pk, ca.ik) != 0)
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

/* Delivers what `from` queued; the relay must acknowledge all of it. */
static int deliver(demo *d, party *from, pl_err *e)
{
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	if (pl_msgr_deliver(from->v, &r, e) != 0)
		return -1;
	if (r.queued != 0)
		return step_fail(d, "the relay did not acknowledge every item", NULL);
	return 0;
}

static int fetch(demo *d, party *p, unsigned expect, pl_err *e)
{
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	if (pl_msgr_sync(p->v, &pl_nego_objects, &r, e) != 0)
		return -1;
	if (r.received != expect || r.rejected != 0)
		return step_fail(d, "unexpected number of received items", NULL);
	return 0;
}

/* The state of item `id` in p's vault must be `want`. */
static int expect_state(demo *d, party *p, const uint8_t id[8], const char *want, pl_err *e)
{
	pl_item it;
	if (pl_nego_find(p->v, id, &it, e) != 0)
		return -1;
	json_t *j = pl_cli_item_json(p->v, &it, pl_now());
	const char *st = json_string_value(json_object_get(j, "state"));
	int ok = st && strcmp(st, want) == 0;
	if (!ok) {
		char what[128];
		snprintf(what, sizeof what, "%s expected state %s, found %s", p->name, want,
			 st ? st : "none");
		json_decref(j);
		pl_vault_item_free(&it);
		return step_fail(d, what, NULL);
	}
	json_decref(j);
	pl_vault_item_free(&it);
	return 0;
}

static int64_t add_case(party *p, const char *name, const char *held_by, const char *nat,
			const char *born, const char *notes, int priority, pl_err *e)
{
	pl_case c;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	snprintf(c.held_by, sizeof c.held_by, "%s", held_by);
	snprintf(c.nationality, sizeof c.nationality, "%s", nat);
	snprintf(c.born, sizeof c.born, "%s", born);
	/* the humanitarian facts the office chooses to share; the priority
	 * stays in its vault */
	snprintf(c.summary, sizeof c.summary, "%s", notes);
	c.priority = priority;
	return pl_vault_case_add(p->v, &c, e) == 0 ? c.id : -1;
}

static const char *party_of(demo *d, const uint8_t ik[32])
{
	for (int i = 0; i < NPARTY; i++)
		if (sodium_memcmp(pl_vault_identity(d->p[i].v)->pk, ik, 32) == 0)
			return d->p[i].name;
	return "an unknown key";
}

static void release_table(demo *d, const pl_agreement_summary *s)
{
	const pl_proposal *p = &s->proposal.u.proposal;
	const char *proposer = party_of(d, s->proposer_ik), *accepter = party_of(d, s->accepter_ik);
	say("  %-28s %-15s %-15s", "person", "released by", "to");
	say("  %-28s %-15s %-15s", "----------------------------", "---------------",
	    "---------------");
	for (size_t i = 0; i < p->n_author; i++)
		say("  %-28s %-15s %-15s", p->author[i].name, proposer, accepter);
	for (size_t i = 0; i < p->n_recipient; i++)
		say("  %-28s %-15s %-15s", p->recipient[i].name, accepter, proposer);
	say("  place: %s; sequencing: %s; mediator: %s", p->place[0] ? p->place : "not set",
	    pl_obj_sequencing_to_str(p->sequencing), p->has_mediator ? p->mediator_name : "none");
}

/* The United States proves its outreach; Switzerland checks the bundle
 * offline against the relay key it pinned itself. */
static int prove_outreach(demo *d, party *us, party *ir, party *ch, pl_err *e)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/outreach-proof.json", d->tmp);
	pl_prove_report pr;
	memset(&pr, 0, sizeof pr);
	if (pl_prove_outreach(us->v, ir->name, path, &pr, e) != 0)
		return -1;
	say("    The United States bundles a proof of outreach (no content, only what the");
	say("    relay's signed log shows) and hands it to Switzerland, which checks it offline");
	say("    against the relay key it pinned itself:");
	uint8_t rpk[32];
	char vkey[PL_NOTE_VKEY_MAX];
	if (pl_vault_relay_key(ch->v, rpk) != 0 || pl_leaf_log_vkey_string(vkey, rpk) != 0)
		return step_fail(d, "Switzerland has no relay key pinned", NULL);
	uint8_t *buf;
	size_t n;
	if (pl_file_read(path, PL_EXPORT_FILE_MAX, &buf, &n, e) != 0)
		return -1;
	pl_outreach_summary s;
	memset(&s, 0, sizeof s);
	uint8_t expect[1][PL_IK_LEN];
	memcpy(expect[0], pl_vault_identity(us->v)->pk, PL_IK_LEN);
	int rc =
	    pl_outreach_proof_verify(&s, buf, n, vkey, (const uint8_t(*)[PL_IK_LEN])expect, 1, e);
	free(buf);
	if (rc != 0)
		return -1;
	if (s.n_deposits != 4 || s.n_fetched != 4 || s.replies_received != 0) {
		pl_outreach_summary_free(&s);
		return step_fail(d, "the proof should show four deposits, all fetched, no reply",
				 NULL);
	}
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem = open_memstream(&text, &tlen);
	if (mem) {
		pl_outreach_summary_print(mem, &s);
		fclose(mem);
		char *line = text, *nl;
		while (line && *line && (nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			say("      %s", line);
			line = nl + 1;
		}
		free(text);
	}
	pl_outreach_summary_free(&s);
	return 0;
}

/* The situation of the seed article, before any key exists. */
static void scene_situation(void)
{
	say("parley demo — a back-channel between two governments with no diplomatic relations.");
	say("");
	say("The situation: the United States wants the release of Americans detained in Iran,");
	say("among them Xiyue Wang and Baquer Namazi, 81, returned to prison after an emergency");
	say("pacemaker. Iran says it is ready for a swap and names Ahmad Sheikhzadeh, held in the");
	say("United States, as its top priority. Each side says the other will not engage.");
	say("Switzerland, the protecting power, is the mediator both accept.");
	say("");
}

/* The relay comes up and each office creates its vault. */
static int scene_setup(demo *d, pl_err *e)
{
	if (start_relay(d, e) != 0)
		return -1;
	say("A relay runs at %s. It is untrusted: it stores sealed envelopes and learns", d->url);
	say("only a recipient mailbox and padded sizes, never the sender or a word of content.");
	say("");
	for (int i = 0; i < NPARTY; i++)
		if (make_party(d, &d->p[i], e) != 0)
			return -1;
	say("1. Vienna. Each office creates its vault: an Ed25519 identity kept encrypted "
	    "under a passphrase.");
	for (int i = 0; i < NPARTY; i++) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, pl_vault_identity(d->p[i].v)->pk);
		say("    %-14s fingerprint %s", d->p[i].name, fp);
	}
	return 0;
}

/* Vienna: every pair of delegations compares safety numbers in person. */
static int scene_meeting(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	say("   At the meeting the delegations exchange keys and read their safety numbers aloud:");
	if (meet(d, us, ir, e) != 0 || meet(d, us, ch, e) != 0 || meet(d, ir, ch, e) != 0)
		return -1;
	return 0;
}

/* Each side files the detainees it cares about; the later scenes name them
 * by these ids. All five are filed before any failure is looked at. */
static int scene_case_files(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1];
	d->us_namazi = add_case(us, "Baquer Namazi", "Iran", "US,Iran", "1936",
				"81; emergency pacemaker; medical examiner advised 3 months "
				"leave",
				95, e);
	d->us_wang = add_case(us, "Xiyue Wang", "Iran", "US", "", "", 90, e);
	d->us_sheikh = add_case(us, "Ahmad Sheikhzadeh", "United States", "Iran,US", "", "", 40, e);
	d->ir_sheikh = add_case(ir, "Ahmad Sheikhzadeh", "United States", "Iran", "", "", 100, e);
	d->ir_namazi = add_case(ir, "Baquer Namazi", "Iran", "Iran,US", "1936", "", 20, e);
	if (d->us_namazi < 0 || d->us_wang < 0 || d->us_sheikh < 0 || d->ir_sheikh < 0 ||
	    d->ir_namazi < 0)
		return -1;
	say("");
	say("   Each side keeps its own case file of detainees, sealed in its vault.");
	say("");
	return 0;
}

/* Four outreaches, all fetched, none answered; then the proof of it. */
static int scene_unanswered_outreach(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	static const char *topics[] = {
	    "December: a direct channel on the detainees held by both countries",
	    "January: renewed invitation to discuss the detainees",
	    "February: we remain ready to meet, at a place of your choosing",
	    "March: a further invitation; the families are waiting"};
	uint8_t outreach[4][8];
	int64_t seq;
	say("2. December: the United States reaches out. Then three more times.");
	for (int i = 0; i < 4; i++) {
		if (pl_nego_outreach(us->v, ir->name, topics[i], outreach[i], &seq, e) != 0 ||
		    deliver(d, us, e) != 0)
			return -1;
		say("    outreach %d deposited with a relay receipt: \"%s\"", i + 1, topics[i]);
	}
	if (fetch(d, ir, 4, e) != 0 || deliver(d, ir, e) != 0 || fetch(d, us, 0, e) != 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (expect_state(d, us, outreach[i], "fetched", e) != 0)
			return -1;
	say("    Iran fetched all four (each acknowledged, so the United States sees them as");
	say("    'fetched'), and answered none.");
	if (prove_outreach(d, us, ir, ch, e) != 0)
		return -1;
	say("");
	return 0;
}

/* A humanitarian request travels apart from any exchange, and is granted. */
static int scene_humanitarian_request(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1];
	uint8_t req[8], ans[8];
	int64_t seq;
	say("3. A humanitarian request, on its own track: medical leave for Baquer Namazi.");
	if (pl_nego_request(us->v, ir->name, d->us_namazi, PL_REQ_MEDICAL_LEAVE, PL_URG_CRITICAL,
			    "He is 81 and has an emergency pacemaker; your medical examiner "
			    "recommended three months of leave.",
			    req, &seq, e) != 0 ||
	    deliver(d, us, e) != 0 || fetch(d, ir, 1, e) != 0)
		return -1;
	say("    The United States sends a signed request, urgency critical.");
	if (pl_nego_answer(ir->v, req, PL_DECISION_GRANT, "Three months of medical leave granted.",
			   ans, &seq, e) != 0 ||
	    deliver(d, ir, e) != 0 || fetch(d, us, 1, e) != 0 ||
	    expect_state(d, us, req, "granted", e) != 0)
		return -1;
	say("    Iran answers with a signed grant: three months of medical leave.");
	say("");
	return 0;
}

/* Syncs both sides, in turn, until match id is done on both (at most
 * four rounds); the result on p is left in *res (owned). */
static int match_rounds(demo *d, party *a, party *b, const uint8_t id[static PL_MATCH_ID_LEN],
			json_t **ra, json_t **rb, pl_err *e)
{
	*ra = *rb = NULL;
	for (int round = 0; round < 4; round++) {
		pl_sync_report r;
		pl_nego_report nr;
		party *both[2] = {a, b};
		for (int i = 0; i < 2; i++) {
			memset(&r, 0, sizeof r);
			if (pl_nego_sync(both[i]->v, &r, &nr, e) != 0)
				return -1;
		}
		json_decref(*ra);
		json_decref(*rb);
		*ra = *rb = NULL;
		if (pl_match_show(a->v, id, ra, NULL, e) != 0 ||
		    pl_match_show(b->v, id, rb, NULL, e) != 0)
			return -1;
		if (strcmp(json_string_value(json_object_get(*ra, "state")), "done") == 0 &&
		    strcmp(json_string_value(json_object_get(*rb, "state")), "done") == 0)
			return 0;
	}
	json_decref(*ra);
	json_decref(*rb);
	*ra = *rb = NULL;
	return step_fail(d, "the blind match did not finish", NULL);
}

/* Nobody moves first: a blind intent match, then a private count. */
static int scene_blind_match(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1];
	uint8_t id[PL_MATCH_ID_LEN], id2[PL_MATCH_ID_LEN];
	json_t *ra, *rb;
	const char *topic = "ready to negotiate a swap of detainees";
	say("4. \"It takes two to tango\": each side says it is ready and the other is not");
	say("    engaging. Blind matching: each answers privately; only a shared yes shows.");
	pl_match_input in = {.kind = PL_MATCH_INTENT, .label = topic, .max = 1, .answer = 1};
	if (pl_match_start(us->v, ir->name, &in, id, NULL, NULL, e) != 0 ||
	    deliver(d, us, e) != 0 ||
	    pl_match_start(ir->v, us->name, &in, id2, NULL, NULL, e) != 0 ||
	    deliver(d, ir, e) != 0 || match_rounds(d, us, ir, id, &ra, &rb, e) != 0)
		return -1;
	int both = strcmp(json_string_value(json_object_get(ra, "result")), "match") == 0 &&
		   strcmp(json_string_value(json_object_get(rb, "result")), "match") == 0;
	json_decref(ra);
	json_decref(rb);
	if (!both)
		return step_fail(d, "the intent match did not match", NULL);
	say("    Both answered yes to \"%s\" (commitment, blinded", topic);
	say("    answer, sealed statement: ECDH on ristretto255 through the relay). Both learn");
	say("    MATCH, and each holds the other's signed commitment to talk. Had either said no,");
	say("    a side that said yes would learn only \"no match\", and the other nothing.");
	/* Fictional passport numbers: ISS:DOC, the person identifier both
	 * sides compute alike (docs/MATCH.md). */
	static char seek[4][PL_PERSON_ID_MAX + 1] = {"IRN:S1000001", "IRN:S1000002", "IRN:S1000003",
						     "IRN:S1000004"};
	static char held[5][PL_PERSON_ID_MAX + 1] = {"IRN:S1000001", "IRN:S1000003", "IRN:S2000007",
						     "IRN:S2000008", "IRN:S2000009"};
	pl_match_input si = {
	    .kind = PL_MATCH_COUNT, .label = "Iranians sought", .max = 64, .ids = seek, .n = 4};
	pl_match_input hi = {
	    .kind = PL_MATCH_COUNT, .label = "Iranians sought", .max = 64, .ids = held, .n = 5};
	if (pl_match_start(ir->v, us->name, &si, id, NULL, NULL, e) != 0 ||
	    deliver(d, ir, e) != 0 ||
	    pl_match_start(us->v, ir->name, &hi, id2, NULL, NULL, e) != 0 ||
	    deliver(d, us, e) != 0 || match_rounds(d, ir, us, id, &ra, &rb, e) != 0)
		return -1;
	json_int_t n = json_integer_value(json_object_get(ra, "result"));
	int same = n == json_integer_value(json_object_get(rb, "result"));
	json_decref(ra);
	json_decref(rb);
	if (!same || n != 2)
		return step_fail(d, "the private count is wrong", NULL);
	say("    A private count: Iran lists the 4 nationals it would seek, the United States the");
	say("    5 Iranians it holds (passport numbers). Both learn %lld: how many of Iran's list",
	    (long long)n);
	say("    the United States holds, and nothing about which.");
	say("");
	return 0;
}

/* Item `id` as p's inbox and thread show it: every term, parties named. */
static int show_item(party *p, const uint8_t id[8], pl_err *e)
{
	pl_item it;
	if (pl_nego_find(p->v, id, &it, e) != 0)
		return -1;
	say("    What %s sees (parley thread):", p->name);
	pl_cli_item_print(p->v, &it, pl_now());
	pl_vault_item_free(&it);
	fflush(stdout);
	return 0;
}

/* Iran's opening offer: one for one, in Vienna. */
static int scene_proposal(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1];
	pl_nego_terms t;
	int64_t seq;
	say("5. Iran proposes a swap.");
	memset(&t, 0, sizeof t);
	t.we[t.n_we++] = d->ir_namazi;
	t.they[t.n_they++] = d->ir_sheikh;
	t.place = "Vienna";
	t.sequencing = PL_SEQ_SIMULTANEOUS;
	t.expires_in = 14 * 86400;
	if (pl_nego_propose(ir->v, us->name, &t, d->proposal, &seq, e) != 0 ||
	    deliver(d, ir, e) != 0 || fetch(d, us, 1, e) != 0)
		return -1;
	say("    Iran proposes, signed: it releases Baquer Namazi, the United States releases its");
	say("    top priority, Ahmad Sheikhzadeh; simultaneous exchange in Vienna.");
	return show_item(us, d->proposal, e);
}

/* The United States asks for both of its people, in Geneva, mediated. */
static int scene_counter(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	pl_nego_terms t;
	int64_t seq;
	memset(&t, 0, sizeof t);
	t.we[t.n_we++] = d->us_sheikh;
	t.they[t.n_they++] = d->us_namazi;
	t.they[t.n_they++] = d->us_wang;
	t.cond[t.n_cond++] = "independent medical check before transfer";
	t.place = "Geneva";
	t.sequencing = PL_SEQ_SIMULTANEOUS;
	t.mediator = ch->name;
	t.expires_in = 14 * 86400;
	if (pl_nego_counter(us->v, d->proposal, &t, d->counter, &seq, e) != 0 ||
	    deliver(d, us, e) != 0 || fetch(d, ir, 1, e) != 0 ||
	    expect_state(d, ir, d->proposal, "countered", e) != 0)
		return -1;
	say("    The United States counters: Sheikhzadeh for Baquer Namazi and Xiyue Wang, in");
	say("    Geneva, with Switzerland as mediator and a medical check first.");
	return show_item(ir, d->counter, e);
}

/* Iran's countersignature turns the counter into an agreement. */
static int scene_agreement(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1];
	uint8_t acc[8];
	int64_t seq;
	if (pl_nego_respond(ir->v, d->counter, PL_RESP_ACCEPT, NULL, acc, &seq, e) != 0 ||
	    deliver(d, ir, e) != 0 || fetch(d, us, 1, e) != 0 ||
	    expect_state(d, us, d->counter, "accepted", e) != 0)
		return -1;
	say("    Iran accepts: its countersignature over the exact bytes of the counter makes");
	say("    the pair a binding agreement.");
	if (show_item(us, d->counter, e) != 0)
		return -1;
	say("");
	return 0;
}

/* Verifies the exported agreement at `path` as Switzerland would: against
 * the keys it pinned in Vienna, not against anything in the file. */
static int verify_agreement_file(demo *d, const char *path, pl_agreement_summary *s, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	uint8_t *buf;
	size_t n;
	if (pl_file_read(path, PL_EXPORT_FILE_MAX, &buf, &n, e) != 0)
		return -1;
	uint8_t expect[2][PL_IK_LEN];
	pl_contact c;
	int rc = -1;
	if (s && pl_vault_contact_get(ch->v, us->name, &c, e) == 0) {
		memcpy(expect[0], c.ik, PL_IK_LEN);
		if (pl_vault_contact_get(ch->v, ir->name, &c, e) == 0) {
			memcpy(expect[1], c.ik, PL_IK_LEN);
			rc = pl_agreement_verify(s, buf, n, (const uint8_t(*)[PL_IK_LEN])expect, 2,
						 e);
		}
	}
	free(buf);
	return rc;
}

/* The agreement as the document a minister reads (export --format text),
 * its readable part; the signed file at its end is left in the file. */
static int scene_document(demo *d, pl_err *e)
{
	char path[PATH_MAX + 32];
	uint8_t *buf = NULL;
	size_t n = 0;
	snprintf(path, sizeof path, "%s/agreement.txt", d->tmp);
	if (pl_nego_export_agreement_doc(d->p[0].v, d->counter, path, 0, e) != 0 ||
	    pl_file_read(path, PL_EXPORT_FILE_MAX, &buf, &n, e) != 0)
		return -1;
	say("");
	say("The agreement as a document (parley export agreement ID --format text); the");
	say("signed file follows it in the document, and parley verify checks both:");
	say("");
	const uint8_t *end = memmem(buf, n, PL_DOC_BEGIN, sizeof PL_DOC_BEGIN - 1);
	fwrite(buf, 1, end ? (size_t)(end - buf) : n, stdout);
	fflush(stdout);
	free(buf);
	return 0;
}

/* Switzerland checks the agreement offline, from the exported file alone. */
static int scene_proofs(demo *d, pl_err *e)
{
	party *us = &d->p[0];
	say("6. Switzerland verifies the agreement offline, from the exported file alone.");
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/agreement.json", d->tmp);
	if (pl_nego_export_agreement(us->v, d->counter, path, e) != 0)
		return -1;
	pl_agreement_summary *s = calloc(1, sizeof *s);
	if (verify_agreement_file(d, path, s, e) != 0) {
		free(s);
		return -1;
	}
	say("    Both signatures verify under the keys Switzerland pinned in Vienna:");
	say("    proposer %s (%s)", party_of(d, s->proposer_ik), s->proposer_fp);
	say("    accepter %s (%s)", party_of(d, s->accepter_ik), s->accepter_fp);
	say("    Flipping any byte of the file makes this check fail.");
	say("");
	say("The agreement:");
	release_table(d, s);
	free(s);
	return scene_document(d, e);
}

/* Syncs p; every envelope must open and none be refused (how many arrive
 * depends on who sent what in which order). */
static int fetch_all(demo *d, party *p, pl_err *e)
{
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	if (pl_msgr_sync(p->v, &pl_nego_objects, &r, e) != 0)
		return -1;
	if (r.rejected != 0)
		return step_fail(d, "an envelope was refused", NULL);
	return 0;
}

/* Switzerland, named in the agreement, receives it and guarantees it. */
static int scene_guarantee(demo *d, pl_err *e)
{
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	pl_item ag;
	uint8_t gids[2][PL_OBJ_ID_LEN];
	int64_t gseqs[2];
	say("7. Switzerland guarantees the agreement.");
	if (deliver(d, us, e) != 0 || fetch_all(d, ch, e) != 0)
		return -1;
	int found = pl_guar_find_agreement(ch->v, d->counter, &ag, e);
	if (found != 0)
		return found < 0 ? -1
				 : step_fail(d, "Switzerland did not receive the agreement", NULL);
	say("    Naming Switzerland as mediator was both sides' consent to show it the");
	say("    agreement: both vaults sent it the two signed objects, and it checked both");
	say("    signatures and that the proposal names its own key.");
	int rc = pl_guar_guarantee(ch->v, ag.id,
				   "Switzerland will host the exchange in Geneva and carry it out "
				   "under the plan it sends both parties.",
				   NULL, gids, gseqs, e);
	pl_vault_item_free(&ag);
	if (rc != 0 || deliver(d, ch, e) != 0 || fetch_all(d, us, e) != 0 ||
	    fetch_all(d, ir, e) != 0 || expect_state(d, us, d->counter, "guaranteed", e) != 0 ||
	    expect_state(d, ir, d->counter, "guaranteed", e) != 0)
		return -1;
	say("    Switzerland countersigns it as guarantor; both vaults now show it");
	say("    \"guaranteed\", with three signatures that anyone can check offline.");
	say("");
	return 0;
}

/* Every vault of the three delivers and then fetches, twice: whatever one
 * signed reaches the other two. */
static int round_trip(demo *d, pl_err *e)
{
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NPARTY; i++)
			if (deliver(d, &d->p[i], e) != 0 || fetch_all(d, &d->p[i], e) != 0)
				return -1;
	return 0;
}

/* The plan's state in p's vault, as JSON (caller decrefs). */
static json_t *plan_state(party *p, const uint8_t id[8], pl_err *e)
{
	json_t *j = NULL;
	if (pl_plan_show(p->v, id, &j, NULL, e) != 0)
		return NULL;
	return j;
}

/* The exchange carried out under Switzerland's plan, step by step. */
static int scene_execution(demo *d, pl_err *e)
{
	static const struct {
		const char *id, *said;
	} steps[] = {
	    {"medical", "an independent doctor examines the three men: fit to travel"},
	    {"aircraft", "the Swiss aircraft is on the tarmac in Geneva, both delegations aboard"},
	    {"identities", "Swiss officials check each man's identity against the agreement"},
	    {"handover", "the simultaneous handover: the three men cross at the same moment"},
	    {"home", "Baquer Namazi and Xiyue Wang land in Washington, Sheikhzadeh in Tehran"},
	};
	party *us = &d->p[0], *ir = &d->p[1], *ch = &d->p[2];
	char deadline[32], plan[2048];
	time_t when = (time_t)pl_now() + 10 * 86400;
	struct tm tm;
	gmtime_r(&when, &tm);
	strftime(deadline, sizeof deadline, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(plan, sizeof plan,
		 "{\"title\": \"Exchange in Geneva\", \"steps\": ["
		 "{\"id\": \"medical\", \"title\": \"Independent medical check\", \"performer\": "
		 "\"mediator\", \"confirmers\": [\"a\", \"b\"], \"deadline\": \"%s\"},"
		 "{\"id\": \"aircraft\", \"title\": \"Aircraft in Geneva\", \"performer\": "
		 "\"mediator\", \"confirmers\": [\"a\", \"b\"], \"deadline\": \"%s\", "
		 "\"waits_for\": [\"medical\"]},"
		 "{\"id\": \"identities\", \"title\": \"Identities checked\", \"performer\": "
		 "\"mediator\", \"confirmers\": [\"a\", \"b\"], \"deadline\": \"%s\", "
		 "\"waits_for\": [\"aircraft\"]},"
		 "{\"id\": \"handover\", \"title\": \"Simultaneous handover\", \"performer\": "
		 "\"mediator\", \"confirmers\": [\"a\", \"b\"], \"deadline\": \"%s\", "
		 "\"waits_for\": [\"identities\"], \"no_return\": true},"
		 "{\"id\": \"home\", \"title\": \"Arrival home\", \"performer\": \"mediator\", "
		 "\"confirmers\": [\"a\", \"b\"], \"deadline\": \"%s\", \"waits_for\": "
		 "[\"handover\"]}]}",
		 deadline, deadline, deadline, deadline, deadline);
	say("8. The exchange, step by step, under Switzerland's plan.");
	char agr[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(agr, d->counter);
	uint8_t acc[8];
	if (pl_plan_create(ch->v, agr, NULL, plan, strlen(plan), d->plan, e) != 0 ||
	    round_trip(d, e) != 0)
		return -1;
	say("    Switzerland signs the plan: five steps, each with who performs it, who");
	say("    confirms it and a deadline; the handover is the point of no return.");
	if (pl_plan_accept(us->v, d->plan, acc, e) != 0 ||
	    pl_plan_accept(ir->v, d->plan, acc, e) != 0 || round_trip(d, e) != 0)
		return -1;
	say("    Both parties accept it, signed; nothing could start before they did.");
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		uint8_t id[8];
		if (pl_plan_attest_step(ch->v, d->plan, steps[i].id, PL_ATTEST_DONE, steps[i].said,
					id, e) != 0 ||
		    round_trip(d, e) != 0 ||
		    pl_plan_attest_step(us->v, d->plan, steps[i].id, PL_ATTEST_CONFIRM, NULL, id,
					e) != 0 ||
		    pl_plan_attest_step(ir->v, d->plan, steps[i].id, PL_ATTEST_CONFIRM, NULL, id,
					e) != 0 ||
		    round_trip(d, e) != 0)
			return -1;
		say("    %-10s Switzerland attests: %s;", steps[i].id, steps[i].said);
		say("    %-10s both parties confirm, signed.", "");
		if (strcmp(steps[i].id, "handover") == 0) {
			uint8_t ab[8];
			pl_err ae;
			pl_err_clear(&ae);
			if (pl_plan_abort_plan(ir->v, d->plan, "second thoughts", ab, &ae) == 0)
				return step_fail(d, "an abort after the handover was accepted",
						 NULL);
			say("    %-10s from here on the plan refuses any abort: the handover is "
			    "done.",
			    "");
		}
	}
	/* The three vaults hold the same signed objects and show the same state. */
	json_t *s[NPARTY];
	int same = 1;
	for (int i = 0; i < NPARTY; i++)
		s[i] = plan_state(&d->p[i], d->plan, e);
	for (int i = 0; i < NPARTY; i++) {
		json_t *st = s[i] ? json_object_get(s[i], "steps") : NULL;
		const char *status =
		    s[i] ? json_string_value(json_object_get(s[i], "status")) : NULL;
		same = same && st && json_array_size(st) == 5 && status && s[0] &&
		       strcmp(status, json_string_value(json_object_get(s[0], "status"))) == 0;
		for (size_t k = 0; same && k < json_array_size(st); k++)
			same = strcmp(json_string_value(
					  json_object_get(json_array_get(st, k), "state")),
				      "confirmed") == 0;
	}
	for (int i = 0; i < NPARTY; i++)
		json_decref(s[i]);
	if (!same)
		return step_fail(d, "the three vaults do not show the plan carried out", NULL);
	say("");
	say("    The plan as all three vaults show it (parley plan show):");
	if (pl_plan_show(us->v, d->plan, NULL, stdout, e) != 0)
		return -1;
	fflush(stdout);
	say("");
	return 0;
}

static void scene_summary(void)
{
	say("");
	say("Every step verified.");
}

static int run(demo *d, pl_err *e)
{
	scene_situation();
	if (scene_setup(d, e) != 0 || scene_meeting(d, e) != 0 || scene_case_files(d, e) != 0 ||
	    scene_unanswered_outreach(d, e) != 0 || scene_humanitarian_request(d, e) != 0 ||
	    scene_blind_match(d, e) != 0 || scene_proposal(d, e) != 0 || scene_counter(d, e) != 0 ||
	    scene_agreement(d, e) != 0 || scene_proofs(d, e) != 0 || scene_guarantee(d, e) != 0 ||
	    scene_execution(d, e) != 0)
		return -1;
	scene_summary();
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
