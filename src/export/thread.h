/*
 * thread.h — the thread file `parley export thread` writes and `parley
 * verify` checks with nothing but the file (docs/NEGOTIATION.md "Files"):
 * every signed object and note exchanged with one peer, hash-chained and
 * signed by the exporter.
 *
 * The verifier is strict: exactly the known keys, canonical base64 and hex,
 * RFC 3339 times (export/json.h), no duplicate keys, and the file must be
 * byte for byte what parley writes for that content. It must never report a
 * file valid unless every signature in it verified, and never need a vault.
 */
#ifndef PARLEY_EXPORT_THREAD_H
#define PARLEY_EXPORT_THREAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/json.h"
#include "identity/identity.h"
#include "negotiation/object.h"
#include "util/err.h"

#define PL_THREAD_FORMAT "parley-thread"
#define PL_THREAD_ENTRIES_MAX 100000
#define PL_THREAD_NOTE_MAX 60000 /* bytes of note text (PL_PAYLOAD_MAX_BODY) */
#define PL_THREAD_SIG_TAG "parley thread v1\n"
#define PL_THREAD_SIG_TAG_V2 "parley thread v2\n" /* with the parties' names */
#define PL_THREAD_VERSION_NAMED 2

/* Direction of an entry, from the exporter's side. An outgoing signed object
 * must be authored by the exporter and addressed to the peer; an incoming
 * one the other way round. */
/* (Named PL_EXPORT_* so as not to clash with vault.h's PL_DIR_OUT/IN.) */
enum { PL_EXPORT_OUT = 1, PL_EXPORT_IN = 2 };

typedef struct pl_thread_export pl_thread_export;

/* Starts a thread export; the builder keeps a copy of the exporter's
 * identity (wiped by pl_thread_export_free). */
int pl_thread_export_begin(pl_thread_export **x, const pl_identity *exporter,
			   const uint8_t peer[static PL_IK_LEN], pl_err *e);
/* Appends an entry. The signed object is verified (signature, direction) and
 * time must be at most PL_EXPORT_TIME_MAX; on failure nothing changes. */
int pl_thread_export_add_signed(pl_thread_export *x, int dir, uint64_t time,
				const uint8_t *signed_obj, size_t n, pl_err *e);
/* Proximity talks: the same for an entry that went through a mediator,
 * with its custody record (negotiation/custody.h, custody ‖ sig), which
 * must verify and name this entry; the entry gets "custody": b64 and the
 * chain covers the record (docs/NEGOTIATION.md "Files"). */
int pl_thread_export_add_signed_via(pl_thread_export *x, int dir, uint64_t time,
				    const uint8_t *signed_obj, size_t n, const uint8_t *rec,
				    size_t rn, pl_err *e);
int pl_thread_export_add_note_via(pl_thread_export *x, int dir, uint64_t time, const char *text,
				  const uint8_t *rec, size_t rn, pl_err *e);
/* text: UTF-8 without control characters except newlines, ≤ PL_THREAD_NOTE_MAX. */
int pl_thread_export_add_note(pl_thread_export *x, int dir, uint64_t time, const char *text,
			      pl_err *e);
/* Names the two parties (pl_export_name_ok): the file becomes version 2,
 * with "exporter_name" and "peer_name", and the exporter's signature
 * covers them (docs/NEGOTIATION.md "Files"). They are the exporter's
 * labels, proved by nobody else. */
int pl_thread_export_set_names(pl_thread_export *x, const char *my_name, const char *peer_name,
			       pl_err *e);
/* Signs the chain head and builds the file's JSON. The builder stays valid
 * (free it either way). */
int pl_thread_export_finish(pl_thread_export *x, json_t **out, pl_err *e);
void pl_thread_export_free(pl_thread_export *x);

typedef struct {
	uint8_t exporter_ik[PL_IK_LEN];
	uint8_t peer_ik[PL_IK_LEN];
	char exporter_fp[PL_FINGERPRINT_LEN];
	char peer_fp[PL_FINGERPRINT_LEN];
	size_t n_entries, n_signed, n_notes;
	size_t n_custody;		/* entries with a mediator's custody record */
	uint64_t first_time, last_time; /* 0 when there are no entries */
	uint8_t head[PL_OBJ_HASH_LEN];
	int named; /* version 2: the exporter's signed labels for both */
	char exporter_name[PL_EXPORT_NAME_MAX + 1], peer_name[PL_EXPORT_NAME_MAX + 1];
	int expect_matched; /* bit 1: the exporter was expected, bit 2: the peer */
	json_t *entries;    /* the verified entries; pl_thread_summary_free */
} pl_thread_summary;

/* Verifies thread file bytes: every entry strict, every signed object
 * verified and consistent with its direction, the chain recomputed, the head
 * and the exporter's signature checked. A key in expect must have signed
 * something in the file (the head or an object). Errors: PL_EXIT_INPUT for a
 * file that is not a well-formed thread, PL_EXIT_SECURITY for a signature,
 * chain, direction or expected-key failure. */
int pl_thread_verify(pl_thread_summary *s, const uint8_t *file, size_t n,
		     const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);

/* The plain summary: the parties, what the check proves, and the whole
 * conversation (who said what, when, every term of every signed object);
 * and the same as a new JSON object (NULL when out of memory). */
void pl_thread_summary_print(FILE *out, const pl_thread_summary *s);
void pl_thread_summary_free(pl_thread_summary *s);
json_t *pl_thread_summary_json(const pl_thread_summary *s);

#endif
