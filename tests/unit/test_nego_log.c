/* test_nego_log.c — acceptances judged on the relay's log time and
 * crossings decided by what the log proves, through the library against a
 * real parley-relay started here. Two vaults ("United States" proposes,
 * "Iran" answers) are driven through the library; where a party cheats
 * (a clock set back, a withdrawal after the acceptance was fetched) the
 * test builds and deposits the signed object itself, exactly as a
 * modified client would.
 *
 *  - an acceptance deposited after a 2 s offer expired, dated inside it
 *    (the accepter's clock set back), is "expired" on both sides, neither
 *    exports it, and an agreement file made of it is refused by verify;
 *    a timely one is "accepted" and verify names the relay's log time;
 *  - an acceptance dated before its proposal is refused (and an honest
 *    client refuses to make one);
 *  - a withdrawal deposited after the proposer's key fetched the
 *    acceptance is refused: the accepter keeps "accepted" and exports;
 *    the proposer's own library refuses to withdraw an accepted proposal;
 *  - a real crossing (withdrawal deposited before the acceptance was
 *    fetched) makes the proposal "disputed" on both sides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "export/agreement.h"
#include "export/verify.h"
#include "log/leaf.h"
#include "log/receipt.h"
#include "support.h"
#include "util/codec.h"
#include "vault/vault.h"

static char dir[256], relay_dir[300];
static pl_test_relay relay;
static int serial;

typedef struct {
	pl_vault *us, *ir;
} pair;

/* A vault at dir/<sub><serial>: each test's pair gets fresh folders. */
static pl_vault *make_vault(const char *sub, const char *name)
{
	char path[32];
	snprintf(path, sizeof path, "%s%d", sub, serial);
	return pl_test_vault_new(dir, path, name, relay.url);
}

static void sync_nr(pl_vault *v, pl_sync_report *r, pl_nego_report *nr)
{
	pl_err e;
	memset(r, 0, sizeof *r);
	if (pl_nego_sync(v, r, nr, &e) != 0)
		fail_msg("sync: %s", e.msg);
}

static void sync_v(pl_vault *v)
{
	pl_sync_report r;
	pl_nego_report nr;
	sync_nr(v, &r, &nr);
}

static void deliver(pl_vault *v)
{
	pl_sync_report r;
	pl_err e;
	memset(&r, 0, sizeof r);
	if (pl_msgr_deliver(v, &r, &e) != 0)
		fail_msg("deliver: %s", e.msg);
	assert_int_equal(r.queued, 0);
}

static void pair_up(pair *p)
{
	serial++;
	p->us = make_vault("us", "United States");
	p->ir = make_vault("ir", "Iran");
	pl_test_befriend(p->us, "Iran", p->ir);
	pl_test_befriend(p->ir, "United States", p->us);
	sync_v(p->us);
	sync_v(p->ir);
}

static void pair_close(pair *p)
{
	pl_vault_close(p->us);
	pl_vault_close(p->ir);
}

/* us proposes to Iran (one person released), delivered; Iran has it. */
static void propose(pair *p, uint64_t expires_in, uint8_t id[8])
{
	pl_case c;
	pl_nego_terms t;
	pl_err e;
	int64_t seq;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "Detainee %d", serial);
	snprintf(c.held_by, sizeof c.held_by, "United States");
	if (pl_vault_case_add(p->us, &c, &e) != 0)
		fail_msg("case: %s", e.msg);
	memset(&t, 0, sizeof t);
	t.we[0] = c.id;
	t.n_we = 1;
	t.expires_in = expires_in;
	if (pl_nego_propose(p->us, "Iran", &t, id, &seq, &e) != 0)
		fail_msg("propose: %s", e.msg);
	deliver(p->us);
}

static const char *state_of(pl_vault *v, const uint8_t id[8], char out[16])
{
	pl_item it;
	pl_err e;
	if (pl_nego_find(v, id, &it, &e) != 0)
		fail_msg("find: %s", e.msg);
	snprintf(out, 16, "%s", it.state);
	pl_vault_item_free(&it);
	return out;
}

static void item_of(pl_vault *v, const uint8_t id[8], pl_item *it)
{
	pl_err e;
	if (pl_nego_find(v, id, it, &e) != 0)
		fail_msg("find: %s", e.msg);
}

/* What a modified client does: signs a response of `kind` to the proposal
 * `target` dated `created`, stores and queues it like any move (the
 * target moved to target_state), and deposits it. id: the response's. */
static void forge_response(pl_vault *v, const char *contact, const uint8_t target[8], int kind,
			   uint64_t created, const char *target_state, uint8_t id[8])
{
	pl_item t, it;
	pl_contact c;
	pl_obj *o = calloc(1, sizeof *o);
	pl_wr sig;
	pl_err e;
	assert_non_null(o);
	item_of(v, target, &t);
	assert_int_equal(pl_vault_contact_get(v, contact, &c, &e), 0);
	pl_obj_init(o, PL_OBJ_RESPONSE);
	o->created = created;
	memcpy(o->recipient_ik, c.ik, PL_IK_LEN);
	o->u.response.kind = (uint8_t)kind;
	memcpy(o->u.response.target_id, target, 8);
	pl_obj_hash(o->u.response.target_hash, t.body.p, t.body.n);
	pl_wr_init(&sig);
	if (pl_obj_sign(&sig, o, pl_vault_identity(v), &e) != 0)
		fail_msg("sign: %s", e.msg);
	memset(&it, 0, sizeof it);
	memcpy(it.id, o->id, 8);
	memcpy(id, o->id, 8);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_OBJECT;
	it.time = created;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, sig.p, sig.n);
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_item_add(v, &it, &e), 0);
	assert_int_equal(pl_vault_outbox_add(v, it.seq, contact, &e), 0);
	if (target_state)
		assert_int_equal(pl_vault_item_set_state(v, t.seq, target_state, NULL, 0, &e), 0);
	assert_int_equal(pl_vault_commit(v, &e), 0);
	deliver(v);
	pl_wr_free(&sig);
	pl_vault_item_free(&it);
	pl_vault_item_free(&t);
	sodium_memzero(&c, sizeof c);
	free(o);
}

static char *export_path(const char *tag)
{
	static char path[400];
	snprintf(path, sizeof path, "%s/%s%d.json", dir, tag, serial);
	return path;
}

/* Verifies an agreement file (relay key given or not); 0 or -1 with e. */
static int verify_file(const char *path, const char *vkey, pl_agreement_summary *s, char **text,
		       pl_err *e)
{
	size_t n;
	uint8_t *f = pl_test_read_file(path, &n);
	assert_non_null(f);
	int rc = pl_agreement_verify_ex(s, f, n, vkey, NULL, 0, e);
	if (rc == 0 && text) {
		size_t len;
		FILE *m = open_memstream(text, &len);
		pl_agreement_summary_print(m, s);
		fclose(m);
	}
	free(f);
	return rc;
}

/* ---------------------------------------------------------------------------- */

static void test_expiry_on_log_time(void **st)
{
	(void)st;
	pair p;
	uint8_t prop[8], acc[8];
	char s1[16];
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	pair_up(&p);
	propose(&p, 2, prop);
	sync_v(p.ir);
	pl_item pi;
	item_of(p.us, prop, &pi);
	uint64_t proposed = pi.time;
	pl_vault_item_free(&pi);

	/* An honest client refuses once the offer expired by its clock. */
	sleep(3);
	int64_t seq;
	assert_int_equal(pl_nego_respond(p.ir, prop, PL_RESP_ACCEPT, NULL, acc, &seq, &e), -1);
	assert_int_equal(e.code, PL_EXIT_REFUSED);

	/* Iran's clock set back: the acceptance says it was made within the
	 * offer, and reaches the relay after it expired. */
	forge_response(p.ir, "United States", prop, PL_RESP_ACCEPT, proposed + 1, "accepted", acc);
	pl_item ai;
	item_of(p.ir, acc, &ai);
	pl_receipt *rc = calloc(1, sizeof *rc);
	assert_int_equal(pl_receipt_decode(rc, ai.receipt.p, ai.receipt.n), 0);
	assert_true(rc->time > proposed + 2);

	/* the accepter's vault, judging by its own deposit receipt */
	sync_nr(p.ir, &r, &nr);
	assert_int_equal(nr.expired, 1);
	assert_string_equal(state_of(p.ir, prop, s1), "expired");
	/* the proposer's, by the proved deposit leaf in its mailbox */
	sync_nr(p.us, &r, &nr);
	assert_int_equal(r.received, 1);
	assert_int_equal(nr.expired, 1);
	assert_int_equal(nr.undecided, 0);
	assert_string_equal(state_of(p.us, prop, s1), "expired");
	/* the acceptance the proposer stored carries the same deposit */
	pl_item ui;
	item_of(p.us, acc, &ui);
	pl_receipt *urc = calloc(1, sizeof *urc);
	assert_int_equal(pl_receipt_decode(urc, ui.receipt.p, ui.receipt.n), 0);
	assert_int_equal(urc->index, rc->index);
	assert_int_equal(urc->time, rc->time);

	/* no agreement on either side */
	assert_int_equal(pl_nego_export_agreement(p.us, prop, export_path("us"), &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_nego_export_agreement(p.ir, acc, export_path("ir"), &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	/* A file made of them anyway: the old check (the accepter's date)
	 * would pass; with the receipt, the log time refuses it. */
	pl_item P;
	item_of(p.us, prop, &P);
	json_t *j = NULL;
	assert_int_equal(pl_agreement_write(&j, P.body.p, P.body.n, ui.body.p, ui.body.n, &e), 0);
	json_decref(j);
	uint8_t rpk[32];
	assert_int_equal(pl_vault_relay_key(p.us, rpk), 0);
	assert_int_equal(pl_agreement_write_proved(&j, P.body.p, P.body.n, ui.body.p, ui.body.n,
						   ui.receipt.p, ui.receipt.n, rpk, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "expired when the acceptance reached the relay"));
	pl_vault_item_free(&P);
	pl_vault_item_free(&ui);
	pl_vault_item_free(&ai);
	free(rc);
	free(urc);
	pair_close(&p);
}

static void test_timely_acceptance(void **st)
{
	(void)st;
	pair p;
	uint8_t prop[8], acc[8];
	char s1[16], vkey[PL_NOTE_VKEY_MAX], other[PL_NOTE_VKEY_MAX];
	int64_t seq;
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	pair_up(&p);
	propose(&p, 60, prop);
	sync_v(p.ir);
	assert_int_equal(pl_nego_respond(p.ir, prop, PL_RESP_ACCEPT, NULL, acc, &seq, &e), 0);
	deliver(p.ir);
	sync_nr(p.us, &r, &nr);
	assert_int_equal(nr.expired, 0);
	assert_string_equal(state_of(p.us, prop, s1), "accepted");
	sync_nr(p.ir, &r, &nr);
	assert_string_equal(state_of(p.ir, prop, s1), "accepted");

	const char *fu = export_path("us-ok");
	if (pl_nego_export_agreement(p.us, prop, fu, &e) != 0)
		fail_msg("export: %s", e.msg);
	char ir_path[400];
	snprintf(ir_path, sizeof ir_path, "%s", export_path("ir-ok"));
	if (pl_nego_export_agreement(p.ir, acc, ir_path, &e) != 0)
		fail_msg("export: %s", e.msg);

	uint8_t rpk[32], fake[32];
	assert_int_equal(pl_vault_relay_key(p.us, rpk), 0);
	assert_int_equal(pl_leaf_log_vkey_string(vkey, rpk), 0);
	pl_agreement_summary *s = malloc(sizeof *s);
	char *text = NULL;
	if (verify_file(fu, vkey, s, &text, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_true(s->proved);
	assert_true(s->relay_key_given);
	pl_item ai;
	item_of(p.ir, acc, &ai);
	pl_receipt *rc = calloc(1, sizeof *rc);
	assert_int_equal(pl_receipt_decode(rc, ai.receipt.p, ai.receipt.n), 0);
	assert_int_equal(s->log_time, rc->time);
	assert_int_equal(s->leaf_index, rc->index);
	assert_non_null(strstr(text, "accepted at relay log time "));
	assert_non_null(strstr(text, "asserted by the vault that exported the file"));
	free(text);
	/* the accepter's file verifies too, on the same deposit */
	if (verify_file(ir_path, NULL, s, NULL, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_int_equal(s->leaf_index, rc->index);
	assert_false(s->relay_key_given);
	/* through the dispatcher, with the relay key option */
	pl_verify_opts vo = {.relay_key = vkey};
	assert_int_equal(pl_verify_file_ex(fu, &vo, &e, NULL, NULL), 0);
	/* another relay's key: refused */
	randombytes_buf(fake, sizeof fake);
	assert_int_equal(pl_leaf_log_vkey_string(other, fake), 0);
	assert_int_equal(verify_file(fu, other, s, NULL, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	/* the receipt checked under a key that did not sign it: refused */
	pl_item P;
	item_of(p.us, prop, &P);
	json_t *j = NULL;
	assert_int_equal(pl_agreement_write_proved(&j, P.body.p, P.body.n, ai.body.p, ai.body.n,
						   ai.receipt.p, ai.receipt.n, fake, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	pl_vault_item_free(&P);
	pl_vault_item_free(&ai);
	free(rc);
	free(s);
	pair_close(&p);
}

static void test_acceptance_dated_before_proposal(void **st)
{
	(void)st;
	pair p;
	uint8_t prop[8], acc[8];
	char s1[16];
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	pair_up(&p);
	propose(&p, 0, prop);
	sync_v(p.ir);
	pl_item pi;
	item_of(p.us, prop, &pi);
	forge_response(p.ir, "United States", prop, PL_RESP_ACCEPT, pi.time - 100, "accepted", acc);
	pl_vault_item_free(&pi);
	sync_nr(p.us, &r, &nr);
	assert_int_equal(nr.predated, 1);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.received, 0);
	state_of(p.us, prop, s1);
	assert_true(strcmp(s1, "delivered") == 0 || strcmp(s1, "fetched") == 0);
	assert_int_equal(pl_nego_export_agreement(p.us, prop, export_path("pre"), &e), -1);

	/* An honest accepter whose clock is behind the proposal's date does
	 * not make such an acceptance. */
	uint8_t a2[8];
	int64_t seq;
	/* a proposal dated in the future (the proposer's clock ahead) */
	pl_case c;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "Future %d", serial);
	snprintf(c.held_by, sizeof c.held_by, "United States");
	assert_int_equal(pl_vault_case_add(p.us, &c, &e), 0);
	pl_obj *o = calloc(1, sizeof *o);
	pl_contact ct;
	assert_int_equal(pl_vault_contact_get(p.us, "Iran", &ct, &e), 0);
	pl_obj_init(o, PL_OBJ_PROPOSAL);
	o->created = pl_now() + 1000;
	memcpy(o->recipient_ik, ct.ik, PL_IK_LEN);
	memcpy(o->u.proposal.author[0].ref, c.ref, 8);
	snprintf(o->u.proposal.author[0].name, sizeof o->u.proposal.author[0].name, "%s", c.name);
	snprintf(o->u.proposal.author[0].held_by, sizeof o->u.proposal.author[0].held_by, "%s",
		 c.held_by);
	o->u.proposal.n_author = 1;
	pl_wr sig;
	pl_wr_init(&sig);
	if (pl_obj_sign(&sig, o, pl_vault_identity(p.us), &e) != 0)
		fail_msg("sign: %s", e.msg);
	pl_item it;
	memset(&it, 0, sizeof it);
	memcpy(it.id, o->id, 8);
	snprintf(it.contact, sizeof it.contact, "Iran");
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_OBJECT;
	it.time = o->created;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, sig.p, sig.n);
	assert_int_equal(pl_vault_item_add(p.us, &it, &e), 0);
	assert_int_equal(pl_vault_outbox_add(p.us, it.seq, "Iran", &e), 0);
	deliver(p.us);
	sync_v(p.ir);
	assert_int_equal(pl_nego_respond(p.ir, o->id, PL_RESP_ACCEPT, NULL, a2, &seq, &e), -1);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	assert_non_null(strstr(e.msg, "clock"));
	pl_wr_free(&sig);
	pl_vault_item_free(&it);
	sodium_memzero(&ct, sizeof ct);
	free(o);
	pair_close(&p);
}

/* A fresh pair where us proposed (no expiry) and Iran accepted: the
 * acceptance is deposited, not yet fetched by us. */
static void accepted_pair(pair *p, uint8_t prop[8], uint8_t acc[8])
{
	int64_t seq;
	pl_err e;
	pair_up(p);
	propose(p, 0, prop);
	sync_v(p->ir);
	assert_int_equal(pl_nego_respond(p->ir, prop, PL_RESP_ACCEPT, NULL, acc, &seq, &e), 0);
	deliver(p->ir);
}

static void test_late_withdrawal_refused(void **st)
{
	(void)st;
	pair p;
	uint8_t prop[8], acc[8], wd[8];
	char s1[16];
	int64_t seq;
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	accepted_pair(&p, prop, acc);
	/* the proposer's key fetches the acceptance (and acknowledges it) */
	sync_nr(p.us, &r, &nr);
	assert_string_equal(state_of(p.us, prop, s1), "accepted");
	/* its own library will not withdraw what it holds accepted */
	assert_int_equal(pl_nego_respond(p.us, prop, PL_RESP_WITHDRAW, NULL, wd, &seq, &e), -1);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	assert_non_null(strstr(e.msg, "already accepted"));
	/* a modified client withdraws anyway */
	forge_response(p.us, "Iran", prop, PL_RESP_WITHDRAW, pl_now(), NULL, wd);
	sync_nr(p.ir, &r, &nr);
	assert_int_equal(nr.late_withdrawals, 1);
	assert_int_equal(nr.disputed, 0);
	assert_int_equal(r.received, 1); /* kept, to be shown in the thread */
	assert_string_equal(state_of(p.ir, prop, s1), "accepted");
	const char *f = export_path("late");
	if (pl_nego_export_agreement(p.ir, acc, f, &e) != 0)
		fail_msg("export: %s", e.msg);
	pl_agreement_summary *s = malloc(sizeof *s);
	if (verify_file(f, NULL, s, NULL, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_true(s->proved);
	free(s);
	pair_close(&p);
}

static void test_real_crossing_disputed(void **st)
{
	(void)st;
	pair p;
	uint8_t prop[8], acc[8], wd[8];
	char s1[16];
	int64_t seq;
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	accepted_pair(&p, prop, acc);
	/* before fetching it, the proposer withdraws */
	assert_int_equal(pl_nego_respond(p.us, prop, PL_RESP_WITHDRAW, NULL, wd, &seq, &e), 0);
	deliver(p.us);
	sync_nr(p.ir, &r, &nr);
	assert_int_equal(nr.disputed, 1);
	assert_int_equal(nr.late_withdrawals, 0);
	assert_string_equal(state_of(p.ir, prop, s1), "disputed");
	sync_nr(p.us, &r, &nr);
	assert_int_equal(nr.disputed, 1);
	assert_string_equal(state_of(p.us, prop, s1), "disputed");
	assert_int_equal(pl_nego_export_agreement(p.us, prop, export_path("x-us"), &e), -1);
	assert_int_equal(pl_nego_export_agreement(p.ir, acc, export_path("x-ir"), &e), -1);
	pair_close(&p);
}

static int group_setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	char tmpl[] = "/tmp/parley-negolog.XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(dir, sizeof dir, "%s", tmpl);
	snprintf(relay_dir, sizeof relay_dir, "%s/relay", dir);
	return pl_test_relay_start(&relay, relay_dir, 0, NULL);
}

static int group_teardown(void **st)
{
	(void)st;
	pl_test_relay_stop(&relay);
	pl_test_rm_rf(dir);
	return 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expiry_on_log_time),
	    cmocka_unit_test(test_timely_acceptance),
	    cmocka_unit_test(test_acceptance_dated_before_proposal),
	    cmocka_unit_test(test_late_withdrawal_refused),
	    cmocka_unit_test(test_real_crossing_disputed),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
