/*
 * fuzz_match_packages.c — libFuzzer target for the packages file and the
 * person identifier of blind matching (src/negotiation/match.c). Each
 * input is tried as:
 *   - a packages file (pl_match_packages_load): every package it loads
 *     encodes, identically from both sides' views (we and they swapped,
 *     keys swapped), and renders back from its element to the same lists;
 *   - a person identifier (pl_person_id_normalise, the input cut at its
 *     first NUL): what it accepts is ISS:DOC of A-Z and 0-9, at most 24,
 *     and normalising it again changes nothing.
 * Seeds: fuzz/corpus/fuzz_match_packages. Must never crash, leak or read
 * out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/match.h"

static const uint8_t lo[32] = {1}, hi[32] = {2};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void packages(const uint8_t *data, size_t size)
{
	pl_match_package *p;
	size_t n;
	if (pl_match_packages_load(&p, &n, (const char *)data, size, NULL) != 0)
		return;
	for (size_t i = 0; i < n && i < 64; i++) {
		pl_match_package o = {p[i].nthey, p[i].nwe, p[i].they, p[i].we};
		pl_wr a, b;
		pl_wr_init(&a);
		pl_wr_init(&b);
		if (pl_match_package_elem(&a, &p[i], lo, hi) != 0 ||
		    pl_match_package_elem(&b, &o, hi, lo) != 0 || a.n != b.n ||
		    memcmp(a.p, b.p, a.n) != 0)
			abort();
		json_t *x = pl_match_package_json(&p[i]);
		json_t *y = pl_match_package_elem_json(a.p, a.n, lo, hi);
		if (x == NULL || y == NULL ||
		    json_array_size(json_object_get(y, "we_release")) != p[i].nwe ||
		    json_array_size(json_object_get(y, "they_release")) != p[i].nthey)
			abort();
		json_decref(x);
		json_decref(y);
		pl_wr_free(&a);
		pl_wr_free(&b);
	}
	pl_match_packages_free(p, n);
}

static void person(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[PL_PERSON_ID_MAX + 1], again[PL_PERSON_ID_MAX + 1];
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (pl_person_id_normalise(out, s, NULL) == 0) {
		size_t n = strlen(out);
		if (n < 5 || n > PL_PERSON_ID_MAX || out[3] != ':')
			abort();
		for (size_t i = 0; i < n; i++)
			if (i != 3 && !((out[i] >= 'A' && out[i] <= 'Z') ||
					(i > 3 && out[i] >= '0' && out[i] <= '9')))
				abort();
		if (pl_person_id_normalise(again, out, NULL) != 0 || strcmp(again, out) != 0)
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	packages(data, size);
	person(data, size);
	return 0;
}
