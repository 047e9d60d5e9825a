/*
 * fuzz_note.c — libFuzzer target for pl_note_open (C2SP signed notes from
 * the untrusted relay) and the verifier-key parser.
 *
 * The first byte picks a mode, so that the checks behind a valid
 * signature are reached as well as the parser:
 *   0: the rest is a note, opened with three known keys (two of them the
 *      Go test keys, so corpus vectors verify); if it verifies, its text
 *      must lie inside the input, end in "\n", and at least one and at most
 *      nsigs known keys must have signed;
 *   1: the rest is note text; if pl_note_sign accepts it, the signed note
 *      must open as VERIFIED with exactly that text;
 *   2: like 1, then one byte (position and mask from the input's first
 *      bytes) is changed: the result must not verify;
 *   3: the rest is a vkey string; if it parses, formatting it must give
 *      back exactly the input.
 * Must never crash, leak, read out of bounds or accept a changed note.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/note.h"

static pl_note_vkey known[3];
static pl_note_skey signer;

static void init(void)
{
	static const char *const vk[2] = {
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"};
	uint8_t seed[32], pk[32];
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 2; i++)
		if (pl_note_vkey_parse(&known[i], vk[i], strlen(vk[i])) != 0)
			abort();
	memset(seed, 7, sizeof seed);
	strcpy(signer.name, "fuzz.example/log");
	crypto_sign_seed_keypair(pk, signer.sk, seed);
	if (pl_note_keyid(&signer.keyid, signer.name, pk) != 0)
		abort();
	pl_note_skey_public(&known[2], &signer);
}

static void check_verified(const pl_note *n, const uint8_t *msg, size_t len)
{
	if (n->text != msg || n->textlen == 0 || n->textlen >= len ||
	    n->text[n->textlen - 1] != '\n' || n->nverified == 0 || n->nverified > n->nsigs ||
	    n->nsigs > PL_NOTE_MAX_SIGS)
		abort();
	for (size_t i = 0; i < n->nverified; i++)
		if (n->verified[i] >= 3)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	pl_note n;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	uint8_t mode = data[0] & 3;
	data++;
	size--;

	if (mode == 0) {
		if (pl_note_open(&n, data, size, known, 3) == PL_NOTE_VERIFIED)
			check_verified(&n, data, size);
		return 0;
	}
	if (mode == 3) {
		pl_note_vkey v;
		char out[PL_NOTE_VKEY_MAX];
		if (pl_note_vkey_parse(&v, (const char *)data, size) != 0)
			return 0;
		if (pl_note_vkey_format(out, sizeof out, v.name, v.pk) != 0 ||
		    strlen(out) != size || memcmp(out, data, size) != 0)
			abort();
		return 0;
	}

	size_t pos = 0;
	uint8_t mask = 0;
	if (mode == 2) {
		if (size < 3)
			return 0;
		pos = (size_t)data[0] << 8 | data[1];
		mask = data[2];
		data += 3;
		size -= 3;
	}
	size_t cap = pl_note_signed_len(size, strlen(signer.name));
	uint8_t *buf = malloc(cap ? cap : 1);
	size_t len;
	if (buf == NULL)
		abort();
	if (pl_note_sign(buf, cap, &len, data, size, &signer) == 0) {
		if (len != cap)
			abort();
		if (mode == 1) {
			if (pl_note_open(&n, buf, len, known, 3) != PL_NOTE_VERIFIED ||
			    n.textlen != size || memcmp(n.text, data, size) != 0)
				abort();
			check_verified(&n, buf, len);
		} else if (mask != 0) {
			buf[pos % len] ^= mask;
			if (pl_note_open(&n, buf, len, known, 3) == PL_NOTE_VERIFIED)
				abort();
		}
	}
	free(buf);
	return 0;
}
