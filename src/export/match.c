/*
 * match.c (export) — the proof of a mutual intent (see export/match.h).
 *
 * It must never report a file valid unless both statements' signatures
 * verified, they are about the same match and topic, each names the other
 * as its peer, and the file is exactly what parley writes for them.
 */
#include "export/match.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "util/codec.h"

#define NOT_INTENT "not a valid proof of mutual intent: "

/* Decodes and pairs two statements: s[0] the one signed by the lower key.
 * *swapped: a was the higher. */
static int pair(pl_match_intent s[2], const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
		int *swapped, pl_err *e)
{
	pl_match_intent x, y;
	if (pl_match_intent_decode(&x, a, na) != 0 || pl_match_intent_decode(&y, b, nb) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_INTENT "a statement is malformed or its signature does not "
					     "verify under the key it names");
	if (memcmp(x.id, y.id, PL_MATCH_ID_LEN) != 0 || strcmp(x.topic, y.topic) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_INTENT "the two statements are about different matches or "
					     "topics");
	if (sodium_memcmp(x.signer, y.peer, PL_IK_LEN) != 0 ||
	    sodium_memcmp(y.signer, x.peer, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_INTENT "the two statements do not name each other's signer "
					     "as their peer");
	*swapped = memcmp(x.signer, y.signer, PL_IK_LEN) > 0;
	s[0] = *swapped ? y : x;
	s[1] = *swapped ? x : y;
	return 0;
}

int pl_intent_export_json(json_t **out, const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
			  pl_err *e)
{
	pl_match_intent s[2];
	int sw;
	*out = NULL;
	if (pair(s, a, na, b, nb, &sw, e) != 0)
		return -1;
	json_t *j = json_object(), *arr = json_array();
	int bad = j == NULL || arr == NULL;
	bad |= pl_json_set(j, "format", json_string(PL_INTENT_FORMAT));
	bad |= pl_json_set(j, "version", json_integer(PL_EXPORT_VERSION));
	bad |= pl_json_set(j, "match", pl_json_hex(s[0].id, PL_MATCH_ID_LEN));
	bad |= pl_json_set(j, "topic", json_string(s[0].topic));
	if (!bad) {
		json_t *first = sw ? pl_json_b64(b, nb) : pl_json_b64(a, na);
		json_t *second = sw ? pl_json_b64(a, na) : pl_json_b64(b, nb);
		bad |= first == NULL || json_array_append_new(arr, first) != 0;
		bad |= second == NULL || json_array_append_new(arr, second) != 0;
	}
	bad |= pl_json_set(j, "statements", arr);
	if (bad) {
		json_decref(j);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	*out = j;
	return 0;
}

int pl_intent_export_write(const char *path, const uint8_t *a, size_t na, const uint8_t *b,
			   size_t nb, pl_err *e)
{
	json_t *j;
	if (pl_intent_export_json(&j, a, na, b, nb, e) != 0)
		return -1;
	int rc = pl_export_write_file(path, j, e);
	json_decref(j);
	return rc;
}

int pl_intent_verify_ex(pl_intent_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	static const char *const keys[] = {"format", "version", "match", "topic", "statements"};
	pl_intent_summary t;
	uint8_t *st[2] = {NULL, NULL};
	size_t sn[2] = {0, 0};
	json_t *canon = NULL;
	int rc = -1, sw;
	memset(&t, 0, sizeof t);
	if (s)
		memset(s, 0, sizeof *s);
	json_t *root = pl_json_load(file, n, NOT_INTENT, e);
	if (root == NULL)
		return -1;
	if (pl_json_exact_keys(root, keys, 5, NOT_INTENT, "the file", e) != 0 ||
	    pl_json_header_check(root, PL_INTENT_FORMAT, PL_EXPORT_VERSION, NOT_INTENT, e) != 0)
		goto out;
	json_t *arr = json_object_get(root, "statements");
	if (!json_is_array(arr) || json_array_size(arr) != 2) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_INTENT "\"statements\" is not a list of two");
		goto out;
	}
	for (int i = 0; i < 2; i++)
		if (pl_json_b64_var(&st[i], &sn[i], PL_MATCH_INTENT_MAX, json_array_get(arr, i)) !=
		    0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   NOT_INTENT "statement %d is not canonical base64", i + 1);
			goto out;
		}
	if (pair(t.stmt, st[0], sn[0], st[1], sn[1], &sw, e) != 0)
		goto out;
	if (sw) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_INTENT "the statements are out of order (lower signer key first)");
		goto out;
	}
	uint8_t id[PL_MATCH_ID_LEN];
	const char *topic = json_string_value(json_object_get(root, "topic"));
	if (pl_json_hex_field(id, PL_MATCH_ID_LEN, json_object_get(root, "match")) != 0 ||
	    memcmp(id, t.stmt[0].id, PL_MATCH_ID_LEN) != 0 || topic == NULL ||
	    strcmp(topic, t.stmt[0].topic) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   NOT_INTENT "its \"match\" or \"topic\" is not what the statements say");
		goto out;
	}
	if (pl_intent_export_json(&canon, st[0], sn[0], st[1], sn[1], e) != 0 ||
	    pl_json_same_bytes(canon, file, n, NOT_INTENT, e) != 0)
		goto out;
	uint8_t signers[2][PL_IK_LEN];
	for (int i = 0; i < 2; i++) {
		memcpy(signers[i], t.stmt[i].signer, PL_IK_LEN);
		pl_fingerprint(t.fp[i], t.stmt[i].signer);
	}
	if (pl_export_expect_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers, 2,
				   "mutual intent", e) != 0)
		goto out;
	for (size_t i = 0; i < n_expect; i++)
		for (int k = 0; k < 2; k++)
			if (sodium_memcmp(expect[i], signers[k], PL_IK_LEN) == 0)
				t.expect_matched |= 1u << k;
	if (s)
		*s = t;
	rc = 0;
out:
	json_decref(canon);
	json_decref(root);
	free(st[0]);
	free(st[1]);
	return rc;
}

int pl_intent_verify(pl_intent_summary *s, const uint8_t *file, size_t n, pl_err *e)
{
	return pl_intent_verify_ex(s, file, n, NULL, 0, e);
}

void pl_intent_summary_print(FILE *out, const pl_intent_summary *s)
{
	char hex[2 * PL_MATCH_ID_LEN + 1], t[PL_EXPORT_TIME_BUF];
	pl_hex_encode(hex, s->stmt[0].id, PL_MATCH_ID_LEN);
	fprintf(out,
		"mutual intent: %.11s and %.11s both committed to talk about \"%s\" (match %s)\n",
		s->fp[0], s->fp[1], s->stmt[0].topic, hex);
	for (int i = 0; i < 2; i++) {
		pl_export_fmt_time(t, s->stmt[i].created);
		fprintf(out,
			"  key fingerprint %s signed, %s by its own clock, naming the other as "
			"its peer%s\n",
			s->fp[i], t,
			s->expect_matched & (1u << i) ? " (--expect-key matched)" : "");
	}
	if (s->expect_matched == 0)
		fputs("  this proves only that these two keys signed, not who holds them: compare "
		      "the fingerprints with the ones each party gave you in person, or check "
		      "with --expect-key KEY\n",
		      out);
}

json_t *pl_intent_summary_json(const pl_intent_summary *s)
{
	json_t *j = json_object(), *parties = json_array();
	int bad = j == NULL || parties == NULL;
	bad |= pl_json_set(j, "valid", json_true());
	bad |= pl_json_set(j, "format", json_string(PL_INTENT_FORMAT));
	bad |= pl_json_set(j, "match", pl_json_hex(s->stmt[0].id, PL_MATCH_ID_LEN));
	bad |= pl_json_set(j, "topic", json_string(s->stmt[0].topic));
	for (int i = 0; i < 2 && !bad; i++) {
		json_t *p = pl_json_key(s->stmt[i].signer, s->fp[i]);
		bad |= p == NULL;
		bad |= !bad && pl_json_set(p, "signed_at", pl_json_shown_time(s->stmt[i].created));
		bad |=
		    !bad && pl_json_set(p, "expected", json_boolean(s->expect_matched & (1u << i)));
		bad |= !bad && json_array_append_new(parties, p) != 0;
	}
	bad |= pl_json_set(j, "parties", parties);
	bad |= pl_json_set(j, "proves",
			   json_string(s->expect_matched == 3
					   ? "the expected keys signed"
					   : "only that these two keys signed, not who "
					     "holds them"));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}
