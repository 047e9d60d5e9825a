/*
 * fuzz_checkpoint.c — libFuzzer target for the C2SP tlog-checkpoint body
 * (pl_checkpoint_parse / _format) and pl_checkpoint_open.
 *
 * First byte picks a mode:
 *   0: the rest is checkpoint text; if it parses, formatting the result
 *      must give back exactly the input (one encoding per checkpoint), and
 *      the fields must be in range;
 *   1: the rest is note text, signed with a fixed log key named
 *      "fuzz.example/log"; pl_checkpoint_open must say VERIFIED exactly
 *      when the text parses as a checkpoint with that origin, and then
 *      agree with pl_checkpoint_parse.
 * Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/note.h"

static pl_note_skey key;
static pl_note_vkey vkey;

static void init(void)
{
	uint8_t seed[32], pk[32];
	if (sodium_init() < 0)
		abort();
	memset(seed, 9, sizeof seed);
	strcpy(key.name, "fuzz.example/log");
	crypto_sign_seed_keypair(pk, key.sk, seed);
	if (pl_note_keyid(&key.keyid, key.name, pk) != 0)
		abort();
	pl_note_skey_public(&vkey, &key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	pl_checkpoint c, d;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	uint8_t mode = data[0] & 1;
	data++;
	size--;

	int parsed = pl_checkpoint_parse(&c, data, size) == 0;
	if (mode == 0) {
		if (!parsed)
			return 0;
		size_t olen = strlen(c.origin);
		if (olen == 0 || olen > PL_CHECKPOINT_ORIGIN_MAX ||
		    (c.extlen > 0 && (c.ext < data || c.ext + c.extlen != data + size)))
			abort();
		uint8_t *out = malloc(size);
		size_t len;
		if (out == NULL || pl_checkpoint_format(out, size, &len, &c) != 0 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();
		free(out);
		return 0;
	}

	size_t cap = pl_note_signed_len(size, strlen(key.name));
	uint8_t *note = malloc(cap ? cap : 1);
	size_t len;
	if (note == NULL)
		abort();
	if (pl_note_sign(note, cap, &len, data, size, &key) == 0) {
		pl_note_status st = pl_checkpoint_open(&d, note, len, &vkey);
		int want = parsed && strcmp(c.origin, key.name) == 0;
		if ((st == PL_NOTE_VERIFIED) != want)
			abort();
		if (!want && st != PL_NOTE_MALFORMED)
			abort();
		if (want &&
		    (d.size != c.size || memcmp(d.root, c.root, 32) != 0 || d.extlen != c.extlen))
			abort();
	}
	free(note);
	return 0;
}
