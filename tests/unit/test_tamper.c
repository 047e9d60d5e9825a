/* test_tamper.c — every flipped byte of an export file is refused through
 * the entry point `parley verify` calls (pl_verify_file_ex on a file on
 * disk), in one process: refused (-1) with an exit code of the verifier's
 * failure classes (input 6 or security 5), and one line of reason, as the
 * CLI prints it. The flip is the one the integration scripts make (0x01,
 * or 0x20 for a newline), at every offset.
 *
 * Run alone it writes its own agreement with the export writer and flips
 * that. Given `FILE [--relay-key VKEY]` it flips FILE instead: the
 * integration scripts pass the agreement and the proof of outreach that the
 * real CLI wrote (tests/integration/test_negotiation.sh, test_log.sh), so
 * every byte of those files is covered without a process per byte.
 *
 * It never changes the file it is given: flips go to a copy in a temporary
 * folder, removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/object.h"
#include "export/agreement.h"
#include "export/json.h"
#include "export/verify.h"
#include "support.h"

static const char *given_file; /* argv[1], or NULL: write one */
static const char *given_vkey; /* --relay-key, or NULL */

/* Flips every byte of the file at path (a copy under a temporary folder)
 * and verifies each through pl_verify_file_ex; the unflipped file must
 * verify first, so a test that refuses everything cannot pass. */
static void every_flip_refused(const char *path, const char *vkey)
{
	size_t n;
	uint8_t *orig = pl_test_read_file(path, &n);
	if (orig == NULL)
		fail_msg("cannot read %s", path);
	assert_true(n > 0);
	pl_verify_opts vo = {.relay_key = vkey};
	pl_err e;
	pl_err_clear(&e);
	if (pl_verify_file_ex(path, &vo, &e, NULL, NULL) != 0)
		fail_msg("%s does not verify unflipped: %s", path, e.msg);

	char dir[256], flip[512];
	pl_test_tmpdir(dir, sizeof dir, "tamper");
	snprintf(flip, sizeof flip, "%s/flip.json", dir);
	uint8_t *c = malloc(n);
	assert_non_null(c);
	size_t input = 0, security = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(c, orig, n);
		c[i] ^= c[i] == '\n' ? 0x20 : 0x01;
		pl_test_write_file(flip, c, n);
		pl_err_clear(&e);
		if (pl_verify_file_ex(flip, &vo, &e, NULL, NULL) == 0)
			fail_msg("flip at %zu (of %zu) of %s verifies", i, n, path);
		if (e.code != PL_EXIT_INPUT && e.code != PL_EXIT_SECURITY)
			fail_msg("flip at %zu: exit code %d (\"%s\"), want 5 or 6", i, e.code,
				 e.msg);
		if (e.msg[0] == '\0' || strchr(e.msg, '\n') != NULL)
			fail_msg("flip at %zu: not one line of reason: \"%s\"", i, e.msg);
		input += e.code == PL_EXIT_INPUT;
		security += e.code == PL_EXIT_SECURITY;
	}
	/* a file damaged only in its syntax would make every refusal an input
	 * error; signatures must be what catches flips inside the encoded data */
	assert_true(input > 0 && security > 0);
	print_message("# %zu flips of %s refused (%zu input, %zu security)\n", n, path, input,
		      security);
	free(c);
	free(orig);
	pl_test_rm_rf(dir);
}

/* A signed object by `from` to `to`, as the vault stores it. */
static void sign(pl_wr *w, pl_obj *o, const pl_identity *from, const pl_identity *to)
{
	memcpy(o->recipient_ik, to->pk, PL_IK_LEN);
	o->created = 1764300000ull;
	pl_wr_init(w);
	assert_int_equal(pl_obj_sign(w, o, from, NULL), 0);
}

/* An agreement between two fresh identities, written with the writer
 * `parley export agreement` uses. */
static void write_agreement(const char *path)
{
	pl_identity a, b;
	assert_int_equal(pl_identity_generate(&a), 0);
	assert_int_equal(pl_identity_generate(&b), 0);
	pl_obj *o = calloc(1, sizeof *o);
	assert_non_null(o);
	pl_obj_init(o, PL_OBJ_PROPOSAL);
	pl_proposal *p = &o->u.proposal;
	p->n_author = 1;
	memset(p->author[0].ref, 1, PL_OBJ_REF_LEN);
	strcpy(p->author[0].name, "Ahmad Sheikhzadeh");
	strcpy(p->author[0].held_by, "United States");
	p->n_recipient = 1;
	memset(p->recipient[0].ref, 2, PL_OBJ_REF_LEN);
	strcpy(p->recipient[0].name, "Baquer Namazi");
	strcpy(p->recipient[0].held_by, "Iran");
	strcpy(p->place, "Geneva");
	p->sequencing = PL_SEQ_SIMULTANEOUS;
	pl_wr prop, acc;
	sign(&prop, o, &a, &b);
	pl_obj_init(o, PL_OBJ_RESPONSE);
	o->u.response.kind = PL_RESP_ACCEPT;
	pl_obj *d = calloc(1, sizeof *d);
	assert_non_null(d);
	assert_int_equal(pl_obj_decode_signed(d, prop.p, prop.n, NULL), 0);
	memcpy(o->u.response.target_id, d->id, PL_OBJ_ID_LEN);
	pl_obj_hash(o->u.response.target_hash, prop.p, prop.n);
	sign(&acc, o, &b, &a);
	json_t *j = NULL;
	pl_err e;
	pl_err_clear(&e);
	if (pl_agreement_write(&j, prop.p, prop.n, acc.p, acc.n, &e) != 0 ||
	    pl_export_write_file(path, j, &e) != 0)
		fail_msg("writing the agreement: %s", e.msg);
	json_decref(j);
	pl_wr_free(&prop);
	pl_wr_free(&acc);
	free(o);
	free(d);
	sodium_memzero(&a, sizeof a);
	sodium_memzero(&b, sizeof b);
}

static void test_every_flip_of_a_written_agreement_refused(void **st)
{
	(void)st;
	char dir[256], path[512];
	pl_test_tmpdir(dir, sizeof dir, "tamper-src");
	snprintf(path, sizeof path, "%s/agreement.json", dir);
	write_agreement(path);
	every_flip_refused(path, NULL);
	pl_test_rm_rf(dir);
}

static void test_every_flip_of_the_given_file_refused(void **st)
{
	(void)st;
	every_flip_refused(given_file, given_vkey);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 2 || (argc == 4 && strcmp(argv[2], "--relay-key") == 0)) {
		given_file = argv[1];
		given_vkey = argc == 4 ? argv[3] : NULL;
		const struct CMUnitTest given[] = {
		    cmocka_unit_test(test_every_flip_of_the_given_file_refused),
		};
		return cmocka_run_group_tests(given, NULL, NULL);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: test_tamper [FILE [--relay-key VKEY]]\n");
		return 2;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_flip_of_a_written_agreement_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
