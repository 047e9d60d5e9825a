/* test_evidence.c — the relay-evidence file (export/evidence.h), built from
 * real conflicting statements signed with a relay key of the test's own: two
 * trees that share three leaves and then differ, a checkpoint of each at
 * the same size (a fork), a leaf of each at the same index proved in
 * checkpoints of different sizes (a rewrite), and reports that prove
 * nothing (a smaller tree, a withheld leaf). A built file verifies with
 * the right verdicts; every field kind changed in the JSON (signature, root,
 * size, key, proof, leaf, index, kind, data) is refused, as is every
 * flipped byte outside what no signature binds (the vault's words and the
 * data it kept), and a flip inside those never changes a verdict; a file of reports only
 * is never reported as proved; the decoder refuses what parley does not
 * write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/evidence.h"
#include "export/verify.h"
#include "log/leaf.h"
#include "support.h"
#include "util/codec.h"

#define N_A 7  /* tree a: leaves 0..6 */
#define N_B 10 /* tree b: leaves 0..2 as a, then others */
#define SHARED 3
#define IDX 4 /* the index where a and b are proved to differ */

static uint8_t relay_pk[32], relay_sk[64], other_pk[32], other_sk[64];
static char vkey[PL_NOTE_VKEY_MAX], other_vkey[PL_NOTE_VKEY_MAX];

typedef struct {
	uint8_t b[N_B][PL_LEAF_MAX];
	size_t n[N_B];
	uint8_t h[N_B][32];
	size_t size;
} tree;
static tree ta, tb;

/* notes: a7 (a, 7), b7 (b, 7), b10 (b, 10), x7 (a, 7, other key) */
static uint8_t a7[PL_LEAF_NOTE_MAX], b7[PL_LEAF_NOTE_MAX], b10[PL_LEAF_NOTE_MAX],
    x7[PL_LEAF_NOTE_MAX];
static size_t a7n, b7n, b10n, x7n;
static uint8_t *side_a, *side_b; /* stored leaf halves at IDX */
static size_t side_an, side_bn;

static int get_leaf(void *ctx, uint64_t i, uint8_t out[32])
{
	const tree *t = ctx;
	if (i >= t->size)
		return -1;
	memcpy(out, t->h[i], 32);
	return 0;
}

static void deposit(tree *t, size_t i, uint64_t seq)
{
	pl_leaf l;
	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_DEPOSIT;
	randombytes_buf(l.mbx, 32);
	randombytes_buf(l.hash, 32);
	l.seq = seq;
	l.relay_time = 1764300000 + i;
	t->n[i] = pl_leaf_encode(t->b[i], &l);
	assert_true(t->n[i] > 0);
	pl_leaf_hash(t->h[i], t->b[i], t->n[i]);
}

static void sign(tree *t, size_t size, uint8_t *note, size_t *n, const uint8_t *sk)
{
	pl_merkle_source src = {get_leaf, NULL, t};
	uint8_t root[32];
	t->size = size;
	assert_int_equal(pl_merkle_root(&src, size, root), 0);
	assert_int_equal(pl_leaf_checkpoint_sign(note, PL_LEAF_NOTE_MAX, n, size, root, sk), 0);
}

static void leaf_side(tree *t, size_t size, const uint8_t *note, size_t notelen, uint8_t **out,
		      size_t *outn)
{
	pl_merkle_source src = {get_leaf, NULL, t};
	uint8_t proof[PL_MERKLE_PROOF_MAX][32];
	size_t pn;
	t->size = size;
	assert_int_equal(pl_merkle_prove_inclusion(&src, IDX, size, proof, &pn), 0);
	assert_int_equal(pl_evidence_leaf_side(out, outn, relay_pk, note, notelen, IDX, t->b[IDX],
					       t->n[IDX], (const uint8_t(*)[32])proof, pn),
			 0);
	/* a proof that does not reach the root is refused at the source */
	uint8_t *bad;
	size_t badn;
	proof[0][0] ^= 1;
	assert_int_equal(pl_evidence_leaf_side(&bad, &badn, relay_pk, note, notelen, IDX, t->b[IDX],
					       t->n[IDX], (const uint8_t(*)[32])proof, pn),
			 -1);
	assert_null(bad);
}

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(relay_pk, relay_sk);
	crypto_sign_keypair(other_pk, other_sk);
	if (pl_leaf_log_vkey_string(vkey, relay_pk) ||
	    pl_leaf_log_vkey_string(other_vkey, other_pk))
		return -1;
	for (size_t i = 0; i < N_B; i++) {
		deposit(&tb, i, i + 1);
		if (i < SHARED) {
			memcpy(ta.b[i], tb.b[i], tb.n[i]);
			ta.n[i] = tb.n[i];
			memcpy(ta.h[i], tb.h[i], 32);
		} else if (i < N_A) {
			deposit(&ta, i, i + 1);
		}
	}
	sign(&ta, N_A, a7, &a7n, relay_sk);
	sign(&tb, N_A, b7, &b7n, relay_sk);
	sign(&tb, N_B, b10, &b10n, relay_sk);
	sign(&ta, N_A, x7, &x7n, other_sk);
	leaf_side(&ta, N_A, a7, a7n, &side_a, &side_an);
	leaf_side(&tb, N_B, b10, b10n, &side_b, &side_bn);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	free(side_a);
	free(side_b);
	return 0;
}

/* --- building ---------------------------------------------------------------- */

enum { R_FORK, R_LEAF, R_SMALLER, R_WITHHELD, R_DUP, R_OTHERKEY, NROWS };

static void rows_all(pl_evidence_row r[NROWS])
{
	memset(r, 0, NROWS * sizeof *r);
	r[R_FORK] = (pl_evidence_row){
	    "signed two different trees of the same size", 1764300100, a7, b7, a7n, b7n};
	r[R_LEAF] = (pl_evidence_row){"holds another leaf at the index of a deposit",
				      1764300200,
				      side_a,
				      side_b,
				      side_an,
				      side_bn};
	r[R_SMALLER] = (pl_evidence_row){
	    "now shows a smaller tree than it signed before", 1764300300, b10, a7, b10n, a7n};
	r[R_WITHHELD] = (pl_evidence_row){
	    "withheld the envelope it logged (leaf 5)", 1764300400, a7, ta.b[5], a7n, ta.n[5]};
	r[R_DUP] = r[R_FORK];
	r[R_DUP].recorded += 50;
	r[R_OTHERKEY] = (pl_evidence_row){"a note of another relay", 1764300500, x7, a7, x7n, a7n};
}

static char *build(const pl_evidence_row *rows, size_t n, pl_evidence_counts *c, size_t *len)
{
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	if (pl_evidence_build(&j, relay_pk, rows, n, c, &e) != 0)
		fail_msg("build: %s", e.msg);
	char *s = pl_export_dumps(j, len);
	assert_non_null(s);
	json_decref(j);
	return s;
}

static void test_build_and_verify(void **st)
{
	(void)st;
	pl_evidence_row rows[NROWS];
	pl_evidence_counts c;
	pl_evidence_summary s;
	size_t n;
	pl_err e;

	rows_all(rows);
	char *file = build(rows, NROWS, &c, &n);
	assert_int_equal(c.proved, 2);
	assert_int_equal(c.reported, 2);
	assert_int_equal(c.duplicates, 1);
	assert_int_equal(c.skipped, 1);

	pl_err_clear(&e);
	assert_int_equal(pl_evidence_verify(&s, (uint8_t *)file, n, vkey, &e), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.n_proved, 2);
	assert_false(s.used_embedded_key);
	assert_int_equal(s.st[0].kind, PL_EV_FORK);
	assert_int_equal(s.st[0].a.size, N_A);
	assert_int_equal(s.st[1].kind, PL_EV_LEAF);
	assert_int_equal(s.st[1].a.index, IDX);
	assert_int_equal(s.st[1].a.size, N_A);
	assert_int_equal(s.st[1].b.size, N_B);
	assert_int_equal(s.st[2].kind, PL_EV_REPORT);
	assert_int_equal(s.st[3].kind, PL_EV_REPORT);
	assert_int_equal(s.st[3].b.kind, PL_EV_SIDE_DATA);
	assert_string_equal(s.relay_vkey, vkey);

	char *out = NULL;
	size_t outn = 0;
	FILE *f = open_memstream(&out, &outn);
	pl_evidence_summary_print(f, &s);
	fclose(f);
	assert_non_null(strstr(out, vkey));
	assert_non_null(strstr(out, "1. proved: the relay signed two different trees of 7"));
	assert_non_null(strstr(out, "2. proved: the relay signed trees of 7 and 10 leaves"));
	assert_non_null(strstr(out, "3. not provable offline"));
	assert_non_null(strstr(out, "4. not provable offline"));
	assert_non_null(strstr(out, "2 of 4 statements proved"));
	free(out);
	pl_evidence_summary_free(&s);

	/* through the dispatcher `parley verify` uses, with and without a key */
	pl_verify_opts vo = {.relay_key = vkey};
	json_t *js = NULL;
	assert_int_equal(pl_verify_bytes_ex((uint8_t *)file, n, &vo, &e, NULL, &js), 0);
	assert_true(json_is_true(json_object_get(js, "valid")));
	assert_int_equal(json_integer_value(json_object_get(js, "proved")), 2);
	json_decref(js);
	assert_int_equal(pl_evidence_verify(&s, (uint8_t *)file, n, NULL, &e), 0);
	assert_true(s.used_embedded_key);
	pl_evidence_summary_free(&s);
	pl_err_clear(&e);
	vo.relay_key = other_vkey;
	assert_int_equal(pl_verify_bytes_ex((uint8_t *)file, n, &vo, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	free(file);
}

static void test_reports_only_not_proved(void **st)
{
	(void)st;
	pl_evidence_row rows[NROWS];
	pl_evidence_counts c;
	pl_evidence_summary s;
	size_t n;
	pl_err e;

	rows_all(rows);
	char *file = build(&rows[R_SMALLER], 2, &c, &n);
	assert_int_equal(c.proved, 0);
	assert_int_equal(c.reported, 2);
	pl_err_clear(&e);
	assert_int_equal(pl_evidence_verify(&s, (uint8_t *)file, n, vkey, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "nothing in this file is provable offline"));
	assert_int_equal(s.n, 2);
	assert_int_equal(s.n_proved, 0);

	char *out = NULL;
	size_t outn = 0;
	FILE *f = open_memstream(&out, &outn);
	pl_evidence_summary_print(f, &s);
	fclose(f);
	assert_null(strstr(out, "proved"));
	assert_non_null(strstr(out, "not provable offline, reported by the vault"));
	free(out);
	json_t *sj = pl_evidence_summary_json(&s);
	assert_true(json_is_false(json_object_get(sj, "valid")));
	json_decref(sj);
	pl_evidence_summary_free(&s);

	/* and the dispatcher refuses it too, with that reason */
	pl_err_clear(&e);
	json_t *js = NULL;
	assert_int_equal(pl_verify_bytes_ex((uint8_t *)file, n, NULL, &e, NULL, &js), -1);
	assert_null(js);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	free(file);

	/* rows that cannot go in a file at all: NOTFOUND, nothing built */
	json_t *j = NULL;
	pl_err_clear(&e);
	assert_int_equal(pl_evidence_build(&j, relay_pk, &rows[R_OTHERKEY], 1, &c, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_null(j);
	assert_int_equal(pl_evidence_build(&j, other_pk, rows, 2, &c, &e), -1);
	assert_null(j);
}

/* --- tampering -------------------------------------------------------------------------- */

/* The file rebuilt after f changed its JSON, in parley's own byte form, so
 * only the verifier's checks of content can refuse it. */
static char *mutate(const char *file, size_t n, void (*f)(json_t *), size_t *outn)
{
	json_t *j = json_loadb(file, n, 0, NULL);
	assert_non_null(j);
	f(j);
	char *s = pl_export_dumps(j, outn);
	json_decref(j);
	return s;
}

static json_t *stmt(json_t *root, size_t i)
{
	return json_array_get(json_object_get(root, "statements"), i);
}

static void set_note(json_t *side, size_t pos, char c)
{
	json_t *jc = json_object_get(side, "checkpoint");
	char *s = strdup(json_string_value(jc));
	s[pos] = c;
	json_object_set_new(side, "checkpoint", json_string(s));
	free(s);
}

static size_t nth_newline(const char *s, int k)
{
	size_t i = 0;
	for (int seen = 0;; i++)
		if (s[i] == '\n' && ++seen == k)
			return i;
}

static void m_signature(json_t *r)
{
	json_t *a = json_object_get(stmt(r, 0), "a");
	size_t len = json_string_length(json_object_get(a, "checkpoint"));
	const char *s = json_string_value(json_object_get(a, "checkpoint"));
	set_note(a, len - 10, s[len - 10] == 'A' ? 'B' : 'A');
}
static void m_root(json_t *r)
{
	json_t *a = json_object_get(stmt(r, 0), "a");
	const char *s = json_string_value(json_object_get(a, "checkpoint"));
	size_t p = nth_newline(s, 2) + 3;
	set_note(a, p, s[p] == 'A' ? 'B' : 'A');
}
static void m_size(json_t *r)
{
	json_t *a = json_object_get(stmt(r, 0), "a");
	const char *s = json_string_value(json_object_get(a, "checkpoint"));
	set_note(a, nth_newline(s, 1) + 1, '8');
}
static void m_key(json_t *r)
{
	json_object_set_new(r, "relay_key", json_string(other_vkey));
}
static void m_proof(json_t *r)
{
	json_t *p = json_object_get(json_object_get(stmt(r, 1), "b"), "proof");
	char *s = strdup(json_string_value(json_array_get(p, 0)));
	s[5] = s[5] == '0' ? '1' : '0';
	json_array_set_new(p, 0, json_string(s));
	free(s);
}
static void m_leaf(json_t *r)
{
	json_t *b = json_object_get(stmt(r, 1), "b");
	char *s = strdup(json_string_value(json_object_get(b, "leaf")));
	s[100] = s[100] == '0' ? '1' : '0';
	json_object_set_new(b, "leaf", json_string(s));
	free(s);
}
static void m_index(json_t *r)
{
	json_object_set_new(json_object_get(stmt(r, 1), "a"), "index", json_integer(IDX + 1));
	json_object_set_new(json_object_get(stmt(r, 1), "b"), "index", json_integer(IDX + 1));
}
static void m_kind_up(json_t *r)
{
	json_object_set_new(stmt(r, 2), "kind", json_string("fork"));
}
static void m_kind_down(json_t *r)
{
	json_object_set_new(stmt(r, 0), "kind", json_string("report"));
}
static void m_data_note(json_t *r)
{
	/* a signed note smuggled in as data (parley writes it as a checkpoint) */
	json_object_set_new(json_object_get(stmt(r, 3), "b"), "data", pl_json_b64(b7, b7n));
}
static void m_other_note(json_t *r)
{
	json_object_set_new(json_object_get(stmt(r, 0), "b"), "checkpoint",
			    json_stringn((const char *)x7, x7n));
}
static void m_swap_leaf_note(json_t *r)
{
	/* the leaf half of tree b proved against tree a's checkpoint */
	json_object_set_new(json_object_get(stmt(r, 1), "b"), "checkpoint",
			    json_stringn((const char *)a7, a7n));
}

static void test_tampered_fields_refused(void **st)
{
	(void)st;
	static const struct {
		const char *what;
		void (*f)(json_t *);
	} m[] = {
	    {"signature", m_signature},
	    {"root", m_root},
	    {"size", m_size},
	    {"relay key", m_key},
	    {"proof", m_proof},
	    {"leaf", m_leaf},
	    {"index", m_index},
	    {"kind up", m_kind_up},
	    {"kind down", m_kind_down},
	    {"data", m_data_note},
	    {"other key", m_other_note},
	    {"swap", m_swap_leaf_note},
	};
	pl_evidence_row rows[NROWS];
	size_t n;
	rows_all(rows);
	char *file = build(rows, NROWS, NULL, &n);
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		size_t tn;
		char *t = mutate(file, n, m[i].f, &tn);
		assert_non_null(t);
		if (tn == n && memcmp(t, file, n) == 0)
			fail_msg("%s: the change changed nothing", m[i].what);
		pl_err e;
		pl_err_clear(&e);
		pl_evidence_summary s;
		if (pl_evidence_verify(&s, (uint8_t *)t, tn, NULL, &e) == 0)
			fail_msg("%s: a tampered file verified", m[i].what);
		if (e.code != PL_EXIT_SECURITY && e.code != PL_EXIT_INPUT)
			fail_msg("%s: exit %d (%s)", m[i].what, e.code, e.msg);
		if (strchr(e.msg, '\n') != NULL || e.msg[0] == '\0')
			fail_msg("%s: not one line: %s", m[i].what, e.msg);
		assert_int_equal(s.n, 0); /* nothing reported from a refused file */
		free(t);
	}
	free(file);
}

/* 1 iff offset i lies inside the value of a "reason", "recorded" or "data"
 * key: the vault's words and the bytes it kept, which no signature binds. */
static int unsigned_value(const char *f, size_t i)
{
	static const char *const keys[] = {"\"reason\": \"", "\"recorded\": \"", "\"data\": \""};
	for (size_t k = 0; k < 3; k++)
		for (const char *p = strstr(f, keys[k]); p; p = strstr(p + 1, keys[k])) {
			size_t start = (size_t)(p - f) + strlen(keys[k]);
			size_t end = (size_t)(strchr(f + start, '"') - f);
			if (i >= start && i < end)
				return 1;
		}
	return 0;
}

static void test_every_signed_byte(void **st)
{
	(void)st;
	pl_evidence_row rows[NROWS];
	size_t n, refused = 0, words = 0;
	rows_all(rows);
	char *file = build(rows, NROWS, NULL, &n);
	char *c = malloc(n);
	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		memcpy(c, file, n);
		c[i] ^= c[i] == '\n' ? 0x20 : 0x01;
		pl_evidence_summary s;
		pl_err e;
		pl_err_clear(&e);
		int rc = pl_evidence_verify(&s, (uint8_t *)c, n, vkey, &e);
		if (rc == 0) {
			/* only the unsigned words may change, and never a verdict */
			if (!unsigned_value(file, i))
				fail_msg("flip at %zu (%.20s) verified", i, file + i);
			assert_int_equal(s.n_proved, 2);
			assert_int_equal(s.st[0].kind, PL_EV_FORK);
			assert_int_equal(s.st[1].kind, PL_EV_LEAF);
			words++;
		} else {
			if (e.code != PL_EXIT_SECURITY && e.code != PL_EXIT_INPUT)
				fail_msg("flip at %zu: exit %d", i, e.code);
			refused++;
		}
		pl_evidence_summary_free(&s);
	}
	free(c);
	free(file);
	assert_true(refused > n * 9 / 10);
	assert_true(words > 0); /* the test reached the vault's words too */
}

/* --- the decoder -------------------------------------------------------------------- */

static void test_decoder_refuses(void **st)
{
	(void)st;
	pl_evidence_row rows[NROWS];
	size_t n;
	rows_all(rows);
	char *file = build(rows, 2, NULL, &n);
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"format\": \"parley-relay-evidence\"}",
	    "{\n  \"format\": \"parley-relay-evidence\",\n  \"version\": 1,\n  \"relay_key\": "
	    "\"x\",\n  \"statements\": []\n}\n",
	};
	pl_err e;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_err_clear(&e);
		assert_int_equal(
		    pl_evidence_verify(NULL, (const uint8_t *)bad[i], strlen(bad[i]), NULL, &e),
		    -1);
		assert_int_equal(e.code, PL_EXIT_INPUT);
	}
	/* not byte for byte what parley writes: one more newline, a missing brace
	 * (a missing final newline alone is framing: docs/PROTOCOL.md) */
	char *t = malloc(n + 1);
	memcpy(t, file, n);
	t[n] = '\n';
	pl_err_clear(&e);
	assert_int_equal(pl_evidence_verify(NULL, (uint8_t *)t, n + 1, NULL, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_int_equal(pl_evidence_verify(NULL, (uint8_t *)file, n - 2, NULL, &e), -1);
	free(t);

	/* shape: unknown key, a reason on two lines, a bad time, a version 2 */
	static const char *const from[] = {"\"kind\": \"fork\"", "\"reason\": \"signed",
					   "\"recorded\": \"2025", "\"version\": 1"};
	static const char *const to[] = {"\"kinds\": \"fork\"", "\"reason\": \"\\nsigned",
					 "\"recorded\": \"1925", "\"version\": 2"};
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
		const char *p = strstr(file, from[i]);
		assert_non_null(p);
		size_t off = (size_t)(p - file), fl = strlen(from[i]), tl = strlen(to[i]);
		char *m = malloc(n + tl);
		memcpy(m, file, off);
		memcpy(m + off, to[i], tl);
		memcpy(m + off + tl, file + off + fl, n - off - fl);
		pl_err_clear(&e);
		assert_int_equal(pl_evidence_verify(NULL, (uint8_t *)m, n - fl + tl, NULL, &e), -1);
		assert_int_equal(e.code, PL_EXIT_INPUT);
		free(m);
	}
	/* an expected party key makes no sense for relay evidence */
	static const uint8_t k[1][PL_IK_LEN] = {{1}};
	pl_verify_opts vo = {.expect = k, .n_expect = 1};
	pl_err_clear(&e);
	assert_int_equal(pl_verify_bytes_ex((uint8_t *)file, n, &vo, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_and_verify),
	    cmocka_unit_test(test_reports_only_not_proved),
	    cmocka_unit_test(test_tampered_fields_refused),
	    cmocka_unit_test(test_every_signed_byte),
	    cmocka_unit_test(test_decoder_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
