/*
 * test_leaf.c — src/log/leaf (the relay log's leaves and naming helpers):
 *   - deposit and fetch leaves round trip byte for byte, at their exact
 *     documented offsets, and hash as RFC 9162 leaves (SHA-256(0x00 ‖ d));
 *   - the decoder refuses every truncation, a trailing byte, every other
 *     version and type, a deposit with seq 0, and the other type's length;
 *   - a fetch leaf built from a real owner-signed ack verifies offline;
 *     every flipped bit of a signed field fails, a foreign key or a relay
 *     time outside the 300 s window fails;
 *   - the origin, verifier key and checkpoint helpers agree with note.h.
 * Pure computation: no network, no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "util/codec.h"
#include "util/wire.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void make_deposit(pl_leaf *l)
{
	memset(l, 0, sizeof *l);
	l->type = PL_LEAF_DEPOSIT;
	randombytes_buf(l->mbx, 32);
	randombytes_buf(l->hash, 32);
	l->seq = 0x0102030405060708ull;
	l->relay_time = 1764300000;
}

/* An ack leaf from a real signed ack by `id` through `through`, naming
 * seqs through-1 and through (those >= 1) with random envelope hashes. */
static void make_fetch(pl_leaf *l, const pl_identity *id, uint64_t through, uint64_t auth_time,
		       uint64_t relay_time)
{
	uint8_t body[PL_AUTH_ACK_BODY_MAX];
	char path[128], hex[65];
	size_t bodylen;
	pl_auth a;

	memset(l, 0, sizeof *l);
	l->type = PL_LEAF_ACK;
	pl_mailbox_id(l->mbx, id->pk);
	memcpy(l->owner, id->pk, 32);
	l->ack.through = through;
	for (uint64_t s = through > 1 ? through - 1 : 1; s <= through; s++) {
		l->ack.name[l->ack.n].seq = s;
		randombytes_buf(l->ack.name[l->ack.n].hash, 32);
		l->ack.n++;
	}
	l->auth_time = auth_time;
	l->relay_time = relay_time;
	pl_hex_encode(hex, l->mbx, 32);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", hex);
	bodylen = pl_auth_ack_encode(body, &l->ack);
	assert_true(bodylen > 0);
	assert_int_equal(pl_auth_sign(&a, id, "POST", path, body, bodylen, auth_time), 0);
	assert_int_equal(pl_hex_decode(l->nonce, 16, a.nonce), 0);
	assert_int_equal(pl_hex_decode(l->sig, 64, a.sig), 0);
}

static void test_deposit_round_trip(void **state)
{
	(void)state;
	pl_leaf l, d;
	uint8_t b[PL_LEAF_MAX + 1], h[32], want[32], pre[1 + PL_LEAF_DEPOSIT_LEN];
	size_t n;

	make_deposit(&l);
	n = pl_leaf_encode(b, &l);
	assert_int_equal(n, PL_LEAF_DEPOSIT_LEN);
	assert_int_equal(n, 82);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[1], 1);
	assert_memory_equal(b + 2, l.mbx, 32);
	assert_memory_equal(b + 34, l.hash, 32);
	assert_true(pl_be64_get(b + 66) == l.seq);
	assert_true(pl_be64_get(b + 74) == l.relay_time);
	assert_int_equal(pl_leaf_decode(&d, b, n), 0);
	assert_memory_equal(&d, &l, sizeof l);
	/* RFC 9162 leaf hash */
	pre[0] = 0x00;
	memcpy(pre + 1, b, n);
	crypto_hash_sha256(want, pre, sizeof pre);
	pl_leaf_hash(h, b, n);
	assert_memory_equal(h, want, 32);
	assert_int_equal(pl_leaf_hash_of(h, &l), 0);
	assert_memory_equal(h, want, 32);
	/* seq 0 is never a deposit */
	l.seq = 0;
	assert_int_equal(pl_leaf_encode(b, &l), 0);
	assert_int_equal(pl_leaf_hash_of(h, &l), -1);
	pl_be64_put(b + 66, 0);
	assert_int_equal(pl_leaf_decode(&d, b, n), -1);
	/* a deposit never verifies as an ack */
	l.seq = 1;
	assert_int_equal(pl_leaf_ack_verify(&l), -1);
}

static void test_fetch_round_trip(void **state)
{
	(void)state;
	pl_identity id;
	pl_leaf l, d;
	uint8_t b[PL_LEAF_MAX];
	size_t n;

	assert_int_equal(pl_identity_generate(&id), 0);
	make_fetch(&l, &id, 7, 1764300000, 1764300002);
	n = pl_leaf_encode(b, &l);
	assert_int_equal(n, PL_LEAF_ACK_FIXED + PL_AUTH_ACK_BODY_MIN + 2 * PL_AUTH_ACK_NAME_LEN);
	assert_int_equal(n, 162 + 10 + 80);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[1], 3);
	assert_memory_equal(b + 2, l.mbx, 32);
	assert_memory_equal(b + 34, id.pk, 32);
	assert_true(pl_be64_get(b + 66) == 1764300000);
	assert_memory_equal(b + 74, l.nonce, 16);
	assert_memory_equal(b + 90, l.sig, 64);
	assert_true(pl_be64_get(b + 154) == 1764300002);
	/* the signed body, as the owner sent it */
	assert_int_equal(b[162], 2);
	assert_true(pl_be64_get(b + 163) == 7);
	assert_int_equal(b[171], 2);
	assert_true(pl_be64_get(b + 172) == 6);
	assert_memory_equal(b + 180, l.ack.name[0].hash, 32);
	assert_true(pl_be64_get(b + 212) == 7);
	assert_memory_equal(b + 220, l.ack.name[1].hash, 32);
	assert_int_equal(pl_leaf_decode(&d, b, n), 0);
	assert_memory_equal(&d, &l, sizeof l);
	assert_int_equal(pl_leaf_ack_verify(&d), 0);
	assert_int_equal(pl_auth_ack_names(&d.ack, 7, l.ack.name[1].hash), 1);
	assert_int_equal(pl_auth_ack_names(&d.ack, 6, l.ack.name[1].hash), 0);
	assert_int_equal(pl_auth_ack_names(&d.ack, 5, l.ack.name[0].hash), 0);
	/* a truncated or extended body, and the old fetch type 2, are refused */
	assert_int_equal(pl_leaf_decode(&d, b, n - 1), -1);
	b[n] = 0;
	assert_int_equal(pl_leaf_decode(&d, b, n + 1), -1);
	b[1] = 2;
	assert_int_equal(pl_leaf_decode(&d, b, n), -1);
	b[1] = 3;
	/* an ack naming nothing but running through a seq is valid */
	l.ack.n = 0;
	n = pl_leaf_encode(b, &l);
	assert_int_equal(n, PL_LEAF_ACK_MIN);
	assert_int_equal(pl_leaf_decode(&d, b, n), 0);
	/* through 0 (an ack of nothing) too, but never with a name */
	l.ack.through = 0;
	assert_int_equal(pl_leaf_encode(b, &l), PL_LEAF_ACK_MIN);
	l.ack.n = 1;
	l.ack.name[0].seq = 1;
	assert_int_equal(pl_leaf_encode(b, &l), 0);
	pl_identity_wipe(&id);
}

/* The ack body's rules: version 2, at most 32 names in
 * increasing seq order, each in 1..through, no trailing bytes. */
static void test_ack_body_rules(void **state)
{
	(void)state;
	pl_auth_ack a, d;
	uint8_t b[PL_AUTH_ACK_BODY_MAX + 1];
	size_t n;

	memset(&a, 0, sizeof a);
	a.through = 40;
	for (unsigned i = 0; i < PL_AUTH_ACK_NAMES_MAX; i++) {
		a.name[i].seq = i + 1;
		memset(a.name[i].hash, (int)i, 32);
	}
	a.n = PL_AUTH_ACK_NAMES_MAX;
	n = pl_auth_ack_encode(b, &a);
	assert_int_equal(n, PL_AUTH_ACK_BODY_MAX);
	assert_int_equal(pl_auth_ack_decode(&d, b, n), 0);
	assert_memory_equal(&d, &a, sizeof a);
	/* one name more than the limit, by count byte */
	b[9] = PL_AUTH_ACK_NAMES_MAX + 1;
	assert_int_equal(pl_auth_ack_decode(&d, b, n), -1);
	b[9] = PL_AUTH_ACK_NAMES_MAX;
	/* trailing byte */
	b[n] = 0;
	assert_int_equal(pl_auth_ack_decode(&d, b, n + 1), -1);
	/* version 1 (through seq alone) is refused, not reinterpreted */
	{
		uint8_t v1[9] = {1, 0, 0, 0, 0, 0, 0, 0, 40};
		assert_int_equal(pl_auth_ack_decode(&d, v1, sizeof v1), -1);
		b[0] = 1;
		assert_int_equal(pl_auth_ack_decode(&d, b, n), -1);
		b[0] = 2;
	}
	/* names out of order, repeated, 0 or past through */
	a.n = 2;
	a.name[1].seq = 1;
	assert_int_equal(pl_auth_ack_encode(b, &a), 0);
	a.name[1].seq = 41;
	assert_int_equal(pl_auth_ack_encode(b, &a), 0);
	a.name[0].seq = 0;
	a.name[1].seq = 2;
	assert_int_equal(pl_auth_ack_encode(b, &a), 0);
	/* the decoder applies the same rules to bytes it did not make */
	a.name[0].seq = 1;
	n = pl_auth_ack_encode(b, &a);
	assert_int_equal(n, PL_AUTH_ACK_BODY_MIN + 2 * PL_AUTH_ACK_NAME_LEN);
	pl_be64_put(b + 10 + 40, 1); /* second name's seq = first's */
	assert_int_equal(pl_auth_ack_decode(&d, b, n), -1);
	pl_be64_put(b + 10 + 40, 41); /* past through */
	assert_int_equal(pl_auth_ack_decode(&d, b, n), -1);
	pl_be64_put(b + 10 + 40, 2);
	pl_be64_put(b + 1, 1); /* through below a name */
	assert_int_equal(pl_auth_ack_decode(&d, b, n), -1);
	/* failure leaves the output zeroed */
	assert_int_equal(d.through, 0);
	assert_int_equal(d.n, 0);
}

static void test_strict_decode(void **state)
{
	(void)state;
	pl_identity id;
	pl_leaf l, d;
	uint8_t b[PL_LEAF_MAX + 1];
	size_t n;

	assert_int_equal(pl_identity_generate(&id), 0);
	static const int types[] = {PL_LEAF_DEPOSIT, PL_LEAF_ACK};
	for (int k = 0; k < 2; k++) {
		int type = types[k];
		if (type == PL_LEAF_DEPOSIT)
			make_deposit(&l);
		else
			make_fetch(&l, &id, 3, 1764300000, 1764300000);
		n = pl_leaf_encode(b, &l);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(pl_leaf_decode(&d, b, i), -1);
		b[n] = 0;
		assert_int_equal(pl_leaf_decode(&d, b, n + 1), -1);
		for (int v = 0; v < 256; v++) {
			b[0] = (uint8_t)v;
			assert_int_equal(pl_leaf_decode(&d, b, n), v == 1 ? 0 : -1);
		}
		b[0] = 1;
		for (int t = 0; t < 256; t++) {
			b[1] = (uint8_t)t;
			/* the other type's layout never has this length */
			assert_int_equal(pl_leaf_decode(&d, b, n), t == type ? 0 : -1);
		}
		b[1] = (uint8_t)type;
	}
	/* a failed decode leaves the output zeroed */
	memset(&d, 0x55, sizeof d);
	assert_int_equal(pl_leaf_decode(&d, b, 3), -1);
	{
		pl_leaf z;
		memset(&z, 0, sizeof z);
		assert_memory_equal(&d, &z, sizeof z);
	}
	assert_int_equal(pl_leaf_decode(&d, NULL, 0), -1);
	/* unknown types, the old fetch (2) among them: the encoder writes
	 * nothing */
	l.type = 2;
	assert_int_equal(pl_leaf_encode(b, &l), 0);
	l.type = 4;
	assert_int_equal(pl_leaf_encode(b, &l), 0);
	pl_identity_wipe(&id);
}

static void test_fetch_verify(void **state)
{
	(void)state;
	pl_identity id, other;
	pl_leaf l, t;
	uint8_t b[PL_LEAF_MAX];
	size_t n;
	const uint64_t at = 1764300000;

	assert_int_equal(pl_identity_generate(&id), 0);
	assert_int_equal(pl_identity_generate(&other), 0);
	make_fetch(&l, &id, 41, at, at + 10);
	assert_int_equal(pl_leaf_ack_verify(&l), 0);
	n = pl_leaf_encode(b, &l);
	/* every bit of every signed field (all but version, type, relay
	 * time): the leaf is refused or its signature fails */
	for (size_t i = 2; i < n; i++) {
		if (i >= 154 && i < 162)
			continue;
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1 << bit);
			if (pl_leaf_decode(&t, b, n) == 0 && pl_leaf_ack_verify(&t) == 0)
				fail_msg("flipped bit %d of byte %zu still verifies", bit, i);
			b[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* the relay time: inside the window verifies, outside does not */
	t = l;
	t.relay_time = at + 300;
	assert_int_equal(pl_leaf_ack_verify(&t), 0);
	t.relay_time = at - 300;
	assert_int_equal(pl_leaf_ack_verify(&t), 0);
	t.relay_time = at + 301;
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	t.relay_time = at - 301;
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	t.relay_time = at + 86400; /* an old ack logged again a day later */
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	/* another key's ack of this mailbox, or for its own mailbox here */
	make_fetch(&t, &other, 41, at, at);
	assert_int_equal(pl_leaf_ack_verify(&t), 0);
	memcpy(t.mbx, l.mbx, 32);
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	t = l;
	memcpy(t.owner, other.pk, 32);
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	/* an invalid key as owner */
	t = l;
	memset(t.owner, 0, 32);
	assert_int_equal(pl_leaf_ack_verify(&t), -1);
	/* a signature over a different request (a listing, not an ack) */
	{
		char path[160], hex[65];
		pl_auth a;
		pl_hex_encode(hex, l.mbx, 32);
		snprintf(path, sizeof path, "/v1/mailbox/%s?after=41", hex);
		assert_int_equal(pl_auth_sign(&a, &id, "GET", path, NULL, 0, at), 0);
		t = l;
		assert_int_equal(pl_hex_decode(t.nonce, 16, a.nonce), 0);
		assert_int_equal(pl_hex_decode(t.sig, 64, a.sig), 0);
		assert_int_equal(pl_leaf_ack_verify(&t), -1);
	}
	pl_identity_wipe(&id);
	pl_identity_wipe(&other);
}

static void test_naming(void **state)
{
	(void)state;
	pl_identity relay, other;
	char origin[PL_LEAF_ORIGIN_LEN + 1], vk[PL_NOTE_VKEY_MAX], want[64];
	pl_note_vkey v, parsed;
	pl_checkpoint c;
	uint8_t note[PL_LEAF_NOTE_MAX], root[32];
	size_t n;

	assert_int_equal(pl_identity_generate(&relay), 0);
	assert_int_equal(pl_identity_generate(&other), 0);
	pl_leaf_origin(origin, relay.pk);
	assert_int_equal(strlen(origin), 29);
	memcpy(want, "parley.relay/", 13);
	pl_hex_encode(want + 13, relay.pk, 8);
	assert_string_equal(origin, want);
	assert_int_equal(pl_leaf_log_vkey(&v, relay.pk), 0);
	assert_string_equal(v.name, origin);
	assert_memory_equal(v.pk, relay.pk, 32);
	assert_int_equal(pl_leaf_log_vkey_string(vk, relay.pk), 0);
	assert_int_equal(pl_note_vkey_parse(&parsed, vk, strlen(vk)), 0);
	assert_string_equal(parsed.name, v.name);
	assert_int_equal(parsed.keyid, v.keyid);
	assert_memory_equal(parsed.pk, v.pk, 32);
	assert_int_equal(strncmp(vk, origin, 29), 0);
	assert_int_equal(vk[29], '+');

	/* checkpoints: sign, open, the longest size fits PL_LEAF_NOTE_MAX */
	randombytes_buf(root, 32);
	assert_int_equal(pl_leaf_checkpoint_sign(note, sizeof note, &n, 12345, root, relay.sk), 0);
	assert_int_equal(pl_leaf_checkpoint_open(&c, note, n, relay.pk), 0);
	assert_true(c.size == 12345);
	assert_memory_equal(c.root, root, 32);
	assert_string_equal(c.origin, origin);
	assert_int_equal(pl_checkpoint_open(&c, note, n, &v), PL_NOTE_VERIFIED);
	assert_int_equal(pl_leaf_checkpoint_open(&c, note, n, other.pk), -1);
	assert_int_equal(pl_leaf_checkpoint_sign(note, sizeof note, &n, UINT64_MAX, root, relay.sk),
			 0);
	assert_int_equal(n, 224);
	assert_int_equal(pl_leaf_checkpoint_open(&c, note, n, relay.pk), 0);
	assert_int_equal(pl_leaf_checkpoint_sign(note, 223, &n, UINT64_MAX, root, relay.sk), -1);
	/* a note whose text is a checkpoint of another origin */
	{
		pl_note_skey k;
		pl_checkpoint o;
		uint8_t text[200];
		size_t tl;
		memset(&o, 0, sizeof o);
		snprintf(o.origin, sizeof o.origin, "example.com/log");
		o.size = 1;
		memcpy(o.root, root, 32);
		assert_int_equal(pl_checkpoint_format(text, sizeof text, &tl, &o), 0);
		memset(&k, 0, sizeof k);
		memcpy(k.name, origin, sizeof origin);
		memcpy(k.sk, relay.sk, 64);
		assert_int_equal(pl_note_keyid(&k.keyid, k.name, relay.pk), 0);
		assert_int_equal(pl_note_sign(note, sizeof note, &n, text, tl, &k), 0);
		assert_int_equal(pl_leaf_checkpoint_open(&c, note, n, relay.pk), -1);
		sodium_memzero(&k, sizeof k);
	}
	pl_identity_wipe(&relay);
	pl_identity_wipe(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deposit_round_trip), cmocka_unit_test(test_fetch_round_trip),
	    cmocka_unit_test(test_ack_body_rules),     cmocka_unit_test(test_strict_decode),
	    cmocka_unit_test(test_fetch_verify),       cmocka_unit_test(test_naming),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
