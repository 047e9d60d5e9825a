/*
 * test_note.c — src/log/note (C2SP signed notes, Ed25519 keys, checkpoints)
 * against the Go sumdb/note and C2SP vectors in tests/vectors/tlog/
 * signed-note, and against itself:
 *   - vkeys parse to their published key ids and format back byte for
 *     byte; Go skeys give the vkey's public key; signing Go's text with
 *     Go's key reproduces Go's signed note exactly (Ed25519 is
 *     deterministic);
 *   - valid notes verify with the right keys, with one of two keys known,
 *     and not with none; every negative/NAME.note gets NAME.expect;
 *   - known-key semantics: a failing signature by a known key rejects the
 *     whole note, unknown keys (name or id differs) are ignored, the
 *     100-signature cap, name rules;
 *   - sign → open round trips; every flipped byte and every truncation of
 *     a signed note fails;
 *   - checkpoint parse/format strictness and pl_checkpoint_open.
 *
 * Vectors are found by pl_test_find_vecdir (support.h: $PARLEY_SRCDIR, then
 * relative to the binary, then to the working directory).
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "log/merkle.h"
#include "log/note.h"
#include "support.h"

/* Reads signed-note/<rel>; *len excludes the NUL added for convenience. */
static uint8_t *slurp(const char *rel, size_t *len)
{
	char r[PATH_MAX];
	snprintf(r, sizeof r, "signed-note/%s", rel);
	return pl_test_read_vec(r, len);
}

/* A key file: its one line, without the final newline. */
static void load_vkey(pl_note_vkey *k, const char *rel)
{
	size_t n;
	uint8_t *b = slurp(rel, &n);
	assert_true(n > 0 && b[n - 1] == '\n');
	assert_int_equal(pl_note_vkey_parse(k, (const char *)b, n - 1), 0);
	free(b);
}

static void load_skey(pl_note_skey *k, const char *rel)
{
	size_t n;
	uint8_t *b = slurp(rel, &n);
	assert_true(n > 0 && b[n - 1] == '\n');
	assert_int_equal(pl_note_skey_parse(k, (const char *)b, n - 1), 0);
	sodium_memzero(b, n);
	free(b);
}

static pl_note_vkey peter, enoch, sumdb, c2sp;

static int keys_setup(void **state)
{
	(void)state;
	load_vkey(&peter, "go-peterneumann.vkey");
	load_vkey(&enoch, "go-enochroot.vkey");
	load_vkey(&sumdb, "go-sumdb-test.vkey");
	load_vkey(&c2sp, "c2sp-example.vkey");
	return 0;
}

static pl_note_status open_file(const char *rel, const pl_note_vkey *known, size_t nknown,
				pl_note *n)
{
	size_t len;
	pl_note tmp;
	uint8_t *b = slurp(rel, &len);
	pl_note_status st = pl_note_open(n ? n : &tmp, b, len, known, nknown);
	if (n == NULL || st != PL_NOTE_VERIFIED)
		free(b);
	/* on success n->text points into b, which the caller frees via n->text */
	return st;
}

static void make_skey(pl_note_skey *k, pl_note_vkey *v, const char *name)
{
	uint8_t pk[32];
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", name);
	crypto_sign_keypair(pk, k->sk);
	assert_int_equal(pl_note_keyid(&k->keyid, name, pk), 0);
	pl_note_skey_public(v, k);
}

/* ---- keys ---- */

static void test_vkeys(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		const pl_note_vkey *k;
		const char *name;
		uint32_t id;
	} cases[] = {
	    {"go-peterneumann.vkey", &peter, "PeterNeumann", 0xc74f20a3},
	    {"go-enochroot.vkey", &enoch, "EnochRoot", 0xaf0cfe78},
	    {"go-sumdb-test.vkey", &sumdb, "localhost.localdev/sumdb", 0x00000c67},
	    {"c2sp-example.vkey", &c2sp, "example.com/foo", 0x530d903a},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[PL_NOTE_VKEY_MAX];
		size_t n;
		uint32_t id;
		uint8_t *b = slurp(cases[i].file, &n);
		assert_string_equal(cases[i].k->name, cases[i].name);
		assert_int_equal(cases[i].k->keyid, cases[i].id);
		assert_int_equal(pl_note_keyid(&id, cases[i].k->name, cases[i].k->pk), 0);
		assert_int_equal(id, cases[i].id);
		assert_int_equal(
		    pl_note_vkey_format(out, sizeof out, cases[i].k->name, cases[i].k->pk), 0);
		assert_int_equal(strlen(out), n - 1);
		assert_memory_equal(out, b, n - 1);
		/* too small a buffer: refused, and an empty string left behind */
		assert_int_equal(pl_note_vkey_format(out, n - 1, cases[i].k->name, cases[i].k->pk),
				 -1);
		assert_string_equal(out, "");
		free(b);
	}
}

static void test_skeys(void **state)
{
	(void)state;
	pl_note_skey k;
	pl_note_vkey v;
	load_skey(&k, "go-peterneumann.skey");
	pl_note_skey_public(&v, &k);
	assert_string_equal(v.name, peter.name);
	assert_int_equal(v.keyid, 0xc74f20a3);
	assert_memory_equal(v.pk, peter.pk, 32);
	load_skey(&k, "go-sumdb-test.skey");
	pl_note_skey_public(&v, &k);
	assert_string_equal(v.name, sumdb.name);
	assert_int_equal(v.keyid, 0x00000c67);
	assert_memory_equal(v.pk, sumdb.pk, 32);
	sodium_memzero(&k, sizeof k);
}

static void expect_vkey_bad(const char *s)
{
	pl_note_vkey v;
	memset(&v, 0x5a, sizeof v);
	pl_note_vkey keep = v;
	if (pl_note_vkey_parse(&v, s, strlen(s)) == 0)
		fail_msg("vkey accepted: %s", s);
	assert_memory_equal(&v, &keep, sizeof v);
}

static void test_vkey_strictness(void **state)
{
	(void)state;
	const char *good = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	pl_note_vkey v;
	assert_int_equal(pl_note_vkey_parse(&v, good, strlen(good)), 0);
	expect_vkey_bad("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a3+AhpcxQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n");
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=");
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T");
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX");
	expect_vkey_bad("PeterNeumann+c74f20a3+ ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann c74f20a3 ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a3");
	expect_vkey_bad("PeterNeumann+c74f20a3+");
	expect_vkey_bad("PeterNeumann");
	expect_vkey_bad("");
	/* bytes ≥ 0x80 where base64 belongs (libsodium 1.0.18 would take them) */
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq\xd7LDE4izWy10TW");
	expect_vkey_bad("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmq\xc3\xa9LDE4izWy10TW");
	/* a 0x02 (ECDSA) type byte: not an Ed25519 key */
	expect_vkey_bad("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	/* the length given is what counts, not a NUL */
	assert_int_equal(pl_note_vkey_parse(&v, good, strlen(good) - 1), -1);

	pl_note_skey k;
	const char *sk =
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	assert_int_equal(pl_note_skey_parse(&k, sk, strlen(sk)), 0);
	assert_int_equal(pl_note_skey_parse(&k, sk + 8, strlen(sk) - 8), -1);
	const char *bad_id =
	    "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	const char *bad_seed =
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFA";
	const char *lower =
	    "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
	assert_int_equal(pl_note_skey_parse(&k, bad_id, strlen(bad_id)), -1);
	assert_int_equal(pl_note_skey_parse(&k, bad_seed, strlen(bad_seed)), -1);
	assert_int_equal(pl_note_skey_parse(&k, lower, strlen(lower)), -1);
	sodium_memzero(&k, sizeof k);
}

static void test_name_rules(void **state)
{
	(void)state;
	static const char *const good[] = {"a",
					   "example.com/log",
					   "PeterNeumann",
					   "\xc3\xa9t\xc3\xa9",
					   "x\xe2\x80\x94y" /* em dash is not a space */,
					   "a\xc2\xa1" /* U+00A1, past C1 and NBSP */};
	static const char *const bad[] = {"",
					  "a b",
					  "a+b",
					  "a\tb",
					  "a\nb",
					  "a\x01",
					  "a\xc2\xa0",
					  /* NBSP */ "a\xe3\x80\x80" /* U+3000 */,
					  "a\xe2\x80\xa8",
					  "a\xc2\x85" /* NEL */,
					  "\xff",
					  "\xc0\xaf" /* overlong */,
					  "\xed\xa0\x80" /* surrogate */,
					  "a\x7f",
					  "a\xc2\x80" /* C1, first */,
					  "a\xc2\x9b" /* C1 CSI */,
					  "a\xc2\x9f" /* C1, last */};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(pl_note_name_check(good[i], strlen(good[i])), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (pl_note_name_check(bad[i], strlen(bad[i])) == 0)
			fail_msg("name accepted: bad[%zu]", i);
	char longname[PL_NOTE_NAME_MAX + 2];
	memset(longname, 'n', sizeof longname);
	assert_int_equal(pl_note_name_check(longname, PL_NOTE_NAME_MAX), 0);
	assert_int_equal(pl_note_name_check(longname, PL_NOTE_NAME_MAX + 1), -1);
	uint32_t id;
	uint8_t pk[32] = {0};
	assert_int_equal(pl_note_keyid(&id, "a b", pk), -1);
}

/* ---- notes ---- */

static void test_go_sign_matches(void **state)
{
	(void)state;
	pl_note_skey k;
	size_t tl, nl, outlen;
	uint8_t *text = slurp("go-text.txt", &tl);
	uint8_t *want = slurp("go-signed-peter.note", &nl);
	uint8_t out[1024];
	load_skey(&k, "go-peterneumann.skey");
	assert_int_equal(pl_note_signed_len(tl, strlen(k.name)), nl);
	assert_int_equal(pl_note_sign(out, sizeof out, &outlen, text, tl, &k), 0);
	assert_int_equal(outlen, nl);
	assert_memory_equal(out, want, nl);
	/* one byte short of room: refused */
	assert_int_equal(pl_note_sign(out, nl - 1, &outlen, text, tl, &k), -1);
	sodium_memzero(&k, sizeof k);
	free(text);
	free(want);
}

static void test_valid_notes(void **state)
{
	(void)state;
	pl_note n;
	size_t tl;
	uint8_t *text = slurp("go-text.txt", &tl);
	pl_note_vkey both[2] = {peter, enoch}, only_enoch[1] = {enoch};

	assert_int_equal(open_file("go-signed-peter.note", &peter, 1, &n), PL_NOTE_VERIFIED);
	assert_int_equal(n.textlen, tl);
	assert_memory_equal(n.text, text, tl);
	assert_int_equal(n.nsigs, 1);
	assert_int_equal(n.nverified, 1);
	assert_int_equal(n.verified[0], 0);
	free((void *)n.text);
	assert_int_equal(open_file("go-signed-peter.note", only_enoch, 1, NULL),
			 PL_NOTE_UNVERIFIED);
	assert_int_equal(open_file("go-signed-peter.note", NULL, 0, NULL), PL_NOTE_UNVERIFIED);

	/* two signatures: both keys known, or only one (the other is ignored) */
	assert_int_equal(open_file("go-signed-peter-enoch.note", both, 2, &n), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(n.nverified, 2);
	assert_memory_equal(n.text, text, tl);
	free((void *)n.text);
	assert_int_equal(open_file("go-signed-peter-enoch.note", &peter, 1, &n), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(n.nverified, 1);
	assert_int_equal(n.verified[0], 0);
	free((void *)n.text);
	assert_int_equal(open_file("go-signed-peter-enoch.note", only_enoch, 1, &n),
			 PL_NOTE_VERIFIED);
	assert_int_equal(n.nverified, 1);
	free((void *)n.text);
	/* several keys known, only the second signed */
	pl_note_vkey many[3] = {sumdb, c2sp, peter};
	assert_int_equal(open_file("go-signed-peter.note", many, 3, &n), PL_NOTE_VERIFIED);
	assert_int_equal(n.verified[0], 2);
	free((void *)n.text);

	assert_int_equal(open_file("c2sp-example.note", &c2sp, 1, &n), PL_NOTE_VERIFIED);
	assert_int_equal(n.textlen, strlen("This is an example message.\n"));
	assert_memory_equal(n.text, "This is an example message.\n", n.textlen);
	free((void *)n.text);
	assert_int_equal(open_file("c2sp-example.note", &peter, 1, NULL), PL_NOTE_UNVERIFIED);
	free(text);
}

static void test_negative_vectors(void **state)
{
	(void)state;
	char dir[2 * PATH_MAX];
	int count = 0;
	pl_test_vec_path(dir, sizeof dir, "signed-note/negative");
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 6 || strcmp(e->d_name + nl - 5, ".note") != 0)
			continue;
		char rel[NAME_MAX + 32], exp[NAME_MAX + 32], word[32];
		size_t el;
		snprintf(rel, sizeof rel, "negative/%s", e->d_name);
		snprintf(exp, sizeof exp, "negative/%.*s.expect", (int)(nl - 5), e->d_name);
		uint8_t *eb = slurp(exp, &el);
		assert_int_equal(sscanf((const char *)eb, "%31s", word), 1);
		free(eb);
		pl_note_status st = open_file(rel, &peter, 1, NULL);
		if (strcmp(pl_note_status_str(st), word) != 0)
			fail_msg("%s: expected %s, got %s", rel, word, pl_note_status_str(st));
		count++;
	}
	closedir(d);
	assert_int_equal(count, 11);
}

/* Concatenates NUL-terminated pieces into buf (test helper). */
static size_t build(uint8_t *buf, size_t cap, const char *const *parts, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t pl = strlen(parts[i]);
		assert_true(len + pl <= cap);
		memcpy(buf + len, parts[i], pl);
		len += pl;
	}
	return len;
}

/* Replaces the base64 character at position `at` of the signature on a
 * line that starts with "— <name> " by another one (same decoded length). */
static void corrupt_sig(char *line, size_t at)
{
	char *b = strrchr(line, ' ') + 1;
	b[at] = b[at] == 'A' ? 'B' : 'A';
}

static void test_known_key_semantics(void **state)
{
	(void)state;
	size_t tl;
	uint8_t *text = slurp("go-text.txt", &tl);
	uint8_t buf[16384];
	pl_note n;
	const char *t = (const char *)text;
	char psig[256], esig[256], pbad[256], ebad[256];
	snprintf(psig, sizeof psig, "%s",
		 "\xe2\x80\x94 PeterNeumann "
		 "x08go/ZJkuBS9UG/"
		 "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
	snprintf(esig, sizeof esig, "%s",
		 "\xe2\x80\x94 EnochRoot "
		 "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
		 "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n");
	memcpy(pbad, psig, sizeof psig);
	memcpy(ebad, esig, sizeof esig);
	corrupt_sig(pbad, 40);
	corrupt_sig(ebad, 40);
	pl_note_vkey both[2] = {peter, enoch};

	/* a good and a bad signature by the same known key: reject, either order */
	const char *p1[] = {t, "\n", psig, pbad};
	size_t len = build(buf, sizeof buf, p1, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_INVALID);
	const char *p2[] = {t, "\n", pbad, psig};
	len = build(buf, sizeof buf, p2, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_INVALID);
	/* a repeated good signature is fine and counts once */
	const char *p3[] = {t, "\n", psig, psig};
	len = build(buf, sizeof buf, p3, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, 2);
	assert_int_equal(n.nverified, 1);

	/* Enoch's signature broken: ignored while Enoch is unknown, fatal once known */
	const char *p4[] = {t, "\n", psig, ebad};
	len = build(buf, sizeof buf, p4, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_VERIFIED);
	assert_int_equal(pl_note_open(&n, buf, len, both, 2), PL_NOTE_INVALID);
	assert_int_equal(pl_note_open(&n, buf, len, &enoch, 1), PL_NOTE_INVALID);

	/* same name, other key id; other name, same key id: unknown, ignored */
	char otherid[256], othername[256];
	snprintf(otherid, sizeof otherid, "%s", psig);
	corrupt_sig(otherid, 0); /* first base64 char: the key id */
	snprintf(othername, sizeof othername, "%s",
		 "\xe2\x80\x94 PeterNeumanm "
		 "x08go/ZJkuBS9UG/"
		 "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
	const char *p5[] = {t, "\n", otherid, othername};
	len = build(buf, sizeof buf, p5, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_UNVERIFIED);
	const char *p6[] = {t, "\n", otherid, psig, othername};
	len = build(buf, sizeof buf, p6, 5);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, 3);

	/* a known key's signature of the wrong length is invalid, an unknown
	 * key's is only syntax (≥ 5 bytes, any algorithm) */
	const char *p7[] = {t, "\n", "\xe2\x80\x94 PeterNeumann x08go/ZJ\n"};
	len = build(buf, sizeof buf, p7, 3);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_INVALID);
	const char *p8[] = {t, "\n", psig, "\xe2\x80\x94 witness.example/w AAAAAAA=\n"};
	len = build(buf, sizeof buf, p8, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_VERIFIED);
	const char *p9[] = {t, "\n", psig, "\xe2\x80\x94 witness.example/w AAAAAA==\n"};
	len = build(buf, sizeof buf, p9, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_MALFORMED);
	/* base64 with non-zero padding bits is not canonical */
	const char *p10[] = {t, "\n", psig, "\xe2\x80\x94 witness.example/w AAAAAAB=\n"};
	len = build(buf, sizeof buf, p10, 4);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_MALFORMED);

	/* a UTF-8 character inside the base64 is malformed, not a bad signature */
	char putf[256];
	memcpy(putf, psig, sizeof psig);
	memcpy(strrchr(putf, ' ') + 41, "\xc3\xa9", 2);
	const char *p11[] = {t, "\n", putf};
	len = build(buf, sizeof buf, p11, 3);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_MALFORMED);

	/* the cap: 100 signature lines are accepted, 101 are not */
	const char *parts[104];
	size_t np = 0;
	parts[np++] = t;
	parts[np++] = "\n";
	for (int i = 0; i < 99; i++)
		parts[np++] = "\xe2\x80\x94 witness.example/w AAAAAAA=\n";
	parts[np++] = psig;
	len = build(buf, sizeof buf, parts, np);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, 100);
	parts[np++] = psig;
	len = build(buf, sizeof buf, parts, np);
	assert_int_equal(pl_note_open(&n, buf, len, &peter, 1), PL_NOTE_MALFORMED);

	/* the last empty line separates: text may contain empty lines */
	pl_note_skey k;
	pl_note_vkey v;
	make_skey(&k, &v, "relay.example/log");
	const char *txt = "first\n\nthird\n\n";
	size_t outlen;
	assert_int_equal(
	    pl_note_sign(buf, sizeof buf, &outlen, (const uint8_t *)txt, strlen(txt), &k), 0);
	assert_int_equal(pl_note_open(&n, buf, outlen, &v, 1), PL_NOTE_VERIFIED);
	assert_int_equal(n.textlen, strlen(txt));
	assert_memory_equal(n.text, txt, n.textlen);
	assert_int_equal(pl_note_sign(buf, sizeof buf, &outlen, (const uint8_t *)"\n", 1, &k), 0);
	assert_int_equal(pl_note_open(&n, buf, outlen, &v, 1), PL_NOTE_VERIFIED);
	assert_int_equal(n.textlen, 1);
	/* text that cannot be a note text is not signed */
	static const char *const badtext[] = {"", "no newline", "ctl\x01\n", "bad\xff\n", "cr\r\n"};
	for (size_t i = 0; i < sizeof badtext / sizeof badtext[0]; i++)
		assert_int_equal(pl_note_sign(buf, sizeof buf, &outlen, (const uint8_t *)badtext[i],
					      strlen(badtext[i]), &k),
				 -1);
	/* nor with a bad name, or a key id that is not the key's */
	pl_note_skey bad = k;
	snprintf(bad.name, sizeof bad.name, "a b");
	assert_int_equal(pl_note_sign(buf, sizeof buf, &outlen, (const uint8_t *)"x\n", 2, &bad),
			 -1);
	bad = k;
	bad.keyid ^= 1;
	assert_int_equal(pl_note_sign(buf, sizeof buf, &outlen, (const uint8_t *)"x\n", 2, &bad),
			 -1);
	sodium_memzero(&k, sizeof k);
	sodium_memzero(&bad, sizeof bad);
	free(text);
}

static void test_roundtrip_flips_truncations(void **state)
{
	(void)state;
	pl_note_skey k;
	pl_note_vkey v;
	pl_note n;
	uint8_t note[1024], m[1024];
	size_t len;
	const char *text = "relay.example/log\n42\nfakeRootfakeRootfakeRootfakeRootfakeRoot+/0=\n";
	make_skey(&k, &v, "relay.example/log");
	assert_int_equal(
	    pl_note_sign(note, sizeof note, &len, (const uint8_t *)text, strlen(text), &k), 0);
	assert_int_equal(len, pl_note_signed_len(strlen(text), strlen(k.name)));
	assert_int_equal(pl_note_open(&n, note, len, &v, 1), PL_NOTE_VERIFIED);
	assert_ptr_equal(n.text, note);
	assert_int_equal(n.textlen, strlen(text));

	static const uint8_t masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
	for (size_t i = 0; i < len; i++)
		for (size_t j = 0; j < sizeof masks; j++) {
			memcpy(m, note, len);
			m[i] ^= masks[j];
			pl_note_status st = pl_note_open(&n, m, len, &v, 1);
			if (st == PL_NOTE_VERIFIED)
				fail_msg("byte %zu ^ 0x%02x still verifies", i, masks[j]);
		}
	for (size_t l = 0; l < len; l++)
		assert_int_not_equal(pl_note_open(&n, note, l, &v, 1), PL_NOTE_VERIFIED);
	/* anything appended breaks the final newline or adds an unknown line */
	memcpy(m, note, len);
	m[len] = 'x';
	assert_int_equal(pl_note_open(&n, m, len + 1, &v, 1), PL_NOTE_MALFORMED);
	m[len] = '\n';
	assert_int_equal(pl_note_open(&n, m, len + 1, &v, 1), PL_NOTE_MALFORMED);
	/* signing in place (text already at the start of out) */
	memcpy(m, text, strlen(text));
	size_t len2;
	assert_int_equal(pl_note_sign(m, sizeof m, &len2, m, strlen(text), &k), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(m, note, len);
	sodium_memzero(&k, sizeof k);
}

/* 16 signers (what C2SP requires a verifier to accept), all known. */
static void test_sixteen_signers(void **state)
{
	(void)state;
	enum { S = 16 };
	pl_note_skey k[S];
	pl_note_vkey v[S];
	static uint8_t note[S * 512];
	uint8_t tmp[1024];
	pl_note n;
	const char *text = "cosigned\n";
	size_t len = strlen(text) + 1;
	memcpy(note, text, strlen(text));
	note[len - 1] = '\n';
	for (int i = 0; i < S; i++) {
		char name[32];
		size_t sl;
		snprintf(name, sizeof name, "witness%d.example", i);
		make_skey(&k[i], &v[i], name);
		assert_int_equal(
		    pl_note_sign(tmp, sizeof tmp, &sl, (const uint8_t *)text, strlen(text), &k[i]),
		    0);
		memcpy(note + len, tmp + strlen(text) + 1, sl - strlen(text) - 1);
		len += sl - strlen(text) - 1;
	}
	assert_int_equal(pl_note_open(&n, note, len, v, S), PL_NOTE_VERIFIED);
	assert_int_equal(n.nsigs, S);
	assert_int_equal(n.nverified, S);
	for (int i = 0; i < S; i++)
		assert_int_equal(n.verified[i], i);
	sodium_memzero(k, sizeof k);
}

/* ---- checkpoints ---- */

static int cp_parse(pl_checkpoint *c, const char *s)
{
	return pl_checkpoint_parse(c, (const uint8_t *)s, strlen(s));
}

static void test_checkpoint_golden(void **state)
{
	(void)state;
	pl_checkpoint c;
	size_t n, outlen;
	uint8_t want[32], out[512];
	uint8_t *b = slurp("go-tlog-tree-golden.txt", &n);
	assert_int_equal(pl_checkpoint_parse(&c, b, n), 0);
	assert_string_equal(c.origin, "go.sum database tree");
	assert_int_equal(c.size, 123456789012ULL);
	pl_merkle_leaf_hash(want, (const uint8_t *)"hello world", 11);
	assert_memory_equal(c.root, want, 32);
	assert_int_equal(c.extlen, 0);
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &outlen, &c), 0);
	assert_int_equal(outlen, n);
	assert_memory_equal(out, b, n);
	free(b);
}

static void test_checkpoint_strictness(void **state)
{
	(void)state;
	pl_checkpoint c;
	const char *root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	char s[1024];
	static const char *const good_sizes[] = {"0", "1", "10", "18446744073709551615"};
	static const uint64_t good_vals[] = {0, 1, 10, UINT64_MAX};
	for (size_t i = 0; i < 4; i++) {
		snprintf(s, sizeof s, "log.example\n%s\n%s\n", good_sizes[i], root);
		assert_int_equal(cp_parse(&c, s), 0);
		assert_int_equal(c.size, good_vals[i]);
	}
	static const char *const bad_sizes[] = {"",
						"00",
						"01",
						"-1",
						"+1",
						" 1",
						"1 ",
						"1.0",
						"0x10",
						"18446744073709551616",
						"99999999999999999999",
						"100000000000000000000",
						"000000000000000000001"};
	for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		snprintf(s, sizeof s, "log.example\n%s\n%s\n", bad_sizes[i], root);
		if (cp_parse(&c, s) == 0)
			fail_msg("size accepted: \"%s\"", bad_sizes[i]);
	}
	static const char *const bad_roots[] = {
	    "",
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",	/* no padding */
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",	/* padding bits */
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= ",	/* space */
	    "47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",	/* URL alphabet */
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=AAAA", /* 35 bytes */
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hS",		/* 30 bytes */
	    "ZG9uJ3QgY2FyZSAy",
	    "4\xd2\xbb"
	    "EQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", /* UTF-8 */
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hS\xc3\xa9"
	    "FU="};
	for (size_t i = 0; i < sizeof bad_roots / sizeof bad_roots[0]; i++) {
		snprintf(s, sizeof s, "log.example\n5\n%s\n", bad_roots[i]);
		if (cp_parse(&c, s) == 0)
			fail_msg("root accepted: \"%s\"", bad_roots[i]);
	}
	/* missing lines and newlines, empty origin, control characters, UTF-8 */
	static const char *const bad[] = {
	    "",
	    "log.example\n",
	    "log.example\n5\n",
	    "log.example\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	    "\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	    "log.example\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n",
	    "log.example\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n\n",
	    "log.example\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next",
	    "log.example\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ne\x01t\n",
	    "log\texample\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	    "log\xff\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	    "log.example\r\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (cp_parse(&c, bad[i]) == 0)
			fail_msg("checkpoint accepted: bad[%zu]", i);
	/* the length given is what counts: an embedded NUL is a control char */
	const uint8_t nul[] = "log\0x\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
	assert_int_equal(pl_checkpoint_parse(&c, nul, sizeof nul - 1), -1);
	/* origin length cap */
	char origin[PL_CHECKPOINT_ORIGIN_MAX + 2];
	memset(origin, 'o', sizeof origin);
	origin[PL_CHECKPOINT_ORIGIN_MAX] = '\0';
	snprintf(s, sizeof s, "%s\n5\n%s\n", origin, root);
	assert_int_equal(cp_parse(&c, s), 0);
	origin[PL_CHECKPOINT_ORIGIN_MAX] = 'o';
	origin[PL_CHECKPOINT_ORIGIN_MAX + 1] = '\0';
	snprintf(s, sizeof s, "%s\n5\n%s\n", origin, root);
	assert_int_equal(cp_parse(&c, s), -1);
	/* extension lines are kept as they are */
	snprintf(s, sizeof s, "log.example\n5\n%s\nfirst ext\nsecond ext\n", root);
	assert_int_equal(cp_parse(&c, s), 0);
	assert_int_equal(c.extlen, strlen("first ext\nsecond ext\n"));
	assert_memory_equal(c.ext, "first ext\nsecond ext\n", c.extlen);
	/* nothing is written on failure */
	pl_checkpoint keep;
	memset(&c, 0x5a, sizeof c);
	keep = c;
	assert_int_equal(cp_parse(&c, bad[6]), -1);
	assert_memory_equal(&c, &keep, sizeof c);
}

static void test_checkpoint_format(void **state)
{
	(void)state;
	pl_checkpoint c, d;
	uint8_t out[1024];
	size_t len;
	for (int i = 0; i < 200; i++) {
		memset(&c, 0, sizeof c);
		snprintf(c.origin, sizeof c.origin, "relay%u.example/log", randombytes_random());
		randombytes_buf(&c.size, sizeof c.size);
		c.size >>= randombytes_uniform(64);
		randombytes_buf(c.root, 32);
		if (i % 3 == 0) {
			c.ext = (const uint8_t *)"ext one\next two\n";
			c.extlen = strlen((const char *)c.ext);
		}
		assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), 0);
		assert_int_equal(pl_checkpoint_parse(&d, out, len), 0);
		assert_string_equal(d.origin, c.origin);
		assert_int_equal(d.size, c.size);
		assert_memory_equal(d.root, c.root, 32);
		assert_int_equal(d.extlen, c.extlen);
		if (c.extlen)
			assert_memory_equal(d.ext, c.ext, c.extlen);
		/* one byte short: refused */
		assert_int_equal(pl_checkpoint_format(out, len - 1, &len, &c), -1);
	}
	memset(&c, 0, sizeof c);
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), -1); /* empty origin */
	snprintf(c.origin, sizeof c.origin, "a\nb");
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), -1);
	snprintf(c.origin, sizeof c.origin, "ok");
	c.ext = (const uint8_t *)"\n";
	c.extlen = 1;
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), -1);
	c.ext = (const uint8_t *)"no newline";
	c.extlen = strlen("no newline");
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), -1);
	c.extlen = 0;
	c.size = 0;
	assert_int_equal(pl_checkpoint_format(out, sizeof out, &len, &c), 0);
	assert_memory_equal(out, "ok\n0\n", 5);
}

static void test_checkpoint_open(void **state)
{
	(void)state;
	pl_note_skey k, other;
	pl_note_vkey v, ov;
	pl_checkpoint c, got;
	uint8_t text[512], note[1024];
	size_t tl, nl;
	make_skey(&k, &v, "relay.example/log");
	make_skey(&other, &ov, "relay.example/other");
	memset(&c, 0, sizeof c);
	snprintf(c.origin, sizeof c.origin, "relay.example/log");
	c.size = 1000000;
	randombytes_buf(c.root, 32);
	assert_int_equal(pl_checkpoint_format(text, sizeof text, &tl, &c), 0);
	assert_int_equal(pl_note_sign(note, sizeof note, &nl, text, tl, &k), 0);
	assert_int_equal(pl_checkpoint_open(&got, note, nl, &v), PL_NOTE_VERIFIED);
	assert_string_equal(got.origin, c.origin);
	assert_int_equal(got.size, c.size);
	assert_memory_equal(got.root, c.root, 32);
	assert_int_equal(pl_checkpoint_open(&got, note, nl, &ov), PL_NOTE_UNVERIFIED);
	note[10] ^= 1;
	assert_int_equal(pl_checkpoint_open(&got, note, nl, &v), PL_NOTE_INVALID);
	/* signed by a key whose name is not the origin */
	assert_int_equal(pl_note_sign(note, sizeof note, &nl, text, tl, &other), 0);
	assert_int_equal(pl_checkpoint_open(&got, note, nl, &ov), PL_NOTE_MALFORMED);
	/* a verified note that is not a checkpoint */
	const char *plain = "relay.example/log\nhello\n";
	assert_int_equal(
	    pl_note_sign(note, sizeof note, &nl, (const uint8_t *)plain, strlen(plain), &k), 0);
	assert_int_equal(pl_checkpoint_open(&got, note, nl, &v), PL_NOTE_MALFORMED);
	sodium_memzero(&k, sizeof k);
	sodium_memzero(&other, sizeof other);
}

/* Note text's UTF-8 rules (note.c's text_ok over util/text's pl_utf8_next),
 * through every path that applies them: signing, opening, checkpoint origin
 * and extension lines. Strict RFC 3629 (no overlong forms, surrogates, code
 * points past U+10FFFF, stray or missing continuation bytes) and no C0
 * control but "\n". DEL, C1 controls, bidi overrides and line separators
 * are note text all the same (as in Go's sumdb/note): pl_text_ok's
 * stricter display rules are not the note's. */
static void test_text_utf8_rules(void **state)
{
	(void)state;
	static const char *const good[] = {"\xc2\x80" /* U+0080, first 2-byte */,
					   "\xdf\xbf" /* U+07FF */,
					   "\xe0\xa0\x80" /* U+0800 */,
					   "\xed\x9f\xbf" /* U+D7FF */,
					   "\xee\x80\x80" /* U+E000 */,
					   "\xef\xbf\xbd" /* U+FFFD itself */,
					   "\xf0\x90\x80\x80" /* U+10000 */,
					   "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
					   "\x7f" /* DEL */,
					   "\xc2\x85" /* C1 NEL */,
					   "\xc2\x9f" /* C1 APC */,
					   "\xe2\x80\xae" /* RLO */,
					   "\xe2\x80\xa8" /* LSEP */,
					   " ~"};
	static const char *const bad[] = {
	    "\x01",
	    "\t",
	    "\r",
	    "\x1b",
	    "\x1f",
	    "\x80" /* lone continuation */,
	    "\xbf",
	    "\xc0\x80",
	    "\xc0\xaf",
	    "\xc1\xbf" /* overlong 2-byte */,
	    "\xe0\x80\x80",
	    "\xe0\x9f\xbf" /* overlong 3-byte */,
	    "\xf0\x80\x80\x80",
	    "\xf0\x8f\xbf\xbf" /* overlong 4-byte */,
	    "\xed\xa0\x80",
	    "\xed\xbf\xbf" /* surrogates */,
	    "\xed\xa0\xbd\xed\xb8\x80" /* a surrogate pair (CESU-8) */,
	    "\xf4\x90\x80\x80" /* U+110000 */,
	    "\xf5\x80\x80\x80",
	    "\xf7\xbf\xbf\xbf",
	    "\xf8\x88\x80\x80\x80",
	    "\xfc\x84\x80\x80\x80\x80",
	    "\xfe",
	    "\xff",
	    "\xc3\x28" /* bad continuation */,
	    "\xe2\x28\xa1",
	    "\xe2\x82\x28",
	    "\xf0\x28\x8c\xbc",
	    "\xf0\x90\x28\xbc",
	    "\xf0\x90\x8c\x28",
	    "\xc3\xa9\xa9" /* one continuation too many */,
	    "\xc3" /* cut short */,
	    "\xe2\x82",
	    "\xf0\x90\x8c"};
	const char *root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	pl_note_skey k;
	pl_note_vkey v;
	pl_note n;
	pl_checkpoint c;
	uint8_t buf[1024], msg[1024];
	char s[512];
	size_t len, sl;

	make_skey(&k, &v, "relay.example/log");
	/* a well-formed signature line by the known key, over other text: with
	 * a text that passed the syntax check the note would be INVALID */
	assert_int_equal(pl_note_sign(buf, sizeof buf, &len, (const uint8_t *)"x\n", 2, &k), 0);
	const uint8_t *sig = buf + 3;
	sl = len - 3;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int tl = snprintf(s, sizeof s, "a%sb\n", good[i]);
		assert_int_equal(
		    pl_note_sign(msg, sizeof msg, &len, (const uint8_t *)s, (size_t)tl, &k), 0);
		if (pl_note_open(&n, msg, len, &v, 1) != PL_NOTE_VERIFIED)
			fail_msg("good[%zu] not verified", i);
		assert_int_equal(n.textlen, (size_t)tl);
		snprintf(s, sizeof s, "log%s\n5\n%s\ne%s\n", good[i], root, good[i]);
		if (cp_parse(&c, s) != 0)
			fail_msg("checkpoint refused: good[%zu]", i);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int tl = snprintf(s, sizeof s, "a%sb\n", bad[i]);
		if (pl_note_sign(msg, sizeof msg, &len, (const uint8_t *)s, (size_t)tl, &k) == 0)
			fail_msg("signed: bad[%zu]", i);
		memcpy(msg, s, (size_t)tl);
		msg[tl] = '\n';
		memcpy(msg + tl + 1, sig, sl);
		if (pl_note_open(&n, msg, (size_t)tl + 1 + sl, &v, 1) != PL_NOTE_MALFORMED)
			fail_msg("note not malformed: bad[%zu]", i);
		snprintf(s, sizeof s, "log%s\n5\n%s\n", bad[i], root);
		if (cp_parse(&c, s) == 0)
			fail_msg("origin accepted: bad[%zu]", i);
		snprintf(s, sizeof s, "log\n5\n%s\ne%s\n", root, bad[i]);
		if (cp_parse(&c, s) == 0)
			fail_msg("extension accepted: bad[%zu]", i);
		/* names refuse all of it too, also at the very end of the input */
		snprintf(s, sizeof s, "a%s", bad[i]);
		if (pl_note_name_check(s, strlen(s)) == 0)
			fail_msg("name accepted: bad[%zu]", i);
	}
	/* a character cut short by the length given, not by a NUL */
	assert_int_equal(pl_note_name_check("\xc3\xa9", 2), 0);
	assert_int_equal(pl_note_name_check("\xc3\xa9", 1), -1);
	assert_int_equal(pl_note_name_check("a\xf0\x90\x80\x80", 4), -1);
	sodium_memzero(&k, sizeof k);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	if (pl_test_find_vecdir(argv[0], "signed-note/go-text.txt", "test_note") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vkeys),
	    cmocka_unit_test(test_skeys),
	    cmocka_unit_test(test_vkey_strictness),
	    cmocka_unit_test(test_name_rules),
	    cmocka_unit_test(test_go_sign_matches),
	    cmocka_unit_test(test_valid_notes),
	    cmocka_unit_test(test_negative_vectors),
	    cmocka_unit_test(test_known_key_semantics),
	    cmocka_unit_test(test_roundtrip_flips_truncations),
	    cmocka_unit_test(test_sixteen_signers),
	    cmocka_unit_test(test_checkpoint_golden),
	    cmocka_unit_test(test_checkpoint_strictness),
	    cmocka_unit_test(test_checkpoint_format),
	    cmocka_unit_test(test_checkpoint_open),
	    cmocka_unit_test(test_text_utf8_rules),
	};
	return cmocka_run_group_tests(tests, keys_setup, NULL);
}
